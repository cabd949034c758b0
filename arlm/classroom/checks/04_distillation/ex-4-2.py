from otter.test_files import test_case

from arlm.classroom.checks import close, need

name = "ex-4-2"
expects = ("total_updates, kt_share: this run's student updates (transfer and distillation) and the share of "
           "them that is layer-wise transfer (the loop's last pass, over this run)")


@test_case()
def test_this_runs_budget(total_updates, cfg, num_layers):
    from arlm.distillation import stages

    need(total_updates=total_updates)
    assert total_updates == stages.student_steps(cfg, num_layers), "total_updates is not this run's budget"


@test_case()
def test_the_transfer_share(kt_share, cfg, num_layers):
    need(kt_share=kt_share)
    transfer = num_layers * cfg.kt_steps_per_layer
    assert close(kt_share, transfer / (transfer + cfg.distill_steps), rel=1e-3), "kt_share is off"
