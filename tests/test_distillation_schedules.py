"""Stage-2 gates, background rate and per-layer multipliers at the phase boundaries (spec 3.3)."""

import math

import numpy as np
import pytest

from arlm.distillation import schedules

pytestmark = pytest.mark.backend

S = 10  # steps per layer


def bg(t):
    tau = (t % S) / S
    return min(0.9 + 0.1 * math.sqrt(1 - tau), 10 * tau)


@pytest.mark.parametrize("t, gates", [(1, [1, 0, 0]), (10, [1, 0, 0]), (11, [0, 1, 0]), (20, [0, 1, 0]),
                                      (21, [0, 0, 1]), (30, [0, 0, 1]), (31, [0, 0, 0])])
def test_exactly_one_layer_gate_is_open_per_phase(t, gates):
    assert [float(g) for g in schedules.layer_gates(t, 3, S)] == gates


def test_background_rate_ramps_up_then_decays_to_point_nine():
    assert float(schedules.background_rate(10, S)) == 0.0  # tau = 0 on the last step of a phase
    assert float(schedules.background_rate(1, S)) == pytest.approx(0.9 + 0.1 * math.sqrt(0.9), rel=1e-6)
    assert float(schedules.background_rate(5, S)) == pytest.approx(0.9 + 0.1 * math.sqrt(0.5), rel=1e-6)
    ramp = schedules.background_rate(2, 100)  # 10 tau wins during the first tenth of a long phase
    assert float(ramp) == pytest.approx(0.2, rel=1e-6)


@pytest.mark.parametrize("t", [1, 5, 10, 11, 15, 20, 21, 25, 30])
def test_multipliers_are_three_bg_times_one_point_one_or_zero(t):
    for layer in range(3):
        start, end = S * layer, S * (layer + 1)
        factor = 0.0 if t <= start else (1.0 if t <= end else 0.1)
        assert float(schedules.layer_multiplier(t, layer, S)) == pytest.approx(3 * bg(t) * factor, rel=1e-5, abs=1e-7)


def test_phase_boundaries_freeze_future_layers_and_slow_finished_ones():
    assert float(schedules.layer_multiplier(10, 1, S)) == 0.0  # layer 1 has not started at t = S
    assert float(schedules.layer_multiplier(11, 1, S)) == pytest.approx(3 * bg(11))
    assert float(schedules.layer_multiplier(11, 0, S)) == pytest.approx(0.3 * bg(11))
    assert [schedules.current_layer(t, S, 3) for t in (0, 1, 10, 11, 30, 99)] == [0, 0, 0, 1, 2, 2]
    assert schedules.total_steps(3, S) == 30


def test_multiplier_curves_sample_exactly_at_few_points():
    steps, background, multipliers = schedules.multiplier_curves(3, S)
    assert steps.tolist() == list(range(1, 3 * S + 1)) and multipliers.shape == (3, 3 * S)  # few steps: all
    np.testing.assert_allclose(background, [bg(t) for t in steps], rtol=1e-6, atol=1e-7)
    layers, per_layer = 24, 10_000  # the full scale (240K steps, 24 blocks), at a few thousand points
    steps, background, multipliers = schedules.multiplier_curves(layers, per_layer)
    assert len(steps) < 2500 and multipliers.shape == (layers, len(steps))
    boundaries = {per_layer * layer + d for layer in range(1, layers) for d in (0, 1)}
    assert boundaries <= set(steps.tolist())  # every phase's last and first step
    assert np.all(background[np.isin(steps, [per_layer * layer for layer in range(1, layers + 1)])] == 0)
    picked = np.random.default_rng(0).choice(len(steps), 20, replace=False)
    for i in picked:
        t = int(steps[i])
        assert background[i] == pytest.approx(float(schedules.background_rate(t, per_layer)), rel=1e-6, abs=1e-7)
        for layer in (0, t // per_layer % layers, layers - 1):
            assert multipliers[layer, i] == pytest.approx(float(schedules.layer_multiplier(t, layer, per_layer)),
                                                          rel=1e-6, abs=1e-7)
