"""The plain post-LN BERT block (AraBERT-base baseline; spec 1.4, last part)."""

import keras

from arlm.layers.activations import get_activation, initializer
from arlm.layers.attention import MaskedSelfAttention
from arlm.layers.no_norm import make_norm
from arlm.layers.remat import RecomputedBlock


@keras.saving.register_keras_serializable(package="arlm")
class BertBlock(RecomputedBlock, keras.layers.Layer):
    """$A = \\mathrm{LN}(\\mathrm{Drop}(\\mathrm{MHA}(X) W_o + b) + X)$,
    $Y = \\mathrm{LN}(\\mathrm{Drop}(\\varphi(A W_1 + b_1) W_2 + b_2) + A)$; returns ``(Y, attention_logits)``.

    The attention logits use the same -6 masking as the bottleneck block (as when BERT runs through
    MobileBERT's ``modeling.py``).

    >>> block = BertBlock(hidden_size=8, num_heads=2, intermediate_size=16)
    >>> y, logits = block(keras.ops.ones((1, 5, 8)), keras.ops.ones((1, 5)))
    >>> y.shape, logits.shape
    ((1, 5, 8), (1, 2, 5, 5))
    """

    def __init__(self, hidden_size, num_heads, intermediate_size, hidden_act="gelu", hidden_dropout=0.1,
                 attention_dropout=0.1, normalization_type="layer_norm", initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.num_heads = num_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout = hidden_dropout
        self.attention_dropout = attention_dropout
        self.normalization_type = normalization_type
        self.initializer_range = initializer_range
        self.activation = get_activation(hidden_act)

        policy = self.dtype_policy
        dense = lambda width, name: keras.layers.Dense(  # noqa: E731
            width, kernel_initializer=initializer(initializer_range), name=name, dtype=policy)
        # layers
        self.attention = MaskedSelfAttention(num_heads, hidden_size, attention_dropout, initializer_range,
                                             name="attention", dtype=policy)
        self.attention_output = dense(hidden_size, "attention_output")
        self.attention_dropout_layer = keras.layers.Dropout(hidden_dropout, dtype=policy)
        self.attention_norm = make_norm(normalization_type, "attention_output_norm", dtype=policy)
        self.ffn_intermediate = dense(intermediate_size, "ffn_intermediate")
        self.ffn_output = dense(hidden_size, "ffn_output")
        self.ffn_dropout = keras.layers.Dropout(hidden_dropout, dtype=policy)
        self.ffn_norm = make_norm(normalization_type, "ffn_norm", dtype=policy)

    def build(self, x_shape, padding_mask_shape=None):
        wide = (None, None, self.hidden_size)
        self.attention.build(wide, wide)
        self.attention_output.build(wide)
        self.attention_norm.build(wide)
        self.ffn_intermediate.build(wide)
        self.ffn_output.build((None, None, self.intermediate_size))
        self.ffn_norm.build(wide)

    def call(self, x, padding_mask, training=None):
        context, logits = self.attention(x, x, padding_mask, training=training)
        a = self.attention_norm(self.attention_dropout_layer(self.attention_output(context), training=training) + x)
        h = self.ffn_output(self.activation(self.ffn_intermediate(a)))
        y = self.ffn_norm(self.ffn_dropout(h, training=training) + a)
        return y, logits

    def compute_output_shape(self, x_shape, padding_mask_shape=None):
        batch, length = x_shape[0], x_shape[1]
        return (batch, length, self.hidden_size), (batch, self.num_heads, length, length)

    def get_config(self):
        return {**super().get_config(), "hidden_size": self.hidden_size, "num_heads": self.num_heads,
                "intermediate_size": self.intermediate_size, "hidden_act": self.hidden_act,
                "hidden_dropout": self.hidden_dropout, "attention_dropout": self.attention_dropout,
                "normalization_type": self.normalization_type, "initializer_range": self.initializer_range}
