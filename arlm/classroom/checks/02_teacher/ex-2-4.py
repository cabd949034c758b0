from otter.test_files import test_case

from arlm.classroom.checks import close, need

name = "ex-2-4"
expects = ("paper_rate: WarmupLinearDecay with the full scale's teacher_learning_rate, teacher_steps and "
           "warmup_steps; at: {step: rate} of this run's `schedule` at half the warmup, the warmup's end and "
           "the last step")


@test_case()
def test_the_papers_schedule(paper_rate):
    import arlm

    need(paper_rate=paper_rate)
    full = arlm.scales.resolve("full")
    assert close(float(paper_rate(full.warmup_steps)), full.teacher_learning_rate), "peak at the warmup's end"
    assert close(float(paper_rate(full.warmup_steps // 2)), full.teacher_learning_rate / 2, rel=1e-2), (
        "half the peak half-way through the warmup")
    assert float(paper_rate(full.teacher_steps)) < 1e-3 * full.teacher_learning_rate, "near 0 at the end"


@test_case()
def test_this_runs_rates(at, schedule):
    need(at=at)
    steps = {schedule.warmup_steps // 2, schedule.warmup_steps, schedule.total_steps}
    assert steps <= set(at), "at should hold half the warmup, the warmup's end and the last step"
    assert all(close(at[t], float(schedule(t)), rel=1e-4) for t in steps), "at's rates are not this schedule's"
