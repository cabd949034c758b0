"""Multi-head self-attention that returns MobileBERT's masked logits as the attention map (spec 1.4, steps 3-5)."""

import keras
from keras import ops

from arlm.layers.activations import initializer

MASKED_LOGIT = -6.0  # quantization-friendly masking of the official code (not -inf)


def masked_logits(query, key, padding_mask):
    """$s_{h,i,j} = \\langle q_{h,i}, k_{h,j}\\rangle/\\sqrt d$, then $s \\leftarrow s\\,m_j - 6(1-m_j)$.

    ``query``/``key`` are [b, T, N, d]; ``padding_mask`` is [b, T] (1 = real token). Returns [b, N, T, T] in
    float32 whatever the inputs' dtype, the product included: a score rounded to bfloat16 is off by up to
    $|s|/256$, which at large scores moved the softmax enough to blow up fine-tuning at a high rate (the cpu
    student's POS tagger diverged in 3 of 3 seeds under ``mixed_bfloat16``, in none with this product in
    float32). A masked key keeps about $e^{-6}$ of relative mass instead of none.
    """
    depth = ops.shape(query)[-1]
    query, key = ops.cast(query, "float32"), ops.cast(key, "float32")
    scores = ops.einsum("bind,bjnd->bnij", query, key) / ops.sqrt(ops.cast(depth, "float32"))
    mask = ops.cast(padding_mask, "float32")[:, None, None, :]
    return scores * mask + MASKED_LOGIT * (1.0 - mask)


@keras.saving.register_keras_serializable(package="arlm")
class MaskedSelfAttention(keras.layers.Layer):
    """Q, K, V projections to width B in N heads; returns the context [b, T, B] and the masked logits [b, N, T, T].

    $P = \\mathrm{softmax}_j(s)$ (then attention dropout) and $C = PV$. The output projection and the residual
    belong to the block. Q and K read ``query_input``; V reads ``value_input`` (they differ in the
    key/query-shared bottleneck). The logits ($QK^\\top$ included), the softmax and its dropout are float32 in every
    dtype policy; under ``mixed_bfloat16`` the projections and $PV$ run in bfloat16. The inputs are [b, T, W] or
    the same rows flattened to [b T, W] (as a block keeps them: oneDNN then fuses each projection's bias into its
    matmul); the context comes back in the inputs' shape.

    >>> attention = MaskedSelfAttention(num_heads=2, attention_size=8)
    >>> x = keras.ops.ones((1, 5, 8))
    >>> context, logits = attention(x, x, keras.ops.ones((1, 5)))
    >>> context.shape, logits.shape
    ((1, 5, 8), (1, 2, 5, 5))
    """

    def __init__(self, num_heads, attention_size, attention_dropout=0.0, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.attention_size = attention_size
        self.attention_dropout = attention_dropout
        self.initializer_range = initializer_range
        dense = lambda name: keras.layers.Dense(  # noqa: E731
            attention_size, kernel_initializer=initializer(initializer_range), name=name, dtype=self.dtype_policy)
        self.query_dense, self.key_dense, self.value_dense = dense("query"), dense("key"), dense("value")
        # float32 like the softmax it follows (and as fast: TF draws bfloat16 uniforms more slowly than float32)
        self.dropout = keras.layers.Dropout(attention_dropout, dtype="float32")

    def build(self, query_input_shape, value_input_shape, padding_mask_shape=None):
        self.query_dense.build(query_input_shape)
        self.key_dense.build(query_input_shape)
        self.value_dense.build(value_input_shape)

    def _heads(self, x, batch, length):
        return ops.reshape(x, (batch, length, self.num_heads, self.attention_size // self.num_heads))

    def call(self, query_input, value_input, padding_mask, training=None):
        batch, length = ops.shape(padding_mask)[0], ops.shape(padding_mask)[1]
        query = self._heads(self.query_dense(query_input), batch, length)
        key = self._heads(self.key_dense(query_input), batch, length)
        value = self._heads(self.value_dense(value_input), batch, length)
        logits = masked_logits(query, key, padding_mask)
        probs = self.dropout(ops.softmax(logits, axis=-1), training=training)
        context = ops.einsum("bnij,bjnd->bind", ops.cast(probs, value.dtype), value)
        return ops.reshape(context, (*ops.shape(query_input)[:-1], self.attention_size)), logits

    def compute_output_shape(self, query_input_shape, value_input_shape, padding_mask_shape=None):
        batch, length = query_input_shape[0], query_input_shape[1]
        return (batch, length, self.attention_size), (batch, self.num_heads, length, length)

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "attention_size": self.attention_size,
                "attention_dropout": self.attention_dropout, "initializer_range": self.initializer_range}
