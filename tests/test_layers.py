"""Layers of the MobileBERT family on tiny tensors (spec 1.3, 1.4, 9)."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import ops  # noqa: E402

from arlm.layers import (  # noqa: E402
    MASKED_LOGIT,
    BertBlock,
    BottleneckBlock,
    MaskedSelfAttention,
    NoNorm,
    TrigramEmbedding,
    make_norm,
)

pytestmark = pytest.mark.backend


def test_no_norm_is_elementwise_affine():
    layer = NoNorm()
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
    layer.build(x.shape)
    layer.gamma.assign(np.arange(1, 5, dtype="float32"))
    layer.beta.assign(np.full(4, 0.5, "float32"))
    np.testing.assert_allclose(ops.convert_to_numpy(layer(x)), x * np.arange(1, 5) + 0.5, rtol=1e-6)


def test_make_norm_rejects_unknown_type():
    with pytest.raises(ValueError, match="normalization_type"):
        make_norm("batch_norm", "norm")


def test_trigram_embedding_equals_same_padded_width3_conv():
    vocab, e, h, length = 11, 4, 6, 7
    layer = TrigramEmbedding(vocab, e, h, trigram_input=True)
    ids = np.random.default_rng(1).integers(0, vocab, (3, length)).astype("int32")
    out = ops.convert_to_numpy(layer(ids))
    embeddings = ops.take(layer.embeddings, ids, axis=0)
    conv = keras.layers.Conv1D(h, 3, padding="same")
    conv.build((None, length, e))
    kernel = ops.convert_to_numpy(layer.projection.kernel).reshape(3, e, h)
    # concat order [e_{t+1}, e_t, e_{t-1}]; Conv1D tap k multiplies x_{t-1+k}
    conv.kernel.assign(kernel[::-1])
    conv.bias.assign(ops.convert_to_numpy(layer.projection.bias))
    np.testing.assert_allclose(out, ops.convert_to_numpy(conv(embeddings)), rtol=1e-5, atol=1e-6)
    assert layer.projection.kernel.shape == (3 * e, h)


def test_trigram_embedding_without_projection_when_e_equals_h():
    layer = TrigramEmbedding(10, 8, 8, trigram_input=False)
    ids = np.array([[1, 2, 3]], "int32")
    assert layer.projection is None
    np.testing.assert_allclose(ops.convert_to_numpy(layer(ids)), ops.convert_to_numpy(layer.embeddings)[ids])


def test_attention_logits_are_scaled_and_masked_with_minus_six():
    attention = MaskedSelfAttention(num_heads=2, attention_size=4)
    x = np.random.default_rng(2).normal(size=(1, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0]], "int32")
    _, logits = attention(x, x, mask)
    logits = ops.convert_to_numpy(logits)
    q = ops.convert_to_numpy(attention.query_dense(x)).reshape(1, 5, 2, 2)
    k = ops.convert_to_numpy(attention.key_dense(x)).reshape(1, 5, 2, 2)
    expected = np.einsum("bind,bjnd->bnij", q, k) / np.sqrt(2)
    expected[..., 3:] = MASKED_LOGIT
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("flags", [
    {},  # teacher: Q, K, V from X
    {"key_query_shared_bottleneck": True, "normalization_type": "no_norm", "num_feedforward_networks": 3},
    {"use_bottleneck_attention": True, "num_feedforward_networks": 2},
])
def test_bottleneck_block_shapes(flags):
    block = BottleneckBlock(hidden_size=8, intra_bottleneck_size=4, num_heads=2, intermediate_size=6, **flags)
    x = np.random.default_rng(3).normal(size=(2, 5, 8)).astype("float32")
    y, logits = block(x, np.ones((2, 5), "int32"))
    assert y.shape == (2, 5, 8) and logits.shape == (2, 2, 5, 5)
    restored = BottleneckBlock.from_config(block.get_config())
    assert restored.get_config() == block.get_config()


def test_block_padding_does_not_leak_into_real_positions_beyond_minus_six():
    # real tokens' outputs change only through the e^-6 mass given to padded keys
    block = BertBlock(hidden_size=8, num_heads=2, intermediate_size=16, hidden_dropout=0.0, attention_dropout=0.0)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1, 6, 8)).astype("float32")
    mask = np.array([[1, 1, 1, 1, 0, 0]], "int32")
    y1, _ = block(x, mask)
    x2 = x.copy()
    x2[:, 4:] = rng.normal(size=(1, 2, 8))
    y2, _ = block(x2, mask)
    diff = np.abs(ops.convert_to_numpy(y1)[:, :4] - ops.convert_to_numpy(y2)[:, :4]).max()
    assert diff < 0.05
