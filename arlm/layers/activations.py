"""The FFN activations of the official `modeling.py` by name (spec 1.1 ``hidden_act``)."""

import keras

from arlm.errors import ParameterError
from arlm.names import ACTIVATIONS


def get_activation(name):
    """``gelu`` is BERT's tanh approximation; the others are Keras' functions of the same name."""
    if name == "gelu":
        return lambda x: keras.activations.gelu(x, approximate=True)
    if name in ACTIVATIONS:
        return keras.activations.get(name)
    raise ParameterError(f"hidden_act must be one of {', '.join(ACTIVATIONS)}, got {name!r}")


def initializer(stddev=0.02):
    """Every kernel and embedding: truncated normal with sigma 0.02, cut at 2 sigma (spec 1.5)."""
    return keras.initializers.TruncatedNormal(stddev=stddev)
