"""The names that the config, the layers, the models and the on-device path agree on (no Keras, no TensorFlow).

One place for them, so that `arlm.preprocessing` and `arlm.predict` use them without importing Keras, the
configuration (`arlm.mobilebert.config`, plain data) without importing a layer, and `arlm.layers` without importing
`arlm.mobilebert`.

>>> INPUT_NAMES
('token_ids', 'segment_ids', 'padding_mask')
"""

# the inputs of every backbone and task model of this book, and of its TFLite files, in this order
INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask")

# the official `modeling.py`'s `hidden_act` values ("gelu" is its tanh approximation)
ACTIVATIONS = ("gelu", "relu", "relu6", "tanh", "linear")

# the official `normalization_type` values: LayerNorm (eps 1e-12), MobileBERT's NoNorm, the "manual" LayerNorm
NORMALIZATION_TYPES = ("layer_norm", "no_norm", "manual_layer_norm")
