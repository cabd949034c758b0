from otter.test_files import test_case

from arlm.book.classroom.checks import need

name = "ex-4-2"
expects = ("answer: {budget: (transfer updates, distillation updates)} for the paper (section 3.3.2), the "
           "`full` scale (24 blocks) and this run")
refuses = 'answer = {k: (kt // 24, d) if "full" in k else (kt, d) for k, (kt, d) in answer.items()}'  # per block


@test_case()
def test_the_three_budgets(answer, cfg, num_layers):
    import arlm
    from arlm.distillation import stages

    need(answer=answer)
    budgets = {tuple(int(n) for n in pair) for pair in dict(answer).values()}
    full = arlm.scales.resolve("full")
    this_run = (num_layers * cfg.kt_steps_per_layer, cfg.distill_steps)
    assert sum(this_run) == stages.student_steps(cfg, num_layers)
    expected = {
        "the paper's": (arlm.paper.setting("attention_transfer_steps"), arlm.paper.setting("distill_steps")),
        "the full scale's": (24 * full.kt_steps_per_layer, full.distill_steps),
        "this run's": this_run,
    }
    for name_, pair in expected.items():
        assert pair in budgets, f"{name_} (transfer, distillation) updates are missing or off"
