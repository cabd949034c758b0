import math

from otter.test_files import test_case

from arlm.classroom.checks import need

name = "ex-2-5"
expects = ("compared: {variant: summarize_history(records)} for the chapter's recipe, AdamW and NoNorm; "
           "short: the steps each ran (at most 300)")


@test_case()
def test_three_short_runs(compared, short, cfg):
    need(compared=compared, short=short)
    assert short == min(cfg.teacher_steps, 300), "short: this run's teacher steps, at most 300"
    assert len(compared) == 3, "compared should hold three variants"
    assert all(r["steps"] == short for r in compared.values()), "each variant should run `short` steps"


@test_case()
def test_the_variants_differ(compared):
    need(compared=compared)
    losses = [r["loss_last"] for r in compared.values()]
    assert all(math.isfinite(x) for x in losses), "a final loss is not finite"
    assert len({round(x, 6) for x in losses}) == 3, "two variants end at the same loss: did they change anything?"
