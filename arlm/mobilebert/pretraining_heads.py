"""Pretraining heads: masked-LM over the gathered masked positions, and next-sentence prediction (spec 1.5)."""

import keras
from keras import ops

from arlm.layers.activations import get_activation, initializer


def gather_positions(sequence, positions):
    """Rows ``sequence[b, positions[b, i]]``: [b, T, H] and [b, P] -> [b, P, H]."""
    return ops.take_along_axis(sequence, ops.cast(positions, "int32")[:, :, None], axis=1)


@keras.saving.register_keras_serializable(package="arlm")
class MaskedLMHead(keras.layers.Layer):
    """$g = \\mathrm{LayerNorm}(\\varphi(y W_t + b_t))$, logits $= g\\,[W_{word}\\,|\\,W_{extra}]^\\top + b_V$.

    Applied only at the gathered ``mask_positions`` (``run_pretraining.py:get_logits``), so the V-wide
    matmul costs P rows per sequence instead of T. The LayerNorm is always a real one (eps 1e-12), even
    for NoNorm students. The output weights are tied to the V x E word embedding; ``extra_output_weights``
    ($V \\times (H-E)$) fill the rest of the H columns and exist only when H != E.

    The tied embedding is part of the config (serialised as a layer, as keras-hub's `MaskedLMHead` does), so
    ``MaskedLMHead.from_config(head.get_config())`` gives a head with a table of its own; inside a
    `MobileBertPretrainer` the head is built around the backbone's embedding again, so the weights stay shared.

    Args:
        token_embedding (TrigramEmbedding): the backbone's word embedding (its table is the tied output matrix).
        hidden_size (int): H, the width of the sequence output.
        hidden_act (str): the transform's activation (`arlm.names.ACTIVATIONS`).
        initializer_range (float): sigma of the truncated-normal initializer of the transform and extra weights.

    >>> from arlm.layers import TrigramEmbedding
    >>> embedding = TrigramEmbedding(vocab_size=10, embedding_size=4, hidden_size=8)
    >>> head = MaskedLMHead(embedding, hidden_size=8)
    >>> head(keras.ops.ones((2, 5, 8)), keras.ops.zeros((2, 3), "int32")).shape       # [b, P, V]
    (2, 3, 10)
    """

    def __init__(self, token_embedding, hidden_size, hidden_act="gelu", initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.token_embedding = token_embedding
        self.hidden_size = hidden_size
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.activation = get_activation(hidden_act)
        self.vocab_size = token_embedding.vocab_size
        self.embedding_size = token_embedding.embedding_size
        self.transform = keras.layers.Dense(hidden_size, kernel_initializer=initializer(initializer_range),
                                            name="transform", dtype=self.dtype_policy)
        self.transform_norm = keras.layers.LayerNormalization(epsilon=1e-12, name="transform_norm",
                                                              dtype=self.dtype_policy)

    def build(self, sequence_shape, positions_shape=None):
        if not self.token_embedding.built:  # a head of its own (from_config); in a model the backbone built it
            self.token_embedding.build((None, None))
        self.transform.build((None, None, self.hidden_size))
        self.transform_norm.build((None, None, self.hidden_size))
        self.extra_output_weights = None
        if self.hidden_size != self.embedding_size:
            self.extra_output_weights = self.add_weight(
                shape=(self.vocab_size, self.hidden_size - self.embedding_size),
                initializer=initializer(self.initializer_range), name="extra_output_weights")
        self.output_bias = self.add_weight(shape=(self.vocab_size,), initializer="zeros", name="output_bias")

    def output_weights(self):
        """The V x H output matrix $[W_{word}\\,|\\,W_{extra}]$."""
        table = self.token_embedding.embeddings
        if self.extra_output_weights is None:
            return table
        return ops.concatenate([table, self.extra_output_weights], axis=1)

    def call(self, sequence, positions):
        g = self.transform_norm(self.activation(self.transform(gather_positions(sequence, positions))))
        weights = ops.cast(self.output_weights(), g.dtype)
        return ops.matmul(g, ops.transpose(weights)) + ops.cast(self.output_bias, g.dtype)

    def compute_output_shape(self, sequence_shape, positions_shape):
        return (*positions_shape, self.vocab_size)

    def get_config(self):
        return {**super().get_config(), "token_embedding": keras.layers.serialize(self.token_embedding),
                "hidden_size": self.hidden_size, "hidden_act": self.hidden_act,
                "initializer_range": self.initializer_range}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["token_embedding"] = keras.layers.deserialize(config["token_embedding"])
        return cls(**config)


def nsp_head(initializer_range=0.02, dtype=None):
    """Next-sentence logits $p W_{nsp}^\\top + b_{nsp}$, $W_{nsp} \\in R^{2 \\times H}$ (label 0 = real next)."""
    return keras.layers.Dense(2, kernel_initializer=initializer(initializer_range), name="nsp_head", dtype=dtype)
