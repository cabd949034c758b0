"""One MobileBERT / IB-BERT block with its inverted bottleneck (spec 1.4)."""

import keras
from keras import ops

from arlm.layers.activations import get_activation, initializer
from arlm.layers.attention import MaskedSelfAttention
from arlm.layers.no_norm import make_norm
from arlm.layers.remat import RecomputedBlock


@keras.saving.register_keras_serializable(package="arlm")
class BottleneckBlock(RecomputedBlock, keras.layers.Layer):
    """A block that works at width B inside and H outside (spec 1.4), returning ``(Y, attention_logits)``.

    1. $Z = \\mathrm{Norm}(X W_{in} + b_{in})$ (H -> B);
    2. Q, K, V sources: all $Z$ (``use_bottleneck_attention``); Q = K = $\\mathrm{Norm}(X W_s + b_s)$ and V = X
       (``key_query_shared_bottleneck``); else all X;
    3. $A = \\mathrm{Norm}(C W_o + b_o + Z)$ with C the attention context (masked logits, -6 for padding);
    4. n times: $A \\leftarrow \\mathrm{Norm}(\\varphi(A W_1 + b_1) W_2 + b_2 + A)$;
    5. $Y = \\mathrm{Norm}(\\mathrm{Dropout}(A W_{ob} + b_{ob}) + X)$ (B -> H).

    Only the output bottleneck and the attention probabilities have dropout, as in the official code.

    Args:
        hidden_size: H. intra_bottleneck_size: B. num_heads: N (head width B / N).
        intermediate_size: F. hidden_act: FFN activation name. num_feedforward_networks: n.
        normalization_type: ``layer_norm`` | ``no_norm`` | ``manual_layer_norm``.

    >>> block = BottleneckBlock(hidden_size=8, intra_bottleneck_size=4, num_heads=2, intermediate_size=16)
    >>> y, logits = block(keras.ops.ones((1, 5, 8)), keras.ops.ones((1, 5)))
    >>> y.shape, logits.shape
    ((1, 5, 8), (1, 2, 5, 5))
    """

    def __init__(self, hidden_size, intra_bottleneck_size, num_heads, intermediate_size, hidden_act="gelu",
                 hidden_dropout=0.1, attention_dropout=0.1, use_bottleneck_attention=False,
                 key_query_shared_bottleneck=False, num_feedforward_networks=1, normalization_type="layer_norm",
                 initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.intra_bottleneck_size = intra_bottleneck_size
        self.num_heads = num_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout = hidden_dropout
        self.attention_dropout = attention_dropout
        self.use_bottleneck_attention = use_bottleneck_attention
        self.key_query_shared_bottleneck = key_query_shared_bottleneck
        self.num_feedforward_networks = num_feedforward_networks
        self.normalization_type = normalization_type
        self.initializer_range = initializer_range
        self.activation = get_activation(hidden_act)

        policy = self.dtype_policy
        dense = lambda width, name: keras.layers.Dense(  # noqa: E731
            width, kernel_initializer=initializer(initializer_range), name=name, dtype=policy)
        norm = lambda name: make_norm(normalization_type, name, dtype=policy)  # noqa: E731
        # layers
        self.input_bottleneck = dense(intra_bottleneck_size, "input_bottleneck")
        self.input_bottleneck_norm = norm("input_bottleneck_norm")
        self.shared_bottleneck = self.shared_bottleneck_norm = None
        if key_query_shared_bottleneck and not use_bottleneck_attention:
            self.shared_bottleneck = dense(intra_bottleneck_size, "shared_bottleneck")
            self.shared_bottleneck_norm = norm("shared_bottleneck_norm")
        self.attention = MaskedSelfAttention(num_heads, intra_bottleneck_size, attention_dropout,
                                             initializer_range, name="attention", dtype=policy)
        self.attention_output = dense(intra_bottleneck_size, "attention_output")
        self.attention_norm = norm("attention_output_norm")
        self.ffn_intermediate = [dense(intermediate_size, f"ffn_{i}_intermediate")
                                 for i in range(num_feedforward_networks)]
        self.ffn_output = [dense(intra_bottleneck_size, f"ffn_{i}_output") for i in range(num_feedforward_networks)]
        self.ffn_norm = [norm(f"ffn_{i}_norm") for i in range(num_feedforward_networks)]
        self.output_bottleneck = dense(hidden_size, "output_bottleneck")
        self.output_dropout = keras.layers.Dropout(hidden_dropout, dtype=policy)
        self.output_norm = norm("output_bottleneck_norm")

    def build(self, x_shape, padding_mask_shape=None):
        wide = (None, None, self.hidden_size)
        narrow = (None, None, self.intra_bottleneck_size)
        self.input_bottleneck.build(wide)
        self.input_bottleneck_norm.build(narrow)
        if self.shared_bottleneck is not None:
            self.shared_bottleneck.build(wide)
            self.shared_bottleneck_norm.build(narrow)
        query_shape = narrow if self.use_bottleneck_attention or self.shared_bottleneck is not None else wide
        value_shape = narrow if self.use_bottleneck_attention else wide
        self.attention.build(query_shape, value_shape)
        self.attention_output.build(narrow)
        self.attention_norm.build(narrow)
        for intermediate, output, norm in zip(self.ffn_intermediate, self.ffn_output, self.ffn_norm, strict=True):
            intermediate.build(narrow)
            output.build((None, None, self.intermediate_size))
            norm.build(narrow)
        self.output_bottleneck.build(narrow)
        self.output_norm.build(wide)

    def call(self, x, padding_mask, training=None):
        shape = ops.shape(x)
        # every token a row of one matrix: each dense layer is then one 2-D matmul whose bias (and ReLU) oneDNN
        # fuses into it, instead of a matmul between reshapes followed by separate bias and activation passes
        x = ops.reshape(x, (-1, self.hidden_size))
        z = self.input_bottleneck_norm(self.input_bottleneck(x))
        if self.use_bottleneck_attention:
            query_input, value_input = z, z
        elif self.shared_bottleneck is not None:
            query_input, value_input = self.shared_bottleneck_norm(self.shared_bottleneck(x)), x
        else:
            query_input, value_input = x, x
        context, logits = self.attention(query_input, value_input, padding_mask, training=training)
        a = self.attention_norm(self.attention_output(context) + z)
        for intermediate, output, norm in zip(self.ffn_intermediate, self.ffn_output, self.ffn_norm, strict=True):
            a = norm(output(self.activation(intermediate(a))) + a)
        y = self.output_norm(self.output_dropout(self.output_bottleneck(a), training=training) + x)
        return ops.reshape(y, shape), logits

    def compute_output_shape(self, x_shape, padding_mask_shape=None):
        batch, length = x_shape[0], x_shape[1]
        return (batch, length, self.hidden_size), (batch, self.num_heads, length, length)

    def get_config(self):
        return {**super().get_config(), "hidden_size": self.hidden_size,
                "intra_bottleneck_size": self.intra_bottleneck_size, "num_heads": self.num_heads,
                "intermediate_size": self.intermediate_size, "hidden_act": self.hidden_act,
                "hidden_dropout": self.hidden_dropout, "attention_dropout": self.attention_dropout,
                "use_bottleneck_attention": self.use_bottleneck_attention,
                "key_query_shared_bottleneck": self.key_query_shared_bottleneck,
                "num_feedforward_networks": self.num_feedforward_networks,
                "normalization_type": self.normalization_type, "initializer_range": self.initializer_range}
