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
    reference = arlm.optimizers.WarmupLinearDecay(full.teacher_learning_rate, full.teacher_steps, full.warmup_steps)
    steps = (full.warmup_steps // 2, full.warmup_steps, full.teacher_steps // 2, full.teacher_steps)
    assert all(close(float(paper_rate(t)), float(reference(t)), rel=1e-4) for t in steps), (
        "paper_rate is not the full scale's schedule (its steps, warmup and peak rate)")


@test_case()
def test_this_runs_rates(at, schedule):
    need(at=at)
    steps = {schedule.warmup_steps // 2, schedule.warmup_steps, schedule.total_steps}
    assert steps <= set(at), "at should hold half the warmup, the warmup's end and the last step"
    assert all(close(at[t], float(schedule(t)), rel=1e-4) for t in steps), "at's rates are not this schedule's"
