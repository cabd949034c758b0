"""Raw strings to the classifier's inputs, as keras-hub's text classifiers take them (spec 5.1's layout).

`MobileBertTextClassifierPreprocessor` is a keras-hub `TextClassifierPreprocessor`: the family's tokenizer (the
book's normalization, then WordPiece), then ``[CLS] A [SEP]`` (or ``[CLS] A [SEP] B [SEP]`` for a pair of
segments) padded to ``sequence_length``, as ``token_ids``, ``segment_ids`` and ``padding_mask``: for one segment the
ids of `arlm.preprocessing.encode_texts`, the NumPy encoder of the book's training and of the on-device path
(`tests/test_mobilebert_text_classifier.py` checks both agree). It maps over ``(x, y, sample_weight)`` in
`tf.data` and is what `MobileBertTextClassifier` applies to raw strings in ``fit``, ``evaluate`` and ``predict``.

>>> preprocessor = MobileBertTextClassifierPreprocessor.from_preset("mberta-cpu-edition")  # doctest: +SKIP
>>> preprocessor(["الخدمة ممتازة", "سيئ جدا"])["token_ids"].shape                        # doctest: +SKIP
TensorShape([2, 128])
"""

import keras
import keras_hub

from arlm.mobilebert.backbone import MobileBertBackbone
from arlm.mobilebert.tokenizer import MobileBertTokenizer

SEQUENCE_LENGTH = 128  # the paper's fine-tuning length for classification (spec 5)


@keras.saving.register_keras_serializable(package="arlm")
class MobileBertTextClassifierPreprocessor(keras_hub.models.TextClassifierPreprocessor):
    """Tokenize (the book's normalization, WordPiece) and pack ``[CLS] A [SEP]`` for a `MobileBertBackbone`.

    Args:
        tokenizer (MobileBertTokenizer): the tokenizer (the preset's, from ``from_preset``).
        sequence_length (int): the padded length (128, the paper's).
        truncate (str): keras-hub's ``"round_robin"`` or ``"waterfall"``, for a pair of segments too long.
        **kwargs: Keras' ``name`` and ``dtype``.

    >>> vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "احمد", "سال", "##ت"]
    >>> preprocessor = MobileBertTextClassifierPreprocessor(MobileBertTokenizer(vocabulary=vocab), sequence_length=6)
    >>> [keras.ops.convert_to_numpy(preprocessor("أحمد سألت")[key]).tolist() for key in ("token_ids", "padding_mask")]
    [[2, 5, 6, 7, 3, 0], [True, True, True, True, True, False]]
    """

    backbone_cls = MobileBertBackbone
    tokenizer_cls = MobileBertTokenizer

    def __init__(self, tokenizer, sequence_length=SEQUENCE_LENGTH, truncate="round_robin", **kwargs):
        super().__init__(tokenizer, sequence_length=sequence_length, truncate=truncate, **kwargs)
