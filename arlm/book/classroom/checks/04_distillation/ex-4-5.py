import math
import re

from otter.test_files import test_case

from arlm.book.classroom.checks import need

name = "ex-4-5"
expects = ("answer: {label naming alpha ('alpha = 1.0'): evaluate_masked_lm(...) on the held-out batches} for "
           "alpha = 1, 0.5 and 0, each after the same short stage 3 from the stage-2 student")
refuses = 'answer = {k: answer["alpha = 0.5"] for k in answer}'  # alpha never reached the loss


def _alphas(answer):
    need(answer=answer)
    found = {float(re.search(r"\d+(?:\.\d+)?", str(k))[0]): v for k, v in dict(answer).items()}
    assert set(found) == {1.0, 0.5, 0.0} and len(answer) == 3, "answer should hold alpha = 1, 0.5 and 0"
    return found


@test_case()
def test_three_mixes(answer):
    found = _alphas(answer)
    losses = [scores["mlm_loss"] for scores in found.values()]
    assert all(math.isfinite(x) for x in losses), "a held-out loss is not finite"
    assert all(0 <= scores["mlm_accuracy"] <= 1 for scores in found.values()), "an accuracy is not a fraction"
    assert len({round(x, 6) for x in losses}) == 3, "two mixes give the same loss: did alpha change?"

