"""The PoS tagger on a MobileBERT backbone: a tag per position, softmax or CRF (spec 5.2).

A keras-hub `Task` without a preprocessor (its inputs come from `arlm.preprocessing.tagging`, first word piece of
each word labelled): a functional model built around any backbone that maps the inputs ``token_ids``,
``segment_ids``, ``padding_mask`` to a dict holding ``sequence_output``.

Tagger: logits = Dropout_0.1(Y) W_tᵀ + b_t on every position. With ``crf=True`` a linear-chain CRF with a learned
transition matrix A (Xavier init, as ``run_pos.py --crf``) scores a tag path y by

$$s(y) = \\sum_t \\text{logits}_{t, y_t} + \\sum_{t>0} A_{y_{t-1}, y_t}, \\qquad
\\mathcal{L} = -\\big(s(y) - \\log \\textstyle\\sum_{y'} e^{s(y')}\\big)$$

the partition sum by the forward algorithm (`keras.ops.scan`), decoding by Viterbi (`viterbi_decode`). Without the
CRF the loss is the mean softmax cross-entropy over non-padding positions.

It saves and loads as a keras-hub preset (`save_to_preset`, `from_preset`) and as a ``.keras`` file
(`arlm.saving.save_model`, `arlm.saving.load_model`).

>>> tagger = TokenTagger(backbone, num_labels=19, crf=True)        # doctest: +SKIP
"""

import keras
import keras_hub
import numpy as np
from keras import ops

from arlm import runtime
from arlm.layers.activations import initializer
from arlm.mobilebert.backbone import MobileBertBackbone
from arlm.mobilebert.preset_methods import PresetMethods
from arlm.names import INPUT_NAMES


def task_inputs(max_seq_length):
    """The backbone's three inputs as `keras.Input`s of a static length (None: variable)."""
    return {name: keras.Input(shape=(max_seq_length,), dtype="int32", name=name) for name in INPUT_NAMES}


@keras.saving.register_keras_serializable(package="arlm")
class CRF(keras.layers.Layer):
    """A linear-chain CRF's transition matrix A[i, j] (score of tag j after tag i); passes emissions through.

    The layer only owns A: the tagger's loss uses `crf_log_likelihood(emissions, tags, mask, layer.transitions)`.

    Args:
        num_labels (int): tags (A is num_labels x num_labels).
        **kwargs: Keras' ``name`` and ``dtype``.

    >>> crf = CRF(19); emissions = crf(logits)          # doctest: +SKIP
    """

    def __init__(self, num_labels, **kwargs):
        super().__init__(**kwargs)
        self.num_labels = num_labels

    def build(self, input_shape):
        self.transitions = self.add_weight(
            name="transitions", shape=(self.num_labels, self.num_labels), initializer="glorot_uniform"
        )

    def call(self, emissions):
        return emissions

    def get_config(self):
        return {**super().get_config(), "num_labels": self.num_labels}


def crf_log_likelihood(emissions, tags, mask, transitions):
    """log p(tags | emissions) per sequence, [B]; `mask` [B, T] marks real positions (a prefix, position 0 real)."""
    emissions = ops.cast(emissions, "float32")
    mask = ops.cast(mask, "float32")
    tags = ops.cast(tags, "int32")
    num_labels = ops.shape(transitions)[0]
    gold_emit = ops.squeeze(ops.take_along_axis(emissions, tags[..., None], axis=-1), -1)
    emit_score = ops.sum(gold_emit * mask, axis=1)
    pair_index = tags[:, :-1] * num_labels + tags[:, 1:]
    trans_score = ops.sum(ops.take(ops.reshape(transitions, (-1,)), pair_index) * mask[:, 1:], axis=1)

    def step(alpha, inputs):
        emit_t, mask_t = inputs
        forward = ops.logsumexp(alpha[:, :, None] + transitions[None], axis=1) + emit_t
        alpha = ops.where(mask_t[:, None] > 0, forward, alpha)
        return alpha, alpha  # the TF backend wants ys shaped like the carry

    alpha = emissions[:, 0]
    if emissions.shape[1] is not None:
        # a static length (the taggers of this book have one): unrolled, because XLA cannot differentiate
        # TensorFlow's while loop (jit_compile=True on the TF backend)
        for t in range(1, emissions.shape[1]):
            alpha, _ = step(alpha, (emissions[:, t], mask[:, t]))
    else:
        steps = (ops.transpose(emissions[:, 1:], (1, 0, 2)), ops.transpose(mask[:, 1:], (1, 0)))
        alpha, _ = ops.scan(step, alpha, steps)
    return emit_score + trans_score - ops.logsumexp(alpha, axis=1)


def viterbi_decode(emissions, transitions, length):
    """The best tag path (NumPy) of one sequence's first `length` positions."""
    emissions, transitions = np.asarray(emissions, np.float64)[:length], np.asarray(transitions, np.float64)
    score, back = emissions[0], []
    for t in range(1, length):
        total = score[:, None] + transitions
        back.append(total.argmax(0))
        score = total.max(0) + emissions[t]
    path = [int(score.argmax())]
    for pointers in reversed(back):
        path.append(int(pointers[path[-1]]))
    return path[::-1]


def masked_cross_entropy(labels, logits, mask):
    """Mean softmax cross-entropy over the positions where `mask` is 1."""
    mask = ops.cast(mask, "float32")
    losses = keras.losses.sparse_categorical_crossentropy(labels, ops.cast(logits, "float32"), from_logits=True)
    return ops.sum(losses * mask) / ops.maximum(ops.sum(mask), 1.0)


@keras.saving.register_keras_serializable(package="arlm")
class TokenTagger(PresetMethods, keras_hub.models.Task):
    """Backbone + dropout + dense tag logits per position, optionally with a CRF (spec 5.2).

    Inputs as the backbone's; output the tag logits [batch, T, num_labels] (the CRF's emissions with ``crf``).
    The dense kernel starts from the backbone's ``initializer_range``.

    Args:
        backbone (MobileBertBackbone): maps the three inputs to a dict with ``sequence_output``.
        num_labels (int): size of the label list (19 for the paper's PADT list).
        crf (bool): train with the CRF log-likelihood (the authors' script default) instead of softmax CE.
        dropout (float): on the sequence output (0.1).
        max_seq_length (int | None): static input length (None: variable).
        compile (bool): keras-hub's compile at construction, off: compile with the paper's optimizer
            (`arlm.tasks.finetune.optimizer`).
        **kwargs: Keras' ``name`` and ``trainable``.

    Example:

    >>> backbone = MobileBertBackbone.from_preset("student_preset")              # doctest: +SKIP
    >>> tagger = TokenTagger(backbone, num_labels=19, crf=True, max_seq_length=128)  # doctest: +SKIP
    >>> tiny = TokenTagger(MobileBertBackbone(vocab_size=10, hidden_size=8, num_layers=1, num_heads=2,
    ...                                       intermediate_size=16), num_labels=4)
    >>> tiny({"token_ids": keras.ops.ones((2, 5), "int32"), "segment_ids": keras.ops.zeros((2, 5), "int32"),
    ...       "padding_mask": keras.ops.ones((2, 5), "int32")}).shape
    (2, 5, 4)
    """

    backbone_cls = MobileBertBackbone
    head_arguments = ("num_labels", "crf")

    def __init__(self, backbone, num_labels, crf=False, dropout=0.1, max_seq_length=None, compile=False, **kwargs):
        # === Layers ===
        policy = backbone.dtype_policy
        self.backbone = backbone
        self.dropout_layer = keras.layers.Dropout(dropout, name="tag_dropout", dtype=policy)
        self.tag_dense = keras.layers.Dense(num_labels, kernel_initializer=initializer(
            backbone.config.initializer_range), name="tag_logits", dtype=policy)
        self.crf_layer = CRF(num_labels, name="crf", dtype=policy) if crf else None
        # === Functional model ===
        inputs = task_inputs(max_seq_length)
        logits = self.tag_dense(self.dropout_layer(backbone(inputs)["sequence_output"]))
        if self.crf_layer is not None:
            logits = self.crf_layer(logits)
        super().__init__(inputs=inputs, outputs=logits, compile=compile, **kwargs)
        # === Config ===
        self.num_labels, self.crf, self.dropout, self.max_seq_length = num_labels, crf, dropout, max_seq_length

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        mask = x["padding_mask"]
        if self.crf_layer is not None:
            loss = -ops.mean(crf_log_likelihood(y_pred, y, mask, self.crf_layer.transitions))
        else:
            loss = masked_cross_entropy(y, y_pred, mask)
        return runtime.scale_loss(loss + ops.sum(self.losses) if self.losses else loss)

    def crf_transitions(self):
        return None if self.crf_layer is None else keras.ops.convert_to_numpy(self.crf_layer.transitions)

    def get_config(self):
        config = super().get_config()
        config.pop("preprocessor")  # none: the inputs come encoded
        return {**config, "num_labels": self.num_labels, "crf": self.crf, "dropout": self.dropout,
                "max_seq_length": self.max_seq_length}
