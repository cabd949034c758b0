import math

from otter.test_files import test_case

from arlm.classroom.checks import need

name = "ex-4-5"
expects = ("alphas: {label naming alpha: evaluate_masked_lm(...)} for alpha = 1, 0.5 and 0; best: the label "
           "with the lowest held-out masked-LM loss")


@test_case()
def test_three_mixes(alphas):
    need(alphas=alphas)
    assert len(alphas) == 3, "alphas should hold alpha = 1, 0.5 and 0"
    losses = [scores["mlm_loss"] for scores in alphas.values()]
    assert all(math.isfinite(x) for x in losses), "a held-out loss is not finite"
    assert len({round(x, 6) for x in losses}) > 1, "all three mixes give the same loss: did alpha change?"


@test_case()
def test_best(best, alphas):
    need(best=best, alphas=alphas)
    assert best == min(alphas, key=lambda k: alphas[k]["mlm_loss"]), "best is not the lowest loss"
