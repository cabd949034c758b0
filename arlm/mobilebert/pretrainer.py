"""The teacher's pretraining model: backbone + MLM and NSP heads, with $L = L_{MLM} + L_{NSP}$ (spec 3.1)."""

import keras
import keras_hub
from keras import ops

from arlm import runtime
from arlm.losses import masked_lm_accuracy, masked_lm_loss, next_sentence_loss
from arlm.mobilebert.backbone import MobileBertBackbone
from arlm.mobilebert.preset_methods import PresetMethods
from arlm.mobilebert.pretraining_heads import MaskedLMHead, nsp_head
from arlm.names import INPUT_NAMES


@keras.saving.register_keras_serializable(package="arlm")
class MobileBertPretrainer(PresetMethods, keras_hub.models.Task):
    """A `MobileBertBackbone` with the MLM head (tied to its word embedding) and the NSP head.

    Inputs ``token_ids``, ``segment_ids``, ``padding_mask`` [b, T] and ``mask_positions`` [b, P] (the batches of
    `arlm.pretraining_data.load_dataset`); outputs ``{"mlm_logits": [b, P, V], "nsp_logits": [b, 2]}``.
    `compute_loss` reads ``y = {"masked_lm_ids", "masked_lm_weights", "next_sentence_labels"}`` and returns
    $L = L_{MLM} + L_{NSP}$; ``fit`` also logs ``mlm_loss``, ``nsp_loss``, ``mlm_accuracy`` (over real slots)
    and ``nsp_accuracy``. NSP reads the pooled output, or the raw [CLS] state for students. A keras-hub `Task`
    without a preprocessor (the batches come masked from `arlm.pretraining_data`); saved and loaded as a keras-hub
    preset (`save_to_preset`, `from_preset`) or a ``.keras`` file (`arlm.saving.save_model`).

    Args:
        backbone (MobileBertBackbone): the encoder; the MLM output matrix is its word embedding table.
        compile (bool): keras-hub's compile at construction, off: there is no default optimizer for pretraining
            (compile with one of `arlm.optimizers`).
        **kwargs: Keras' ``name`` and ``trainable``.

    Example:

    >>> pretrainer = MobileBertPretrainer(MobileBertBackbone.from_config_name("iberta"))  # doctest: +SKIP
    >>> pretrainer.compile(optimizer=arlm.optimizers.Lamb(1.5e-3))                      # doctest: +SKIP
    >>> pretrainer.fit(arlm.pretraining_data.load_dataset(...), steps_per_epoch=100)     # doctest: +SKIP
    >>> pretrainer.save_to_preset("teacher_preset", tokenizer="vocab.txt")               # doctest: +SKIP
    >>> tiny = MobileBertPretrainer(MobileBertBackbone(vocab_size=10, hidden_size=8, num_layers=1, num_heads=2,
    ...                                                intermediate_size=16, embedding_size=4))
    >>> x = {"token_ids": keras.ops.ones((2, 5), "int32"), "segment_ids": keras.ops.zeros((2, 5), "int32"),
    ...      "padding_mask": keras.ops.ones((2, 5), "int32"), "mask_positions": keras.ops.zeros((2, 3), "int32")}
    >>> {key: value.shape for key, value in tiny(x).items()}
    {'mlm_logits': (2, 3, 10), 'nsp_logits': (2, 2)}
    """

    backbone_cls = MobileBertBackbone

    def __init__(self, backbone, compile=False, **kwargs):
        config = backbone.config
        policy = backbone.dtype_policy
        # === layers ===
        self.backbone = backbone
        mlm_head = MaskedLMHead(backbone.token_embedding, config.hidden_size, config.hidden_act,
                                config.initializer_range, name="mlm_head", dtype=policy)
        next_sentence_head = nsp_head(config.initializer_range, dtype=policy)
        # === functional model ===
        inputs = {**backbone.input, "mask_positions": keras.Input(shape=(None,), dtype="int32", name="mask_positions")}
        outputs = backbone({key: inputs[key] for key in INPUT_NAMES})
        pooled = outputs["pooled_output"] if "pooled_output" in outputs else outputs["sequence_output"][:, 0, :]
        logits = {"mlm_logits": mlm_head(outputs["sequence_output"], inputs["mask_positions"]),
                  "nsp_logits": next_sentence_head(pooled)}
        super().__init__(inputs=inputs, outputs=logits, compile=compile, **kwargs)
        # === config and metrics ===
        self.mlm_head = mlm_head
        self.nsp_head = next_sentence_head
        self.mlm_loss_tracker = keras.metrics.Mean(name="mlm_loss")
        self.nsp_loss_tracker = keras.metrics.Mean(name="nsp_loss")
        self.mlm_accuracy = keras.metrics.Mean(name="mlm_accuracy")  # weighted by the batch's real slots
        self.nsp_accuracy = keras.metrics.SparseCategoricalAccuracy(name="nsp_accuracy")

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        mlm = masked_lm_loss(y["masked_lm_ids"], y_pred["mlm_logits"], y["masked_lm_weights"])
        nsp = next_sentence_loss(y["next_sentence_labels"], y_pred["nsp_logits"])
        total = mlm + nsp
        for loss in self.losses:  # regularizers, if any
            total = total + ops.cast(ops.sum(loss), "float32")
        return runtime.scale_loss(total)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        self.mlm_loss_tracker.update_state(masked_lm_loss(y["masked_lm_ids"], y_pred["mlm_logits"],
                                                          y["masked_lm_weights"]))
        self.nsp_loss_tracker.update_state(next_sentence_loss(y["next_sentence_labels"], y_pred["nsp_logits"]))
        self.mlm_accuracy.update_state(
            masked_lm_accuracy(y["masked_lm_ids"], y_pred["mlm_logits"], y["masked_lm_weights"]),
            sample_weight=ops.sum(ops.cast(y["masked_lm_weights"], "float32")))
        self.nsp_accuracy.update_state(y["next_sentence_labels"], ops.cast(y_pred["nsp_logits"], "float32"))
        return self.get_metrics_result()

    def get_config(self):
        config = super().get_config()
        config.pop("preprocessor")  # none: the batches come masked
        return config
