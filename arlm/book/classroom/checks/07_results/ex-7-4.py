from otter.test_files import test_case

from arlm.book.classroom.checks import need

name = "ex-7-4"
expects = ("half, full_mberta: the classifier parameters of a full-size MBERTA with 12 and with all 24 blocks; "
           "answer: {'all blocks' | 'even blocks' | 'odd blocks': {'blocks', 'parameters', ...}} when chapter 4 "
           "has run")
refuses = "half = full_mberta // 2"  # half of the parameters: the embeddings and heads are not in the blocks


@test_case()
def test_half_of_the_blocks(half, full_mberta):
    from arlm.mobilebert.config import named_config
    from arlm.params import count_parameters

    need(half=half, full_mberta=full_mberta)
    assert half == count_parameters(named_config("mberta", num_layers=12), "classifier"), "half: 12 blocks"
    assert full_mberta / 2 < half < full_mberta, "the embeddings stay: half the blocks is more than half the model"


@test_case()
def test_the_dropped_students(env):
    import math

    import arlm
    from arlm.distillation import stages

    answer = env.get("answer")
    if env.get("student_path") is None:  # chapter 4 has not run in this run: nothing to drop blocks from
        return
    need(answer=answer)
    rows = sorted(dict(answer).values(), key=lambda r: r["blocks"])
    distilled = arlm.saving.load_model(env["student_path"], compile=False)
    n = stages.num_layers(distilled)
    assert [r["blocks"] for r in rows] == [n // 2, (n + 1) // 2, n], "all blocks, the even ones and the odd ones"
    assert rows[-1]["parameters"] == distilled.backbone.count_params(), "all blocks: the distilled student's count"
    assert max(r["parameters"] for r in rows[:-1]) < rows[-1]["parameters"], (
        "keeping half of the blocks should leave fewer parameters than all of them")
    assert all(math.isfinite(r["mlm_loss"]) and 0 <= r["mlm_accuracy"] <= 1 for r in rows), (
        "each student's held-out masked-LM loss and accuracy")
