"""Shared by test_quantization.py and test_predict.py: real labelled data, a vocabulary and tiny models.

The data is AJGT from the mirror (``ARLM_DATA_DIR``) or, without it, the embedded hadith task shipped with the
package, so these tests run on every machine.
"""

import functools
import tempfile
from pathlib import Path

import numpy as np

MAX_SEQ = 32


def classification_task():
    """AJGT when the mirror has it, else the embedded hadith task (Bukhari vs Muslim)."""
    from arlm.tasks.loaders import available, load_task

    return load_task("ajgt" if available("ajgt") else "hadith")


def labelled(split, count):
    """(texts, labels) of a seeded random ``count`` examples of `classification_task`'s ``split``."""
    from arlm.tasks.finetune import limit

    data = limit(getattr(classification_task(), split), count)
    return list(data.texts), np.asarray(data.labels)


def vocabulary(folder, texts, size=1500):
    from arlm.tokenizer import train_vocabulary

    path = folder / "vocab.txt"
    train_vocabulary(texts, size, path)
    return path


def encode(vocab_path, texts, length=MAX_SEQ):
    from arlm.preprocessing import encode_texts
    from arlm.tokenizer import WordPieceTokenizer

    return encode_texts(texts, WordPieceTokenizer(vocab_path), length)


def tiny_model(vocab_size, head="classification", num_labels=2, seed=0):
    """A one-block MBERTA (NoNorm, ReLU, bottleneck, 4 FFNs) at tiny width whose embedding table dominates its
    parameters, with a sentence-classification, tagging or span-QA head."""
    import keras

    from arlm.mobilebert import MobileBertBackbone, MobileBertTextClassifier, SpanQA, TokenTagger, config_at_scale
    from arlm.scales import resolve

    keras.utils.set_random_seed(seed)
    config = config_at_scale("mberta", resolve("tiny")).replace(
        num_layers=1, vocab_size=vocab_size, embedding_size=128, max_position_embeddings=MAX_SEQ
    )
    backbone = MobileBertBackbone(**config.to_dict())
    if head == "classification":
        return MobileBertTextClassifier(backbone, num_classes=num_labels)
    if head == "tagging":
        return TokenTagger(backbone, num_labels, max_seq_length=MAX_SEQ)
    return SpanQA(backbone, max_seq_length=MAX_SEQ)


@functools.cache
def finetuned_classifier():
    """A tiny classifier fine-tuned on 320 examples of `classification_task`, its test features and TFLite files.

    Cached for the session: test_quantization.py and test_predict.py share one fine-tuning and one export.
    """
    import keras

    from arlm.quantization import PRECISIONS
    from arlm.quantization.export import export_all

    folder = Path(tempfile.mkdtemp(prefix="arlm-quant-tests-"))
    train_texts, train_labels = labelled("train", 320)
    test_texts, test_labels = labelled("test", 96)
    vocab = vocabulary(folder, train_texts)
    train, test = encode(vocab, train_texts), encode(vocab, test_texts)
    model = tiny_model(len(vocab.read_text(encoding="utf-8").splitlines()))
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(train, train_labels, epochs=3, batch_size=32, verbose=0)
    files = export_all(model, folder, "tiny", PRECISIONS, train, max_seq_length=MAX_SEQ)
    return {"folder": folder, "vocab": vocab, "model": model, "test": test, "labels": test_labels, "files": files,
            "onnx_files": onnx_files(model, folder), "label_names": list(classification_task().labels)}


def onnx_files(model, folder):
    """``{precision: path}`` of the model's ``.onnx`` files, or ``{}`` without the onnx extra."""
    import importlib.util

    from arlm.quantization import ONNX_PRECISIONS
    from arlm.quantization.onnx_export import export_onnx

    if not all(importlib.util.find_spec(name) for name in ("onnx", "onnxruntime", "tf2onnx")):
        return {}
    return {p: export_onnx(model, folder / f"tiny.{p}.onnx", p, max_seq_length=MAX_SEQ) for p in ONNX_PRECISIONS}
