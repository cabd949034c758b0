"""The official LAMB / AdamW against hand-computed updates, and how Keras' Lamb differs (spec 3.2)."""


import keras
import numpy as np
import pytest
from keras import ops  # noqa: E402

from arlm.optimizers import AdamW, Lamb, WarmupLinearDecay, make_optimizer  # noqa: E402

pytestmark = pytest.mark.backend

RNG = np.random.default_rng(0)
GRADS = [[RNG.normal(size=(3, 2)).astype("float32"), RNG.normal(size=(2,)).astype("float32"),
          RNG.normal(size=(2,)).astype("float32")] for _ in range(3)]


def toy_variables():
    """A dense kernel (decayed, trust ratio) plus a bias and a LayerNorm gamma (both excluded)."""
    keras.utils.set_random_seed(1)
    dense = keras.layers.Dense(2, bias_initializer="ones", name="dense")
    dense.build((None, 3))
    norm = keras.layers.LayerNormalization(name="attention_norm")
    norm.build((None, 2))
    return [dense.kernel, dense.bias, norm.gamma]


def official_lamb(weights, grads_per_step, lr, trust_ratio=True, wd=0.01, eps=1e-6, b1=0.9, b2=0.999,
                  excluded=(False, True, True), mults=None):
    weights = [w.copy() for w in weights]
    m = [np.zeros_like(w) for w in weights]
    v = [np.zeros_like(w) for w in weights]
    for t, grads in enumerate(grads_per_step):
        for i, g in enumerate(grads):
            mult = 1.0 if mults is None else mults[t][i]
            gate = float(mult > 0)
            m[i] = gate * (b1 * m[i] + (1 - b1) * g)
            v[i] = gate * (b2 * v[i] + (1 - b2) * g * g)
            u = m[i] / (np.sqrt(v[i]) + eps)
            if not excluded[i]:
                u = u + wd * weights[i]
            r = 1.0
            if trust_ratio and not excluded[i]:
                wn, un = np.linalg.norm(weights[i]), np.linalg.norm(u)
                r = wn / un if wn > 0 and un > 0 else 1.0
            weights[i] = weights[i] - lr * mult * r * u
    return weights


def run(optimizer, variables, grads_per_step):
    for grads in grads_per_step:
        optimizer.apply_gradients(zip([ops.convert_to_tensor(g) for g in grads], variables, strict=True))
    return [ops.convert_to_numpy(v) for v in variables]


def test_lamb_matches_the_official_formulas():
    variables = toy_variables()
    start = [ops.convert_to_numpy(v) for v in variables]
    ours = run(Lamb(0.1), variables, GRADS)
    for got, want in zip(ours, official_lamb(start, GRADS, 0.1), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_adamw_matches_the_official_formulas():
    variables = toy_variables()
    start = [ops.convert_to_numpy(v) for v in variables]
    ours = run(AdamW(0.1), variables, GRADS)
    for got, want in zip(ours, official_lamb(start, GRADS, 0.1, trust_ratio=False), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_keras_builtin_lamb_differs():
    variables = toy_variables()
    start = [ops.convert_to_numpy(v) for v in variables]
    keras_result = run(keras.optimizers.Lamb(0.1), variables, GRADS)
    official = official_lamb(start, GRADS, 0.1)
    # bias correction and trust ratio on every variable: the excluded bias moves differently
    assert not np.allclose(keras_result[1], official[1], rtol=1e-3)
    assert not np.allclose(keras_result[0], official[0], rtol=1e-3)


def test_variable_multiplier_scales_lr_and_gates_moments():
    variables = toy_variables()
    start = [ops.convert_to_numpy(v) for v in variables]
    paths = [v.path for v in variables]
    # kernel frozen at step 1, then 0.5; bias always 3; gamma frozen throughout
    table = {paths[0]: [0.0, 0.5, 0.5], paths[1]: [3.0, 3.0, 3.0], paths[2]: [0.0, 0.0, 0.0]}

    def multiplier(variable, step):
        values = ops.convert_to_tensor(np.array(table[variable.path], "float32"))
        return ops.take(values, ops.cast(step, "int32") - 1)

    ours = run(Lamb(0.1, variable_multiplier=multiplier), variables, GRADS)
    mults = [[table[p][t] for p in paths] for t in range(3)]
    for got, want in zip(ours, official_lamb(start, GRADS, 0.1, mults=mults), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ours[2], start[2])


def test_warmup_linear_decay():
    schedule = WarmupLinearDecay(1.0, total_steps=100, warmup_steps=10)
    values = [float(schedule(t)) for t in (0, 5, 10, 55, 100, 200)]
    expected = [0.0, 0.5, (1 - 1e-4) * 0.9 + 1e-4, (1 - 1e-4) * 0.45 + 1e-4, 1e-4, 1e-4]
    np.testing.assert_allclose(values, expected, rtol=1e-5)


def test_schedule_curve_samples_exactly_at_few_points():
    small = WarmupLinearDecay(1.0, total_steps=100, warmup_steps=10)
    steps, rates = small.curve()
    assert steps.tolist() == list(range(101))  # few steps: every one
    # the same formula, vectorised: equal up to float32 rounding (1 - t/N cancels near the end)
    np.testing.assert_allclose(rates, [float(small(int(t))) for t in steps], rtol=1e-6, atol=1e-7)
    full = WarmupLinearDecay(1.5e-3, total_steps=2_000_000, warmup_steps=10_000)  # full scale: few points
    steps, rates = full.curve()
    assert len(steps) <= 2100 and steps[0] == 0 and steps[-1] == 2_000_000
    assert {9_999, 10_000, 10_001} <= set(steps.tolist())  # the warmup's corner is exact
    picked = np.random.default_rng(0).choice(len(steps), 30, replace=False).tolist()
    for i in picked + [int(np.flatnonzero(steps == 10_000)[0]), len(steps) - 1]:
        assert rates[i] == pytest.approx(float(full(int(steps[i]))), rel=1e-6, abs=1.5e-10)
    assert rates.max() == pytest.approx(float(full(9_999)), rel=1e-6)  # the peak, at the end of warmup


def test_make_optimizer_clips_global_norm_and_round_trips():
    optimizer = make_optimizer("lamb", 1.5e-3, total_steps=100, warmup_steps=10)
    assert optimizer.global_clipnorm == 1.0 and optimizer.epsilon == 1e-6
    restored = Lamb.from_config(optimizer.get_config())
    assert restored.get_config()["exclude_patterns"] == ["norm", "bias"]
    with pytest.raises(ValueError, match="lamb, adamw"):
        make_optimizer("sgd", 1e-3, 10)


@pytest.mark.parametrize("kind", [Lamb, AdamW])
def test_gradient_accumulation_equals_one_large_batch(kind):
    # N micro-batches of b with accumulation N and one batch of N b: the same weights after K updates, with the
    # schedule (warmup), global-norm clipping and a step-dependent variable multiplier all counting updates
    n, b, updates = 3, 4, 4
    rng = np.random.default_rng(5)
    x = rng.normal(size=(updates * n * b, 3)).astype("float32")
    y = rng.normal(size=(updates * n * b, 2)).astype("float32")

    def multiplier(variable, step):  # changes at update 3: wrong if `step` counted micro-batches
        return ops.where(step > 2, 0.5, 2.0) if "out" in variable.path else ops.ones(())

    results = []
    for accumulation, batch_size in ((1, n * b), (n, b)):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="dense"),
                                  keras.layers.LayerNormalization(name="norm"), keras.layers.Dense(2, name="out")])
        schedule = WarmupLinearDecay(0.05, total_steps=updates * 2, warmup_steps=2)
        optimizer = kind(schedule, global_clipnorm=0.5,
                         gradient_accumulation_steps=accumulation if accumulation > 1 else None,
                         variable_multiplier=multiplier)
        model.compile(optimizer, loss="mse")
        model.fit(x, y, batch_size=batch_size, shuffle=False, verbose=0)
        assert int(optimizer.iterations) == updates
        np.testing.assert_allclose(float(optimizer.learning_rate), float(schedule(updates)))  # not micro-batches
        results.append([ops.convert_to_numpy(v) for v in model.trainable_variables])
    for large, accumulated in zip(*results, strict=True):
        np.testing.assert_allclose(accumulated, large, rtol=1e-6, atol=1e-6)


def test_make_optimizer_passes_gradient_accumulation():
    assert make_optimizer("adamw", 1e-3, 10).gradient_accumulation_steps is None
    optimizer = make_optimizer("lamb", 1e-3, 10, gradient_accumulation_steps=4)
    assert optimizer.gradient_accumulation_steps == 4
    assert Lamb.from_config(optimizer.get_config()).gradient_accumulation_steps == 4
    with pytest.raises(ValueError, match="gradient_accumulation_steps must be a positive integer"):
        make_optimizer("lamb", 1e-3, 10, gradient_accumulation_steps=0)


def test_embedding_gradient_updates_as_dense_with_clipping():
    # TF hands an embedding's gradient over as IndexedSlices (repeated ids): the update must equal the official
    # one on the dense, duplicate-summed gradient, global-norm clipping included
    keras.utils.set_random_seed(2)
    embedding = keras.layers.Embedding(6, 3, name="embedding")
    ids = np.array([[1, 4, 1, 0]], "int32")
    target = RNG.normal(size=(1, 4, 3)).astype("float32")
    model = keras.Sequential([keras.Input((4,), dtype="int32"), embedding])
    model.compile(Lamb(0.05, global_clipnorm=0.5), loss="mse")
    start = ops.convert_to_numpy(embedding.embeddings)
    model.train_on_batch(ids, target)
    grad = np.zeros_like(start)
    np.add.at(grad, ids[0], 2 * (start[ids[0]] - target[0]) / target.size)  # d mse / d rows, duplicates summed
    grad *= min(1.0, 0.5 / np.linalg.norm(grad))
    want = official_lamb([start], [[grad]], 0.05, excluded=(False,))[0]
    np.testing.assert_allclose(ops.convert_to_numpy(embedding.embeddings), want, rtol=1e-4, atol=1e-6)
