"""Sentence classifier for fine-tuning (`run_classifier.py`; spec 5.1), as keras-hub's text classifiers are."""

import keras
import keras_hub

from arlm.layers.activations import initializer
from arlm.mobilebert.backbone import MobileBertBackbone
from arlm.mobilebert.preset_methods import PresetMethods
from arlm.mobilebert.text_classifier_preprocessor import MobileBertTextClassifierPreprocessor


@keras.saving.register_keras_serializable(package="arlm")
class MobileBertTextClassifier(PresetMethods, keras_hub.models.TextClassifier):
    """logits $= \\mathrm{Dropout}_{0.1}(p)\\, W_c^\\top + b_c$, $W_c \\in R^{C \\times H}$, on a `MobileBertBackbone`.

    $p$ is the pooled output $\\tanh(h_{[CLS]} W_p + b_p)$ for teachers and AraBERT, and the raw $h_{[CLS]}$
    for students (``classifier_activation=False``). The TF fine-tuning scripts always use dropout 0.1 here,
    whatever the backbone's hidden dropout. A keras-hub `TextClassifier`: with a `preprocessor` (what
    ``from_preset`` gives), ``fit``, ``evaluate`` and ``predict`` take raw strings, as
    `keras_hub.models.BertTextClassifier` does; without one (``preprocessor=None``, as the book fine-tunes) they
    take the backbone's inputs, e.g. from `arlm.preprocessing.encode_texts`. Output: the logits [batch, C] (or
    probabilities with ``activation="softmax"``). Saved and loaded as a keras-hub preset (`save_to_preset`,
    `from_preset`) or a ``.keras`` file (`arlm.saving.save_model`).

    Args:
        backbone (MobileBertBackbone): the encoder (fine-tuned with the head).
        num_classes (int): C, the number of labels.
        preprocessor (MobileBertTextClassifierPreprocessor | None): applied to raw inputs by ``fit``, ``evaluate``
            and ``predict``.
        activation (str | callable | None): on the logits (None: the logits themselves).
        dropout (float): on the pooled output.
        **kwargs: Keras' ``name`` and ``trainable``; keras-hub's ``compile`` (False: not compiled with its
            defaults, Adam 5e-5 and sparse cross-entropy).

    Example:

    >>> classifier = MobileBertTextClassifier.from_preset("mberta-cpu-edition", num_classes=2)  # doctest: +SKIP
    >>> classifier.fit(["الخدمة ممتازة", "سيئ جدا"], [1, 0], batch_size=2)                        # doctest: +SKIP
    >>> classifier.predict(["رائع"])                                                            # doctest: +SKIP
    >>> backbone = MobileBertBackbone.from_config_name("mberta")          # random weights  # doctest: +SKIP
    >>> MobileBertTextClassifier(backbone, num_classes=2).count_params()  # Table 4's 23.7M  # doctest: +SKIP
    23680770
    >>> tiny = MobileBertTextClassifier(MobileBertBackbone(vocab_size=10, hidden_size=8, num_layers=1, num_heads=2,
    ...                                                    intermediate_size=16), num_classes=3)
    >>> tiny({"token_ids": keras.ops.ones((2, 5), "int32"), "segment_ids": keras.ops.zeros((2, 5), "int32"),
    ...       "padding_mask": keras.ops.ones((2, 5), "int32")}).shape
    (2, 3)
    """

    backbone_cls = MobileBertBackbone
    preprocessor_cls = MobileBertTextClassifierPreprocessor
    head_arguments = ("num_classes",)

    def __init__(self, backbone, num_classes=2, preprocessor=None, activation=None, dropout=0.1, **kwargs):
        # === layers ===
        policy = backbone.dtype_policy
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.output_dropout = keras.layers.Dropout(dropout, name="classifier_dropout", dtype=policy)
        self.output_dense = keras.layers.Dense(
            num_classes, kernel_initializer=initializer(backbone.config.initializer_range), activation=activation,
            name="logits", dtype=policy)
        # === functional model ===
        inputs = dict(backbone.input)
        outputs = backbone(inputs)
        pooled = outputs["pooled_output"] if "pooled_output" in outputs else outputs["sequence_output"][:, 0, :]
        logits = self.output_dense(self.output_dropout(pooled))
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        # === config ===
        self.num_classes = num_classes
        self.activation = keras.activations.get(activation)
        self.dropout = dropout

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "activation": keras.activations.serialize(self.activation), "dropout": self.dropout}

    def compile_from_config(self, config):
        # keras-hub's `compile` only fills in defaults, so the saved arguments restore the compiled model (Keras
        # skips a custom `compile` when loading a `.keras` file, and the optimizer's state with it)
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)


# classifiers saved before the family took keras-hub's class names (``.keras`` files and presets of earlier runs)
keras.saving.get_custom_objects()["arlm>MobileBertClassifier"] = MobileBertTextClassifier
