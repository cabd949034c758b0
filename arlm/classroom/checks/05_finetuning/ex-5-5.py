from otter.test_files import test_case

from arlm.classroom.checks import need

name = "ex-5-5"
expects = ("probe_backbone: the frozen backbone; probe: the scores of the classifier trained on top of it "
           "(finetune_classification); full_ft: the fine-tuned model's scores on the same task")


@test_case()
def test_the_backbone_is_frozen(probe_backbone):
    need(probe_backbone=probe_backbone)
    assert probe_backbone.trainable is False, "a linear probe freezes the backbone"


@test_case()
def test_scores(probe, full_ft):
    need(probe=probe, full_ft=full_ft)
    assert 0 <= probe["accuracy"] <= 1 and 0 <= full_ft["accuracy"] <= 1, "accuracies are fractions"
