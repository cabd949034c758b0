"""Shared by test_quantization.py and test_predict.py: real AJGT data, a vocabulary and tiny models."""

import csv
import functools
import tempfile
from pathlib import Path

import numpy as np

MAX_SEQ = 32


def ajgt(split, limit):
    """(texts, labels) of the AJGT paper split (TSV: id, label, aux, text; spec 5.1)."""
    from arlm import datasets

    with open(datasets.path("ajgt", split), encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)][:limit]
    return [row[3] for row in rows], np.asarray([int(row[1]) for row in rows])


def vocabulary(folder, texts, size=1500):
    from arlm.tokenizer import train_vocabulary

    path = folder / "vocab.txt"
    train_vocabulary(texts, size, path)
    return path


def encode(vocab_path, texts, length=MAX_SEQ):
    from arlm.tasks.finetune import encode_texts
    from arlm.tokenizer import WordPieceTokenizer

    return encode_texts(texts, WordPieceTokenizer(vocab_path), length)


def tiny_model(vocab_size, head="classification", num_labels=2, seed=0):
    """A one-block MBERTA (NoNorm, ReLU, bottleneck, 4 FFNs) at tiny width whose embedding table dominates its
    parameters, with a sentence-classification, tagging or span-QA head."""
    import keras

    from arlm.models import MobileBertBackbone, preset_at_scale
    from arlm.models.classifier import MobileBertClassifier
    from arlm.scales import resolve
    from arlm.tasks.heads import SpanQA, TokenTagger

    keras.utils.set_random_seed(seed)
    config = preset_at_scale("mberta", resolve("tiny")).replace(
        num_layers=1, vocab_size=vocab_size, embedding_size=128, max_position_embeddings=MAX_SEQ
    )
    backbone = MobileBertBackbone(**config.to_dict())
    if head == "classification":
        return MobileBertClassifier(backbone, num_classes=num_labels)
    if head == "tagging":
        return TokenTagger(backbone, num_labels, max_seq_length=MAX_SEQ)
    return SpanQA(backbone, max_seq_length=MAX_SEQ)


@functools.cache
def finetuned_classifier():
    """A tiny classifier fine-tuned on 320 AJGT tweets, its test features and its four TFLite files.

    Cached for the session: test_quantization.py and test_predict.py share one fine-tuning and one export.
    """
    import keras

    from arlm.quantization import PRECISIONS
    from arlm.quantization.export import export_all

    folder = Path(tempfile.mkdtemp(prefix="arlm-quant-tests-"))
    train_texts, train_labels = ajgt("train", 320)
    test_texts, test_labels = ajgt("test", 96)
    vocab = vocabulary(folder, train_texts)
    train, test = encode(vocab, train_texts), encode(vocab, test_texts)
    model = tiny_model(len(vocab.read_text(encoding="utf-8").splitlines()))
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(train, train_labels, epochs=3, batch_size=32, verbose=0)
    files = export_all(model, folder, "tiny", PRECISIONS, train, max_seq_length=MAX_SEQ)
    return {"folder": folder, "vocab": vocab, "model": model, "test": test, "labels": test_labels, "files": files}
