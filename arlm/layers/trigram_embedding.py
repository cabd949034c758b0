"""The factorized trigram word embedding of MobileBERT (spec 1.3, steps 1-3)."""

import keras
from keras import ops

from arlm.layers.activations import initializer


def trigram(embeddings):
    """$\\tilde e_t = [e_{t+1};\\ e_t;\\ e_{t-1}]$ with zero vectors beyond both ends (over the padded length)."""
    pad_end = ops.pad(embeddings[:, 1:], [[0, 0], [0, 1], [0, 0]])
    pad_start = ops.pad(embeddings[:, :-1], [[0, 0], [1, 0], [0, 0]])
    return ops.concatenate([pad_end, embeddings, pad_start], axis=-1)


@keras.saving.register_keras_serializable(package="arlm")
class TrigramEmbedding(keras.layers.Layer):
    """Width-E word embedding, then $h_t = [e_{t+1}; e_t; e_{t-1}]\\, W_{et} + b_{et}$ (trigram, 3E -> H).

    The projection is a width-3 1-D convolution with "same" zero padding over the E-wide embeddings; it lets
    a narrow table (V x E, E = 128) feed an H-wide model. Without ``trigram_input`` the projection is a
    plain E -> H dense layer, and it is absent when E = H (BERT). Position and segment embeddings are added
    by the backbone.

    Args:
        vocab_size: V, rows of the table (``token_embedding.embeddings``, tied to the MLM output).
        embedding_size: E.
        hidden_size: H, the output width.
        trigram_input: concatenate the neighbours' embeddings before the projection.

    >>> layer = TrigramEmbedding(vocab_size=10, embedding_size=4, hidden_size=8)
    >>> layer(keras.ops.ones((2, 5), "int32")).shape
    (2, 5, 8)
    """

    def __init__(self, vocab_size, embedding_size, hidden_size, trigram_input=True, initializer_range=0.02,
                 **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
        self.hidden_size = hidden_size
        self.trigram_input = trigram_input
        self.initializer_range = initializer_range
        self.token_embedding = keras.layers.Embedding(
            vocab_size, embedding_size, embeddings_initializer=initializer(initializer_range),
            name="token_embedding", dtype=self.dtype_policy)
        self.projection = None
        if trigram_input or embedding_size != hidden_size:
            self.projection = keras.layers.Dense(
                hidden_size, kernel_initializer=initializer(initializer_range),
                name="embedding_transformation", dtype=self.dtype_policy)

    def build(self, input_shape):
        self.token_embedding.build(input_shape)
        if self.projection is not None:
            self.projection.build((None, None, self.embedding_size * (3 if self.trigram_input else 1)))

    @property
    def embeddings(self):
        """The V x E table (tied to the MLM output layer)."""
        return self.token_embedding.embeddings

    def project(self, embeddings):
        """The trigram concatenation and the projection, from E-wide embeddings [b, T, E] to [b, T, H]."""
        if self.trigram_input:
            embeddings = trigram(embeddings)
        return embeddings if self.projection is None else self.projection(embeddings)

    def call(self, token_ids):
        return self.project(self.token_embedding(token_ids))

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.hidden_size)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "embedding_size": self.embedding_size,
                "hidden_size": self.hidden_size, "trigram_input": self.trigram_input,
                "initializer_range": self.initializer_range}
