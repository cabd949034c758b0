from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-5-5"
expects = ("probe_backbone: the frozen backbone of one of the chapter's `models`; probe: the scores "
           "finetune_classification gives for the classifier trained on top of it, on `first_clf`; answer: "
           "{'fine-tuned', 'linear probe', 'majority class'}: the three test accuracies on that task")
refuses = 'answer = {**answer, "fine-tuned": full_ft["macro_f1"]}'  # another score than the accuracy


_PROBED = {}  # id(probe_backbone) -> what _probed found: two checks read it, it runs once


def _probed(probe_backbone, models, cfg, tokenizer):
    """The model of `models` whose pretrained backbone `probe_backbone` still is (None for a random one)."""
    if id(probe_backbone) not in _PROBED:
        _PROBED[id(probe_backbone)] = _compare(probe_backbone, models, cfg, tokenizer)
    return _PROBED[id(probe_backbone)]


def _compare(probe_backbone, models, cfg, tokenizer):
    import numpy as np

    from arlm.tasks import finetune

    for model in models:
        if model.name == "random":  # no pretrained model in the run: nothing to compare the weights with
            continue
        fresh, _ = finetune.load_backbone(model.source, cfg, tokenizer.vocab_size)
        pairs = zip(fresh.weights, probe_backbone.weights, strict=False)
        if len(fresh.weights) == len(probe_backbone.weights) and all(
                np.array_equal(a.numpy(), b.numpy()) for a, b in pairs):
            return model
    return None


@test_case()
def test_the_backbone_is_frozen(probe_backbone, models, cfg, tokenizer):
    need(probe_backbone=probe_backbone)
    assert probe_backbone.trainable is False, "a linear probe freezes the backbone"
    if any(model.name != "random" for model in models):
        assert _probed(probe_backbone, models, cfg, tokenizer) is not None, (
            "probe_backbone's weights are not a pretrained backbone's: did training change them?")


@test_case()
def test_the_probe_is_scored_on_the_task(probe, tasks, first_clf, cfg):
    from arlm.tasks import finetune

    need(probe=probe)
    task = tasks[first_clf]
    n_test = len(finetune.limit(task.test, cfg.finetune_max_eval_examples, cfg.seed))
    assert probe.get("train_examples") == len(finetune.limit(task.train, cfg.finetune_max_train_examples, cfg.seed)), (
        f"probe was not trained on {first_clf}'s training examples")
    assert close(probe["accuracy"] * n_test, round(probe["accuracy"] * n_test), abs_tol=1e-6), (
        f"probe's accuracy is not a share of {first_clf}'s {n_test} test examples")


@test_case()
def test_the_three_accuracies(answer, probe, probe_backbone, models, scores, base, first_clf, cfg, tokenizer):
    need(answer=answer, probe=probe)
    assert close(answer.get("linear probe"), probe["accuracy"], abs_tol=1e-9), "linear probe: probe's accuracy"
    assert close(answer.get("majority class"), base["majority_accuracy"], abs_tol=1e-9), (
        f"majority class: the baseline of 5.2 on {first_clf}")
    model = _probed(probe_backbone, models, cfg, tokenizer) or models[0]
    assert close(answer.get("fine-tuned"), scores[(model.name, first_clf)]["accuracy"], abs_tol=1e-9), (
        f"fine-tuned: this run's accuracy of {model.name} fine-tuned on {first_clf} (5.3)")
