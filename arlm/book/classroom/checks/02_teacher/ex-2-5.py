import math

from otter.test_files import test_case

from arlm.book.classroom.checks import need

name = "ex-2-5"
expects = ("short: the steps each variant ran (this run's teacher steps, at most 300); answer: one row per "
           "variant (the chapter's recipe, AdamW, NoNorm) with 'steps', 'loss_last' and 'mlm_accuracy_last' "
           "of summarize_history")
refuses = 'answer = answer.assign(loss_last=answer["loss_last"].iloc[0])'  # the change never reached a run


def _rows(answer):
    need(answer=answer)
    rows = answer.T.to_dict() if hasattr(answer, "T") else dict(answer)
    assert len(rows) == 3, "answer should hold three variants"
    return list(rows.values())


@test_case()
def test_three_short_runs(answer, short, cfg):
    need(short=short)
    assert short == min(cfg.teacher_steps, 300), "short: this run's teacher steps, at most 300"
    assert all(r["steps"] == short for r in _rows(answer)), "each variant should run `short` steps"


@test_case()
def test_the_variants_differ(answer):
    rows = _rows(answer)
    losses = [r["loss_last"] for r in rows]
    assert all(math.isfinite(x) for x in losses), "a final loss is not finite"
    assert len({round(x, 6) for x in losses}) == 3, "two variants end at the same loss: did they change anything?"
    assert all(0 <= r["mlm_accuracy_last"] <= 1 for r in rows), "a masked-LM accuracy is not a fraction"
