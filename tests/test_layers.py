"""Layers of the MobileBERT family on tiny tensors (spec 1.3, 1.4, 9): known values, then keras-hub's checks."""

import keras
import numpy as np
import pytest
from helpers import TINY, run_layer_test  # noqa: E402
from keras import ops  # noqa: E402

from arlm.layers import (  # noqa: E402
    MASKED_LOGIT,
    BertBlock,
    BottleneckBlock,
    MaskedSelfAttention,
    NoNorm,
    PositionEmbedding,
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


def test_bfloat16_attention_scores_are_the_float32_product_of_the_bfloat16_projections():
    """Under mixed_bfloat16, QK^T is not rounded to bfloat16: large scores stay exact to float32 (rounded, a
    score near 300 is off by up to 1, which made the cpu student's POS tagger diverge)."""
    from arlm.layers.attention import masked_logits

    rng = np.random.default_rng(3)
    query, key = (ops.cast(rng.normal(0, 20, (2, 6, 2, 16)), "bfloat16") for _ in range(2))
    logits = ops.convert_to_numpy(masked_logits(query, key, np.ones((2, 6), "int32")))
    q, k = (ops.convert_to_numpy(ops.cast(t, "float32")).astype("float64") for t in (query, key))
    exact = np.einsum("bind,bjnd->bnij", q, k) / 4.0
    assert logits.dtype == np.float32 and np.abs(exact).max() > 256
    np.testing.assert_allclose(logits, exact, rtol=1e-5, atol=1e-3)


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


# --- every layer through keras-hub's checks (tests/helpers.py) ------------------------------------------------------

# the tests' one tiny configuration (tests/helpers.py): H = 8, N = 2, F = 16, E = 4, V = 40, 16 positions
H, E, V = TINY["hidden_size"], TINY["embedding_size"], TINY["vocab_size"]
BLOCK = {key: TINY[key] for key in ("hidden_size", "num_heads", "intermediate_size")}
RNG = np.random.default_rng(7)
X = RNG.normal(size=(2, 5, H)).astype("float32")
MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], "int32")


def test_no_norm_checks(tmp_path):
    run_layer_test(NoNorm, {}, (X,), (2, 5, H), tmp_path, variable_length=True)


def test_position_embedding_checks(tmp_path):
    run_layer_test(PositionEmbedding, {"max_positions": TINY["max_position_embeddings"]}, (X,), (2, 5, H), tmp_path,
                   variable_length=True)


@pytest.mark.parametrize("trigram_input", [True, False])
def test_trigram_embedding_checks(trigram_input, tmp_path):
    ids = RNG.integers(0, V, (2, 5)).astype("int32")
    run_layer_test(TrigramEmbedding, dict(vocab_size=V, embedding_size=E, hidden_size=H, trigram_input=trigram_input),
                   (ids,), (2, 5, H), tmp_path, variable_length=True)


def test_masked_self_attention_checks(tmp_path):
    run_layer_test(MaskedSelfAttention, dict(num_heads=TINY["num_heads"], attention_size=H, attention_dropout=0.1),
                   (X, X, MASK), ((2, 5, H), (2, 2, 5, 5)), tmp_path, variable_length=True)


def test_bert_block_checks(tmp_path):
    run_layer_test(BertBlock, BLOCK, (X, MASK), ((2, 5, H), (2, 2, 5, 5)), tmp_path, variable_length=True)


@pytest.mark.parametrize("flags", [
    {},  # the teacher
    {"key_query_shared_bottleneck": True, "normalization_type": "no_norm", "num_feedforward_networks": 2,
     "hidden_act": "relu"},  # the students
    {"use_bottleneck_attention": True, "normalization_type": "manual_layer_norm"},  # Q, K, V from the bottleneck
])
def test_bottleneck_block_checks(flags, tmp_path):
    run_layer_test(BottleneckBlock, dict(BLOCK, intra_bottleneck_size=H // 2, **flags), (X, MASK),
                   ((2, 5, H), (2, 2, 5, 5)), tmp_path, variable_length=True)


def test_rematerialized_block_checks(tmp_path):
    # created inside a RematScope, the block recomputes itself in the backward pass (arlm/layers/remat.py)
    def scope():
        return keras.RematScope(mode="list_of_layers", layer_names=["remat_block"])

    run_layer_test(BottleneckBlock, dict(BLOCK, intra_bottleneck_size=H // 2, name="remat_block"), (X, MASK),
                   ((2, 5, H), (2, 2, 5, 5)), tmp_path, scope=scope)


@pytest.mark.filterwarnings("ignore:Gradients do not exist")  # the head reads the table, not the projection
def test_masked_lm_head_checks(tmp_path):
    from arlm.mobilebert import MaskedLMHead

    embedding = TrigramEmbedding(vocab_size=V, embedding_size=E, hidden_size=H)
    positions = np.array([[1, 2, 0], [0, 0, 3]], "int32")
    run_layer_test(MaskedLMHead, dict(token_embedding=embedding, hidden_size=H), (X, positions), (2, 3, V), tmp_path)


def test_crf_checks(tmp_path):
    from arlm.mobilebert import CRF

    run_layer_test(CRF, {"num_labels": 3}, (X[..., :3],), (2, 5, 3), tmp_path, variable_length=True,
                   run_training_check=False)
