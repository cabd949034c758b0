"""Stage-2 schedules: which layer is being transferred, and how fast each variable learns (spec 3.3).

With ``S`` steps per layer and ``t`` the 1-based step number (the first update is ``t = 1``; ``S * L`` steps
cover the L phases exactly):

* loss gate $g_l(t) = [S l < t \\le S (l+1)]$ (`layer_gate`);
* background rate $bg(t) = \\min(0.9 + 0.1\\sqrt{1-\\tau}, 10\\tau)$ with $\\tau = (t \\bmod S)/S$
  (`background_rate`): each phase ramps up over its first 10% and then decays slowly from 1.0 to 0.9
  (as in the official code, the last step of a phase has $\\tau = 0$ and so a zero rate);
* layer factor $c_l(t)$ = 0 before the phase (frozen), 1 during it, 0.1 after (`layer_factor`);
* learning-rate multiplier of an encoder variable of layer ``l``: $3\\,bg(t)\\,c_l(t)$ (`layer_multiplier`);
  every non-encoder variable is frozen (multiplier 0) for the whole stage.

All functions take ``t`` as a Python number or a tensor of steps (elementwise) and use ``keras.ops`` only.
`multiplier_curves` evaluates them at a few thousand sampled steps for plots.

>>> [round(float(layer_multiplier(t, 0, steps_per_layer=10)), 3) for t in (1, 5, 10, 11)]
[2.985, 2.912, 0.0, 0.298]
"""

import numpy as np
from keras import ops

from arlm.optimizers import PLOT_POINTS, sample_steps

CURRENT_LAYER_FACTOR = 1.0
FINISHED_LAYER_FACTOR = 0.1  # the official code's softened "freeze the lower layers"
MULTIPLIER_SCALE = 3.0


def _step(t):
    return ops.cast(ops.convert_to_tensor(t), "float32")


def layer_gate(t, layer, steps_per_layer):
    """$g_l(t) = 1$ while $S l < t \\le S(l+1)$, else 0: the layer whose losses count at step ``t``."""
    t = _step(t)
    inside = ops.logical_and(t > steps_per_layer * layer, t <= steps_per_layer * (layer + 1))
    return ops.cast(inside, "float32")


def layer_gates(t, num_layers, steps_per_layer):
    """``[g_0(t), ..., g_{L-1}(t)]``."""
    return [layer_gate(t, layer, steps_per_layer) for layer in range(num_layers)]


def background_rate(t, steps_per_layer):
    """$bg(t) = \\min(0.9 + 0.1\\sqrt{1-\\tau}, 10\\tau)$, $\\tau = (t \\bmod S)/S$."""
    tau = ops.mod(_step(t), float(steps_per_layer)) / float(steps_per_layer)
    return ops.minimum(0.9 + 0.1 * ops.sqrt(1.0 - tau), 10.0 * tau)


def layer_factor(t, layer, steps_per_layer):
    """$c_l(t)$: 0 for $t \\le S l$ (future layer), 1 during its phase, 0.1 afterwards (finished layer)."""
    t = _step(t)
    started = ops.cast(t > steps_per_layer * layer, "float32")
    finished = ops.cast(t > steps_per_layer * (layer + 1), "float32")
    return started * (CURRENT_LAYER_FACTOR - finished * (CURRENT_LAYER_FACTOR - FINISHED_LAYER_FACTOR))


def layer_multiplier(t, layer, steps_per_layer):
    """Learning-rate multiplier $3\\,bg(t)\\,c_l(t)$ of the encoder variables of layer ``layer``.

    Where it is 0 the optimizer also leaves the variable's moments untouched (the moment gate), so each
    layer's Adam moments start fresh when its phase begins.
    """
    return MULTIPLIER_SCALE * background_rate(t, steps_per_layer) * layer_factor(t, layer, steps_per_layer)


def current_layer(t, steps_per_layer, num_layers):
    """The 0-based layer transferred at step ``t`` (a Python int; ``t`` past the end gives the last layer)."""
    return min(max(int(t) - 1, 0) // steps_per_layer, num_layers - 1)


def total_steps(num_layers, steps_per_layer):
    """Length of stage 2: equal steps per layer, ``L * S``."""
    return num_layers * steps_per_layer


def multiplier_curves(num_layers, steps_per_layer, max_points=PLOT_POINTS):
    """``(steps, bg, multipliers)`` over stage 2 for plots: $bg(t)$ and each block's $3\\,bg(t)\\,c_l(t)$.

    Evaluated at `arlm.optimizers.sample_steps` of ``1 .. L S`` (every step when there are few), with each
    phase boundary, each phase's first step and the end of its ramp included exactly; ``multipliers`` is
    ``[L, len(steps)]``. One vectorised call per block: a fraction of a second at full scale (240K steps,
    24 blocks), where a call per step and block takes hours.

    Args:
        num_layers: int, L.
        steps_per_layer: int, S.
        max_points: int, evenly spaced steps besides the corners.
    """
    S = steps_per_layer
    ramp = -(-S // 10)  # the ramp 10 tau ends about a tenth into each phase
    corners = [S * layer + offset for layer in range(num_layers + 1) for offset in (0, 1, ramp)]
    steps = sample_steps(1, total_steps(num_layers, S), corners=corners, max_points=max_points)
    t = ops.convert_to_tensor(steps.astype(np.float32))
    background = np.asarray(ops.convert_to_numpy(background_rate(t, S)), np.float64)
    multipliers = np.stack([np.asarray(ops.convert_to_numpy(layer_multiplier(t, layer, S)), np.float64)
                            for layer in range(num_layers)])
    return steps, background, multipliers
