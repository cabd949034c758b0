import re

from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-3-2"
expects = ("answer: {step: {block: multiplier}} at phase 1's middle and last step for blocks 0 and 1 (keys may "
           "be numbers or 'step T' / 'block B'; a DataFrame of that shape is fine)")
refuses = "answer = {t: {b: 1.0 for b in rates} for t, rates in answer.items()}"  # every block at eta_0


def _entries(answer):
    need(answer=answer)
    answer = answer.to_dict() if hasattr(answer, "to_dict") else dict(answer)
    return [(int(re.search(r"\d+", str(step))[0]), int(re.search(r"\d+", str(block))[0]), value)
            for step, blocks in answer.items() for block, value in dict(blocks).items()]


@test_case()
def test_the_two_steps_and_blocks(answer, S, L):
    entries = _entries(answer)
    assert {step for step, _, _ in entries} == {S + max(1, S // 2), 2 * S}, (
        "answer should be at phase 1's middle step and its last step")
    assert {block for _, block, _ in entries} == set(range(min(L, 2))), "answer should hold blocks 0 and 1"


@test_case()
def test_the_multipliers(answer, S):
    from arlm.distillation import schedules

    for step, block, value in _entries(answer):
        assert close(value, float(schedules.layer_multiplier(step, block, S)), abs_tol=1e-6), (
            f"block {block} at step {step}")
