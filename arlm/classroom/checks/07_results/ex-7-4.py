from otter.test_files import test_case

from arlm.classroom.checks import need

name = "ex-7-4"
expects = ("half, full_mberta: the classifier parameters of a full-size MBERTA with 12 and with all 24 blocks; "
           "dropped: {'all blocks' | 'even blocks' | 'odd blocks': {'blocks', 'parameters', ...}} when "
           "chapter 4 has run")


@test_case()
def test_half_of_the_blocks(half, full_mberta):
    from arlm.mobilebert.config import named_config
    from arlm.params import count_parameters

    need(half=half, full_mberta=full_mberta)
    assert half == count_parameters(named_config("mberta", num_layers=12), "classifier"), "half: 12 blocks"
    assert full_mberta / 2 < half < full_mberta, "the embeddings stay: half the blocks is more than half the model"


@test_case()
def test_the_dropped_students(env):
    dropped = env.get("dropped")
    if env.get("student_path") is None:  # chapter 4 has not run in this run: nothing to drop blocks from
        return
    need(dropped=dropped)
    rows = sorted(dict(dropped).values(), key=lambda r: r["blocks"])
    assert len(rows) == 3 and rows[-1]["parameters"] > max(r["parameters"] for r in rows[:-1]), (
        "keeping half of the blocks should leave fewer parameters than all of them")
