"""Span QA on a MobileBERT backbone: start and end logits over the positions (spec 5.3).

(start, end) logits = Y W_qaᵀ + b, W_qa ∈ R^{2×H}; loss = (CE_start + CE_end) / 2. A keras-hub `Task` without a
preprocessor (its windows come from `arlm.preprocessing.qa`); it saves and loads as a keras-hub preset
(`save_to_preset`, `from_preset`) and as a ``.keras`` file (`arlm.saving.save_model`, `arlm.saving.load_model`).

>>> qa = SpanQA(backbone, max_seq_length=384)                        # doctest: +SKIP
"""

import keras
import keras_hub

from arlm.layers.activations import initializer
from arlm.mobilebert.backbone import MobileBertBackbone
from arlm.mobilebert.preset_methods import PresetMethods
from arlm.mobilebert.token_tagger import task_inputs


@keras.saving.register_keras_serializable(package="arlm")
class SpanQA(PresetMethods, keras_hub.models.Task):
    """Backbone + dense(2): start and end logits over positions (spec 5.3).

    Inputs as the backbone's; outputs a dict ``{"start_logits", "end_logits"}``, each [batch, T]. The dense
    kernel starts from the backbone's ``initializer_range``; `span_loss` is the paper's loss.

    Args:
        backbone (MobileBertBackbone): maps the three inputs to a dict with ``sequence_output``.
        max_seq_length (int | None): static input length (None: variable; 384 in the paper).
        compile (bool): keras-hub's compile at construction, off: compile with `span_loss` and the paper's
            optimizer (`arlm.tasks.finetune.optimizer`).
        **kwargs: Keras' ``name`` and ``trainable``.

    Example:

    >>> qa = SpanQA(MobileBertBackbone.from_preset("student_preset"), max_seq_length=384)  # doctest: +SKIP
    >>> tiny = SpanQA(MobileBertBackbone(vocab_size=10, hidden_size=8, num_layers=1, num_heads=2,
    ...                                  intermediate_size=16))
    >>> out = tiny({"token_ids": keras.ops.ones((2, 5), "int32"), "segment_ids": keras.ops.zeros((2, 5), "int32"),
    ...             "padding_mask": keras.ops.ones((2, 5), "int32")})
    >>> out["start_logits"].shape, out["end_logits"].shape
    ((2, 5), (2, 5))
    """

    backbone_cls = MobileBertBackbone

    def __init__(self, backbone, max_seq_length=None, compile=False, **kwargs):
        # === Layers ===
        self.backbone = backbone
        self.span_dense = keras.layers.Dense(2, kernel_initializer=initializer(backbone.config.initializer_range),
                                             name="span_logits", dtype=backbone.dtype_policy)
        # === Functional model ===
        inputs = task_inputs(max_seq_length)
        logits = self.span_dense(backbone(inputs)["sequence_output"])
        outputs = {"start_logits": logits[..., 0], "end_logits": logits[..., 1]}
        super().__init__(inputs=inputs, outputs=outputs, compile=compile, **kwargs)
        # === Config ===
        self.max_seq_length = max_seq_length

    @staticmethod
    def span_loss():
        """The spec's loss for ``compile(loss=..., loss_weights=...)``: (CE_start + CE_end) / 2."""
        ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return {"start_logits": ce, "end_logits": ce}, {"start_logits": 0.5, "end_logits": 0.5}

    def get_config(self):
        config = super().get_config()
        config.pop("preprocessor")  # none: the inputs come encoded
        return {**config, "max_seq_length": self.max_seq_length}
