"""The official MobileBERT optimizers in Keras 3: LAMB and AdamW, plus the warmup + linear decay schedule (spec 3.2).

Both follow `lamb_optimizer.py` / `optimization.py` of the official code, **not** Keras' built-in Lamb/AdamW:

* no bias correction: $m \\leftarrow \\beta_1 m + (1-\\beta_1) g$, $v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2$;
* $u = m / (\\sqrt v + \\epsilon) + \\lambda w$ with $\\epsilon = 10^{-6}$, $\\lambda = 0.01$ for decayed variables;
* LAMB only: trust ratio $r = \\lVert w\\rVert / \\lVert u\\rVert$ when both are positive, else 1;
* $w \\leftarrow w - \\eta\\,\\mathrm{mult}\\,r\\,u$;
* variables whose path matches ``exclude_patterns`` (default: norms, i.e. LayerNorm and NoNorm, and biases)
  get neither weight decay nor the trust ratio.

Keras' ``keras.optimizers.Lamb`` differs in four ways: it bias-corrects, applies the trust ratio to every
variable, has no weight decay inside the trust-ratio update (only Keras' decoupled decay) and defaults to
$\\epsilon = 10^{-7}$.

**Per-variable multipliers (stage 2 of distillation, spec 3.3).** ``variable_multiplier(variable, step)``
returns a scalar tensor ``mult`` for ``variable`` (the Keras variable: ``variable.path`` names it on every
backend); ``step`` is the 1-based number of the update being
applied (``optimizer.iterations + 1``, float32). The variable's learning rate is multiplied by it, and its
moments are gated by $g = [\\mathrm{mult} > 0]$: $m \\leftarrow g\\,(\\beta_1 m + (1-\\beta_1) g_t)$ (likewise v),
so a frozen variable keeps $m = v = 0$ and starts fresh when it unfreezes. It is evaluated inside the update
step (graph-safe: use ``keras.ops``), and it is not serialized (set it again after loading).

**Gradient accumulation.** ``gradient_accumulation_steps=N`` (Keras' argument) averages the gradients of N
micro-batches and applies one update on the N-th; the other calls only add to the accumulators. N micro-batches
of size b then give the update of one batch of N b (for a loss that is a mean over the batch), global-norm
clipping included. ``iterations`` counts updates, so the schedule and ``variable_multiplier``'s ``step``
count updates too; a training loop runs N times as many micro-batches as updates.

>>> schedule = WarmupLinearDecay(1.5e-3, total_steps=1000, warmup_steps=100)
>>> optimizer = Lamb(schedule, global_clipnorm=1.0)   # as in `make_optimizer("lamb", ...)`
"""

import re

import keras
import numpy as np
from keras import ops

from arlm.errors import ParameterError

EXCLUDE_PATTERNS = ("norm", "bias")  # matched case-insensitively in variable.path (LayerNorm, NoNorm, biases)
PLOT_POINTS = 2000  # steps a schedule plot evaluates: enough for a 700 px figure, seconds at any scale


def sample_steps(first, last, corners=(), max_points=PLOT_POINTS):
    """Integer steps from ``first`` to ``last`` for plotting a schedule without evaluating every step.

    Every step when there are at most ``max_points``; otherwise ``max_points`` evenly spaced steps plus each
    of ``corners`` (where the curve bends or jumps, e.g. the end of warmup) and its two neighbours, so the
    plotted corners are exact.

    Args:
        first, last: int, the first and last step (both included).
        corners: iterable of int steps to include exactly.
        max_points: int, the number of evenly spaced steps.

    >>> sample_steps(0, 10).tolist() == list(range(11))
    True
    >>> len(sample_steps(0, 2_000_000, corners=[10_000])) <= 2003
    True
    """
    if last - first + 1 <= max_points:
        return np.arange(first, last + 1)
    uniform = np.linspace(first, last, max_points).round().astype(np.int64)
    exact = np.asarray([c + d for c in corners for d in (-1, 0, 1)], np.int64)
    steps = np.unique(np.concatenate([uniform, exact]))
    return steps[(steps >= first) & (steps <= last)]


@keras.saving.register_keras_serializable(package="arlm")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """$\\eta(t) = \\eta_0 \\cdot t / t_w$ for $t < t_w$, else $\\eta_0[(1 - r)(1 - \\min(t, N)/N) + r]$, r = 1e-4.

    ``t`` is Keras' 0-based ``optimizer.iterations`` (the official ``global_step``), so the first update
    has lr 0 when there is a warmup.
    """

    def __init__(self, learning_rate, total_steps, warmup_steps=0, end_rate=1e-4):
        if total_steps < 1 or warmup_steps < 0:
            raise ParameterError(f"WarmupLinearDecay needs total_steps >= 1 and warmup_steps >= 0, got "
                                 f"total_steps={total_steps}, warmup_steps={warmup_steps}")
        self.learning_rate = float(learning_rate)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.end_rate = float(end_rate)

    def __call__(self, step):
        t = ops.cast(step, "float32")
        progress = ops.minimum(t, float(self.total_steps)) / float(self.total_steps)
        decayed = self.learning_rate * ((1.0 - self.end_rate) * (1.0 - progress) + self.end_rate)
        if not self.warmup_steps:
            return decayed
        warmup = self.learning_rate * t / float(self.warmup_steps)
        return ops.where(t < self.warmup_steps, warmup, decayed)

    def curve(self, max_points=PLOT_POINTS):
        """``(steps, rates)``: the schedule at `sample_steps` of ``0 .. total_steps`` (warmup's end exact), for plots.

        One vectorised evaluation of the same formula: a fraction of a second at 2M steps, where a loop over
        every step costs an hour.
        """
        steps = sample_steps(0, self.total_steps, corners=[self.warmup_steps], max_points=max_points)
        return steps, np.asarray(ops.convert_to_numpy(self(steps)), np.float64)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps, "end_rate": self.end_rate}


def _dense(gradient):
    """Embedding gradients arrive as TF ``IndexedSlices``; LAMB needs the whole gradient (duplicates summed)."""
    if hasattr(gradient, "indices") and hasattr(gradient, "values"):
        return ops.scatter(ops.expand_dims(gradient.indices, -1), gradient.values, gradient.dense_shape)
    return gradient


class _MomentsWeightDecay(keras.optimizers.Optimizer):
    """The shared update of the official LAMB and AdamW; ``use_trust_ratio`` tells them apart."""

    use_trust_ratio = False

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-6, weight_decay_rate=0.01,
                 exclude_patterns=EXCLUDE_PATTERNS, variable_multiplier=None, name=None, **kwargs):
        if kwargs.get("weight_decay"):
            raise ParameterError("use weight_decay_rate (decay inside the update, as the official code), "
                                 "not Keras' decoupled weight_decay")
        kwargs.pop("weight_decay", None)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.weight_decay_rate = weight_decay_rate
        self.exclude_patterns = tuple(exclude_patterns)
        self.variable_multiplier = variable_multiplier

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])

    def is_excluded(self, variable):
        """No weight decay and no trust ratio for this variable (a norm or a bias by default)."""
        return any(re.search(pattern, variable.path, flags=re.IGNORECASE) for pattern in self.exclude_patterns)

    def _get_current_learning_rate(self):
        # Keras (3.15) evaluates a schedule at the micro-batch counter `_iterations`; with gradient accumulation
        # the schedule must count updates, which is `iterations` (micro-batches // accumulation steps)
        if self.gradient_accumulation_steps and isinstance(
                self._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            return self._learning_rate(self.iterations)
        return super()._get_current_learning_rate()

    def apply(self, grads, trainable_variables=None):
        # densify a sparse (embedding) gradient once here; global-norm clipping would densify it once per read
        return super().apply([_dense(g) for g in grads], trainable_variables)

    def _clip_gradients(self, grads):
        """Global-norm clipping of the whole batch's gradient, also under a TF strategy.

        Keras clips before TF sums the replicas' gradients, so each replica would clip its own part (a norm of
        about 1/R of the real one, which a threshold of 1.0 seldom reaches). The norm here is that of the sum over
        replicas (`arlm.runtime.replica_sum`), and every replica scales its part by the same factor.
        """
        if not (self.global_clipnorm and self.global_clipnorm > 0) or self.clipnorm or self.clipvalue:
            return super()._clip_gradients(grads)
        from arlm import runtime

        present = [g for g in grads if g is not None]
        norm = ops.sqrt(sum(ops.sum(ops.square(g)) for g in runtime.replica_sum(present)))
        scale = self.global_clipnorm * ops.minimum(1.0 / norm, 1.0 / self.global_clipnorm)
        scale = scale + (norm - norm)  # NaN for a non-finite norm, as Keras' clip_by_global_norm
        return [g if g is None else g * ops.cast(scale, g.dtype) for g in grads]

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)  # dense: `apply` densified sparse gradients
        index = self._get_variable_index(variable)
        keras_variable = self._trainable_variables[index]  # the TF backend passes the raw tf.Variable
        m, v = self._momentums[index], self._velocities[index]
        if self.variable_multiplier is None:
            # m + (1 - b1)(g - m) is b1 m + (1 - b1) g, added in place: one pass fewer over each moment, which
            # counts for the embedding (half of MobileBERT's parameters) on a memory-bound CPU
            self.assign_add(m, (1.0 - self.beta_1) * (gradient - m))
            self.assign_add(v, (1.0 - self.beta_2) * (ops.square(gradient) - v))
            new_m, new_v = m, v
        else:
            mult = ops.cast(self.variable_multiplier(keras_variable, ops.cast(self.iterations + 1, "float32")), dtype)
            gate = ops.cast(mult > 0, dtype)
            new_m = gate * (self.beta_1 * m + (1.0 - self.beta_1) * gradient)
            new_v = gate * (self.beta_2 * v + (1.0 - self.beta_2) * ops.square(gradient))
            lr = lr * mult
            self.assign(m, new_m)
            self.assign(v, new_v)
        update = new_m / (ops.sqrt(new_v) + self.epsilon)
        excluded = self.is_excluded(keras_variable)
        if self.weight_decay_rate and not excluded:
            update = update + self.weight_decay_rate * variable
        if self.use_trust_ratio and not excluded:
            w_norm = ops.sqrt(ops.sum(ops.square(variable)))
            u_norm = ops.sqrt(ops.sum(ops.square(update)))
            positive = ops.logical_and(w_norm > 0, u_norm > 0)
            lr = lr * ops.where(positive, w_norm / ops.where(positive, u_norm, 1.0), 1.0)  # the trust ratio
        self.assign_sub(variable, lr * update)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "weight_decay_rate": self.weight_decay_rate, "exclude_patterns": list(self.exclude_patterns)}


@keras.saving.register_keras_serializable(package="arlm")
class Lamb(_MomentsWeightDecay):
    """The official MobileBERT LAMB (`lamb_optimizer.py`): no bias correction, trust ratio, decay in the update.

    Args:
        learning_rate: float or schedule (e.g. `WarmupLinearDecay`).
        beta_1, beta_2, epsilon: 0.9, 0.999, 1e-6.
        weight_decay_rate: $\\lambda$ = 0.01, skipped for excluded variables.
        exclude_patterns: regexes searched in ``variable.path``; matches skip decay and the trust ratio.
        variable_multiplier: optional ``(variable, step) -> scalar`` lr multiplier and moment gate (module doc).
        **kwargs: Keras optimizer arguments, e.g. ``global_clipnorm=1.0``, ``gradient_accumulation_steps=4``.
    """

    use_trust_ratio = True


@keras.saving.register_keras_serializable(package="arlm")
class AdamW(_MomentsWeightDecay):
    """The official BERT AdamW (`optimization.py:AdamWeightDecayOptimizer`): LAMB without the trust ratio.

    Same arguments as `Lamb`; no bias correction, $\\epsilon = 10^{-6}$, $\\lambda = 0.01$ inside the update.
    """


def accumulation(steps):
    """Keras' ``gradient_accumulation_steps`` for a scale's value: ``None`` for 1 (Keras rejects 1), else N >= 2."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ParameterError(f"gradient_accumulation_steps must be a positive integer, got {steps!r}")
    return None if steps == 1 else steps


def make_optimizer(kind, learning_rate, total_steps, warmup_steps=0, clipnorm=1.0, gradient_accumulation_steps=1,
                   **kwargs):
    """``kind`` ("lamb" | "adamw") with the warmup + linear decay schedule and global-norm clipping at 1.0.

    Args:
        kind: str, ``"lamb"`` or ``"adamw"``.
        learning_rate: float, the peak rate $\\eta_0$.
        total_steps: int, optimizer updates of the run (micro-batches / ``gradient_accumulation_steps``).
        warmup_steps: int, updates of linear warmup.
        clipnorm: float, the global gradient norm clipped to (after averaging accumulated gradients).
        gradient_accumulation_steps: int, micro-batches per update (1: none; the scale key of that name).
        **kwargs: further `Lamb` / `AdamW` arguments, e.g. ``variable_multiplier``.
    """
    classes = {"lamb": Lamb, "adamw": AdamW}
    if kind not in classes:
        raise ParameterError(f"unknown optimizer {kind!r}; choose one of: {', '.join(classes)}")
    schedule = WarmupLinearDecay(learning_rate, total_steps, warmup_steps)
    return classes[kind](schedule, global_clipnorm=clipnorm,
                         gradient_accumulation_steps=accumulation(gradient_accumulation_steps), **kwargs)
