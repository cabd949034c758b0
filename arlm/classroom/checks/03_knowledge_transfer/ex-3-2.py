import re

from otter.test_files import test_case

from arlm.classroom.checks import close, need

name = "ex-3-2"
expects = ("rates: {'step T': {'block B': multiplier}} at phase 1's middle and last step for blocks 0 and 1 "
           "(a DataFrame of that shape is fine)")


def _entries(rates):
    need(rates=rates)
    rates = rates.to_dict() if hasattr(rates, "to_dict") else dict(rates)
    return [(int(re.search(r"\d+", str(step))[0]), int(re.search(r"\d+", str(block))[0]), value)
            for step, blocks in rates.items() for block, value in dict(blocks).items()]


@test_case()
def test_the_two_steps(rates, S):
    steps = {step for step, _, _ in _entries(rates)}
    assert steps == {S + max(1, S // 2), 2 * S}, "rates should be at phase 1's middle step and its last step"


@test_case()
def test_the_multipliers(rates, S):
    from arlm.distillation import schedules

    for step, block, value in _entries(rates):
        assert close(value, float(schedules.layer_multiplier(step, block, S)), abs_tol=1e-6), (
            f"block {block} at step {step}")
