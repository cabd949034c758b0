"""Sentence classifier for fine-tuning (`run_classifier.py`; spec 5.1)."""

import keras

from arlm.layers.activations import initializer
from arlm.models.backbone import MobileBertBackbone  # noqa: F401  (registers it for loading)


@keras.saving.register_keras_serializable(package="arlm")
class MobileBertClassifier(keras.Model):
    """logits $= \\mathrm{Dropout}_{0.1}(p)\\, W_c^\\top + b_c$, $W_c \\in R^{C \\times H}$, on a `MobileBertBackbone`.

    $p$ is the pooled output $\\tanh(h_{[CLS]} W_p + b_p)$ for teachers and AraBERT, and the raw $h_{[CLS]}$
    for students (``classifier_activation=False``). The TF fine-tuning scripts always use dropout 0.1 here,
    whatever the backbone's hidden dropout. Inputs as the backbone's; output the logits [batch, C].

    >>> classifier = MobileBertClassifier(MobileBertBackbone.from_preset("mberta"), num_classes=2)  # doctest: +SKIP
    >>> classifier.count_params()  # Table 4's 23.7M  # doctest: +SKIP
    23680770
    """

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
