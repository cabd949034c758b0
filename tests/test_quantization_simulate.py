"""Weight quantization simulated in Keras: the int8 round trip, applied to chosen kernels only, then undone."""

import keras
import numpy as np
import pytest

from arlm.quantization.simulate import fake_quantize, quantized_weights


def test_fake_quantize_is_a_per_channel_int8_round_trip():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(64, 3)).astype("float32") * np.array([1.0, 10.0, 0.0], "float32")
    q = fake_quantize(w)
    scale = np.abs(w).max(0) / 127
    assert np.all(np.abs(q - w) <= scale / 2 + 1e-7)  # half a step of its own channel's scale
    assert np.all(q[:, 2] == 0)  # an all-zero channel stays zero
    assert len(np.unique(np.round(q[:, 0] / scale[0]))) <= 255
    assert np.allclose(fake_quantize(q), q, atol=1e-6)  # already on the grid


def test_quantized_weights_changes_only_the_chosen_kernels_and_restores_them():
    inputs = keras.Input((32,))
    hidden = keras.layers.Dense(64, name="ffn_0_intermediate")(inputs)
    outputs = keras.layers.Dense(40, name="classifier")(hidden)
    model = keras.Model(inputs, outputs)
    before = [w.numpy().copy() for w in model.weights]
    x = np.random.default_rng(1).normal(size=(4, 32)).astype("float32")
    reference = model(x).numpy()
    with quantized_weights(model, lambda path: "ffn_" in path) as count:
        changed = [not np.array_equal(w.numpy(), b) for w, b in zip(model.weights, before, strict=True)]
        quantized = model(x).numpy()
    assert count == 32 * 64  # the ffn kernel; its bias (1-D) and the unselected classifier stay float
    assert changed == [True, False, False, False]
    assert 0 < np.abs(quantized - reference).max() < 0.05 * np.abs(reference).max()
    assert all(np.array_equal(w.numpy(), b) for w, b in zip(model.weights, before, strict=True))
    with pytest.raises(RuntimeError), quantized_weights(model, lambda path: True):
        raise RuntimeError("an error inside the block")
    assert all(np.array_equal(w.numpy(), b) for w, b in zip(model.weights, before, strict=True))
