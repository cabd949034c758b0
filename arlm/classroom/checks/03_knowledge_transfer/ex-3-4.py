import math

from otter.test_files import test_case

from arlm.classroom.checks import need

name = "ex-3-4"
expects = ("mberta_ii: the MBERTA II student after transfer; ii_history: its per-step records (two steps per "
           "layer)")


@test_case()
def test_mberta_ii_is_smaller(mberta_ii, student):
    need(mberta_ii=mberta_ii)
    assert mberta_ii.backbone.config.num_feedforward_networks == 1, "MBERTA II has one FFN per block"
    assert mberta_ii.backbone.count_params() < student.backbone.count_params(), "MBERTA II should be smaller"


@test_case()
def test_two_steps_per_layer(ii_history, L):
    need(ii_history=ii_history)
    assert len(ii_history) == 2 * L, "two steps for each of the L blocks"
    assert math.isfinite(ii_history[-1]["fmt"]), "the last FMT term is not finite"
