"""MobileBERT's NoNorm and the norm factory used by every block (spec 1.1, 1.4)."""

import keras

from arlm.errors import ParameterError
from arlm.names import NORMALIZATION_TYPES


@keras.saving.register_keras_serializable(package="arlm")
class NoNorm(keras.layers.Layer):
    """Element-wise affine map $\\mathrm{NoNorm}(x) = \\gamma \\odot x + \\beta$ (MobileBERT's ``FakeLayerNorm``).

    Replaces LayerNorm in the student: no statistics over the hidden axis, so it folds into the preceding
    dense layer and quantizes well. $\\gamma$ starts at 1, $\\beta$ at 0.

    >>> NoNorm()(keras.ops.ones((2, 3, 4))).shape
    (2, 3, 4)
    """

    def build(self, input_shape):
        width = input_shape[-1]
        self.gamma = self.add_weight(shape=(width,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(width,), initializer="zeros", name="beta")

    def call(self, inputs):
        return inputs * keras.ops.cast(self.gamma, inputs.dtype) + keras.ops.cast(self.beta, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape


def make_norm(normalization_type, name, dtype=None):
    """The norm of a block: LayerNorm (eps 1e-12), NoNorm, or the official "manual" LayerNorm (eps 1e-6).

    Every norm's name contains ``norm``: the optimizers skip weight decay and the trust ratio for such variables.
    """
    if normalization_type == "layer_norm":
        return keras.layers.LayerNormalization(epsilon=1e-12, name=name, dtype=dtype)
    if normalization_type == "manual_layer_norm":
        return keras.layers.LayerNormalization(epsilon=1e-6, name=name, dtype=dtype)
    if normalization_type == "no_norm":
        return NoNorm(name=name, dtype=dtype)
    raise ParameterError(f"normalization_type must be one of {', '.join(NORMALIZATION_TYPES)}, "
                         f"got {normalization_type!r}")
