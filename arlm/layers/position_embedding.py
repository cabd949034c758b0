"""Learned absolute position embeddings (spec 1.3, step 4)."""

import keras
from keras import ops

from arlm.layers.activations import initializer


@keras.saving.register_keras_serializable(package="arlm")
class PositionEmbedding(keras.layers.Layer):
    """Rows $P[0..T-1]$ of a learned table $P \\in R^{P_{max} \\times H}$, broadcast over the batch.

    >>> PositionEmbedding(max_positions=16)(keras.ops.zeros((2, 5, 8))).shape
    (2, 5, 8)
    """

    def __init__(self, max_positions, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.max_positions = max_positions
        self.initializer_range = initializer_range

    def build(self, input_shape):
        self.embeddings = self.add_weight(shape=(self.max_positions, input_shape[-1]),
                                          initializer=initializer(self.initializer_range), name="embeddings")

    def call(self, inputs):
        length = ops.shape(inputs)[1]
        table = ops.cast(self.embeddings[:length], inputs.dtype)
        return ops.broadcast_to(table[None], ops.shape(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_positions": self.max_positions,
                "initializer_range": self.initializer_range}
