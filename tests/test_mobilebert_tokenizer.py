"""The family's tokenizer: arlm's ids on the tricky strings in Python, eagerly and inside `tf.data`, and keras-hub's
own loaders reading a shipped preset's tokenizer and backbone."""

import keras_hub
import numpy as np
import pytest
from helpers import run_preprocessing_test, tiny_config
from tricky_texts import TRICKY

from arlm.errors import ParameterError
from arlm.mobilebert import MobileBertBackbone, MobileBertTextClassifier, MobileBertTokenizer
from arlm.mobilebert.tokenizer import BOOK_SETTINGS
from arlm.preset_format import PRESETS_DIR
from arlm.saving import load_tokenizer

PRESET = PRESETS_DIR / "mberta-cpu-edition"  # a vocabulary trained on the data mirror, shipped with arlm


@pytest.fixture(scope="module")
def arlm_tokenizer():
    return load_tokenizer(PRESET)


@pytest.mark.backend
def test_the_ids_of_arlm_on_every_tricky_string(arlm_tokenizer):
    expected = [arlm_tokenizer.encode(text) for text in TRICKY]
    tokenizer = MobileBertTokenizer(vocabulary=arlm_tokenizer.vocab)
    # a batch of string tensors (normalized in-graph) directly, mapped in tf.data, and each alone
    run_preprocessing_test(MobileBertTokenizer, {"vocabulary": arlm_tokenizer.vocab}, TRICKY, expected)
    # Python strings (normalized in Python)
    assert [np.asarray(tokenizer.tokenize(text)).tolist() for text in TRICKY] == expected
    assert len(TRICKY) >= 30 and sum(map(len, expected)) > 100
    pieces = MobileBertTokenizer(vocabulary=arlm_tokenizer.vocab, dtype="string")
    assert [np.asarray(pieces.tokenize(text)).astype(str).tolist() for text in TRICKY[:5]] == [
        arlm_tokenizer.tokenize(text) for text in TRICKY[:5]]


def test_keras_hubs_generic_loaders_read_a_shipped_preset(arlm_tokenizer):
    tokenizer = keras_hub.tokenizers.Tokenizer.from_preset(str(PRESET))
    assert type(tokenizer) is MobileBertTokenizer
    assert [np.asarray(tokenizer(text)).tolist() for text in TRICKY] == [arlm_tokenizer.encode(t) for t in TRICKY]
    assert (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id) == (2, 3, 0)
    backbone = keras_hub.models.Backbone.from_preset(str(PRESET))
    assert type(backbone) is MobileBertBackbone and backbone.config.vocab_size == arlm_tokenizer.vocab_size
    # the packaged presets by name, as keras-hub's own presets load
    assert {"iberta-cpu-edition", "mberta-cpu-edition"} <= set(MobileBertBackbone.presets)
    assert type(keras_hub.tokenizers.Tokenizer.from_preset("mberta-cpu-edition")) is MobileBertTokenizer
    classifier = keras_hub.models.TextClassifier.from_preset("mberta-cpu-edition", num_classes=2)
    assert type(classifier) is MobileBertTextClassifier
    assert type(classifier.preprocessor.tokenizer) is MobileBertTokenizer


def test_the_settings_are_the_books_and_are_not_saved(tmp_path, arlm_tokenizer):
    with pytest.raises(ParameterError, match="lowercase=True"):
        MobileBertTokenizer(vocabulary=arlm_tokenizer.vocab, lowercase=True)
    tokenizer = MobileBertTokenizer(vocabulary=arlm_tokenizer.vocab)
    assert not set(BOOK_SETTINGS) & set(tokenizer.get_config())
    backbone = MobileBertBackbone.from_mobilebert_config(tiny_config("mberta", vocab_size=len(arlm_tokenizer.vocab)))
    preset = backbone.save_to_preset(tmp_path / "preset", tokenizer=tokenizer)
    again = MobileBertTokenizer.from_preset(str(preset))
    assert again.get_vocabulary() == arlm_tokenizer.vocab
    assert load_tokenizer(preset).vocab == arlm_tokenizer.vocab  # arlm's own reader of the same files
