"""Sentence classifier for fine-tuning (`run_classifier.py`; spec 5.1)."""

import keras

from arlm.layers.activations import initializer
from arlm.models.task import PresetTask


@keras.saving.register_keras_serializable(package="arlm")
class MobileBertClassifier(PresetTask, keras.Model):
    """logits $= \\mathrm{Dropout}_{0.1}(p)\\, W_c^\\top + b_c$, $W_c \\in R^{C \\times H}$, on a `MobileBertBackbone`.

    $p$ is the pooled output $\\tanh(h_{[CLS]} W_p + b_p)$ for teachers and AraBERT, and the raw $h_{[CLS]}$
    for students (``classifier_activation=False``). The TF fine-tuning scripts always use dropout 0.1 here,
    whatever the backbone's hidden dropout. Inputs as the backbone's; output the logits [batch, C]. Saved and
    loaded as a keras-hub preset (`save_to_preset`, `from_preset`) or a ``.keras`` file (`arlm.io.save_model`).

    Args:
        backbone (MobileBertBackbone): the encoder (fine-tuned with the head).
        num_classes (int): C, the number of labels.
        dropout (float): on the pooled output.
        **kwargs: Keras' ``name`` and ``trainable``.

    Example:

    >>> backbone = MobileBertBackbone.from_config_name("mberta")          # random weights  # doctest: +SKIP
    >>> MobileBertClassifier(backbone, num_classes=2).count_params()     # Table 4's 23.7M  # doctest: +SKIP
    23680770
    >>> teacher = MobileBertClassifier.from_preset("teacher_preset", num_classes=3)  # doctest: +SKIP
    >>> tiny = MobileBertClassifier(MobileBertBackbone(vocab_size=10, hidden_size=8, num_layers=1, num_heads=2,
    ...                                                intermediate_size=16), num_classes=3)
    >>> tiny({"token_ids": keras.ops.ones((2, 5), "int32"), "segment_ids": keras.ops.zeros((2, 5), "int32"),
    ...       "padding_mask": keras.ops.ones((2, 5), "int32")}).shape
    (2, 3)
    """

    head_arguments = ("num_classes",)

    def __init__(self, backbone, num_classes=2, dropout=0.1, **kwargs):
        # === layers ===
        policy = backbone.dtype_policy
        dropout_layer = keras.layers.Dropout(dropout, name="classifier_dropout", dtype=policy)
        output_dense = keras.layers.Dense(
            num_classes, kernel_initializer=initializer(backbone.config.initializer_range), name="logits",
            dtype=policy)
        # === functional model ===
        inputs = dict(backbone.input)
        outputs = backbone(inputs)
        pooled = outputs["pooled_output"] if "pooled_output" in outputs else outputs["sequence_output"][:, 0, :]
        logits = output_dense(dropout_layer(pooled))
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        # === config ===
        self.backbone = backbone
        self.num_classes = num_classes
        self.dropout = dropout

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "backbone": keras.saving.serialize_keras_object(self.backbone), "num_classes": self.num_classes,
                "dropout": self.dropout}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)
