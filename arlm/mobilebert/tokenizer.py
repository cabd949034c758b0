"""The family's tokenizer for keras-hub: the book's Arabic normalization, then WordPiece, in one layer.

`MobileBertTokenizer` is a keras-hub `WordPieceTokenizer` whose ``tokenize`` first applies `arlm.text.normalize`
(lowercase, NFKD, diacritics, hamza on a carrier, tatweel, format characters, letter forms, digits; its module
docstring): with TensorFlow string ops (`arlm.text.normalize_tf`) for tensors, so it runs inside `tf.data` and
keras-hub's preprocessors, and in Python for Python strings and NumPy arrays. Either way it gives the ids of the
pure-Python `arlm.tokenizer.WordPieceTokenizer` that made the pretraining data (`tests/test_mobilebert_tokenizer.py`
checks every tricky string of `tests/tricky_texts.py`). Its ``backbone_cls`` is `MobileBertBackbone`, so keras-hub's
generic loaders find it: with ``arlm.mobilebert`` imported, ``keras_hub.tokenizers.Tokenizer.from_preset(folder)``
of a preset saved by arlm returns it, vocabulary and normalization included.

>>> tokenizer = MobileBertTokenizer.from_preset("mberta-cpu-edition")         # doctest: +SKIP
>>> tokenizer("وَأَقُولُ: السلام")                                             # doctest: +SKIP
>>> tokenizer.detokenize(tokenizer("أحمد"))                                    # doctest: +SKIP
'احمد'
"""

import sys

import keras
import keras_hub
import numpy as np

from arlm.errors import ParameterError
from arlm.keras_hub_private import add_special_token
from arlm.mobilebert.backbone import MobileBertBackbone
from arlm.text import normalize, normalize_tf
from arlm.tokenizer import CLS_ID, MASK_ID, PAD_ID, SEP_ID, SPECIAL_TOKENS, SUFFIX, UNK_ID

# keras-hub's WordPiece settings that make it the book's pre-tokenizer and WordPiece (`arlm.tokenizer`): the
# normalization is done before it, so it neither lowercases nor strips accents, and it splits Chinese characters
# no differently from any other letter (BERT's CJK split is not part of the book's convention)
BOOK_SETTINGS = {"lowercase": False, "strip_accents": False, "split": True, "split_on_cjk": False,
                 "suffix_indicator": SUFFIX, "oov_token": SPECIAL_TOKENS[UNK_ID], "special_tokens": None,
                 "special_tokens_in_strings": False}
# keras-hub's attribute names of the special tokens (start/end are what its packers read)
SPECIAL_ATTRIBUTES = {"pad_token": PAD_ID, "cls_token": CLS_ID, "sep_token": SEP_ID, "mask_token": MASK_ID,
                      "start_token": CLS_ID, "end_token": SEP_ID}


@keras.saving.register_keras_serializable(package="arlm")
class MobileBertTokenizer(keras_hub.tokenizers.WordPieceTokenizer):
    """WordPiece over the book's Arabic normalization (`arlm.text.normalize`), as a keras-hub tokenizer.

    A scalar string gives a dense vector of ids, a batch a ragged batch (or dense with `sequence_length`), as
    keras-hub's `WordPieceTokenizer`; the ids are those of `arlm.tokenizer.WordPieceTokenizer.encode`.
    Saved with a preset (``tokenizer.json`` names this class, ``assets/tokenizer/vocabulary.txt`` holds the
    vocabulary) and loaded by ``from_preset``, this class's or keras-hub's.

    Args:
        vocabulary (list[str] | str | None): the tokens (``[PAD] [UNK] [CLS] [SEP] [MASK]`` first), or a vocabulary
            file's path; None until a preset's assets are loaded.
        sequence_length (int | None): pad or cut the output to this many ids.
        **kwargs: keras-hub's ``dtype`` (``"int32"``, or ``"string"`` for pieces) and Keras' ``name``; the
            WordPiece settings are the book's (`BOOK_SETTINGS`), and another value is a `ParameterError`.

    >>> vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "احمد", "سال", "##ت"]
    >>> MobileBertTokenizer(vocabulary=vocab).tokenize("أحمد سألت").tolist()
    [5, 6, 7]
    """

    backbone_cls = MobileBertBackbone

    def __init__(self, vocabulary=None, sequence_length=None, **kwargs):
        for key, value in BOOK_SETTINGS.items():
            if kwargs.setdefault(key, value) != value:
                raise ParameterError(f"MobileBertTokenizer: {key}={kwargs[key]!r}; the book's tokenizer has "
                                     f"{key}={value!r} (its normalization is arlm.text.normalize)")
        for attribute, token_id in SPECIAL_ATTRIBUTES.items():
            add_special_token(self, SPECIAL_TOKENS[token_id], attribute)
        super().__init__(vocabulary=vocabulary, sequence_length=sequence_length, **kwargs)

    def tokenize(self, inputs):
        """Ids (or pieces) of `inputs` after `arlm.text.normalize`: a string, a list or array of strings, or a
        string tensor (normalized in-graph)."""
        return super().tokenize(normalized(inputs))

    def get_config(self):
        config = super().get_config()
        for key in BOOK_SETTINGS:  # fixed by the class, not settings of an instance
            config.pop(key, None)
        return config


def normalized(inputs):
    """`inputs` after `arlm.text.normalize`, in the same form: a TensorFlow string tensor (ragged or not) through
    `arlm.text.normalize_tf`, Python strings, bytes, lists and NumPy arrays of them in Python; anything else is
    returned as it is (keras-hub says what is wrong with it)."""
    if isinstance(inputs, bytes):
        return normalize(inputs.decode("utf-8"))
    if isinstance(inputs, str):
        return normalize(inputs)
    if isinstance(inputs, list | tuple):
        return type(inputs)(normalized(item) for item in inputs)
    if isinstance(inputs, np.ndarray) and inputs.dtype.kind in "USO":
        return np.array(normalized(inputs.tolist()), dtype=str).reshape(inputs.shape)
    tf = sys.modules.get("tensorflow")  # a TensorFlow tensor implies TensorFlow is imported
    if tf is not None and isinstance(inputs, tf.RaggedTensor):
        return tf.ragged.map_flat_values(normalize_tf, inputs)
    if tf is not None and isinstance(inputs, tf.Tensor):
        return normalize_tf(inputs)
    return inputs
