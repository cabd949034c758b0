from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-2-4"
expects = ("paper_rate: WarmupLinearDecay with the full scale's teacher_learning_rate, teacher_steps and "
           "warmup_steps; answer: {'full': {step: rate}, scale: {step: rate}} at half the warmup, the warmup's "
           "end and the last step of paper_rate and of this run's `schedule`")
refuses = 'answer = {name: answer["full"] for name in answer}'  # the paper's schedule taken for this run's


def _rates_of(rates, sched):
    steps = {sched.warmup_steps // 2, sched.warmup_steps, sched.total_steps}
    assert steps <= set(rates), "each schedule's rates at half the warmup, the warmup's end and the last step"
    return all(close(rates[t], float(sched(t)), rel=1e-4) for t in steps)


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
def test_the_full_scales_rates(answer):
    import arlm

    need(answer=answer)
    full = arlm.scales.resolve("full")
    reference = arlm.optimizers.WarmupLinearDecay(full.teacher_learning_rate, full.teacher_steps, full.warmup_steps)
    assert "full" in answer and _rates_of(answer["full"], reference), "answer['full'] is not the full scale's"


@test_case()
def test_this_runs_rates(answer, schedule, scale):
    need(answer=answer)
    assert scale in answer and _rates_of(answer[scale], schedule), f"answer[{scale!r}] is not this run's schedule"
