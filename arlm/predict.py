"""The on-device path: a ``.tflite`` (or ``.onnx``) file, its sidecar and vocabulary, a pure-Python tokenizer.

This is what would run on a phone or a Raspberry Pi: ``ai-edge-litert`` executes a ``.tflite`` file (ONNX
Runtime an ``.onnx`` file, on a server), and `arlm.tokenizer.WordPieceTokenizer` turns text into ids. Neither
TensorFlow nor Keras is imported, so the path works where they are not installed (the tests make
``import tensorflow`` fail to prove it, for every deployment format).

The sidecar ``<file>.json`` (written by `arlm.quantization.export.write_sidecar`) names the task, the
labels in logit order, the sequence length and the vocabulary file ``<file>.vocab.txt``.

>>> Predictor("mberta_ajgt.dynamic.tflite").predict("الخدمة ممتازة")
{'label': '1', 'probabilities': {'0': 0.08, '1': 0.92}}
"""

import json
from pathlib import Path

import numpy as np

from arlm.errors import ArtifactError, ParameterError
from arlm.preprocessing import encode_texts, qa
from arlm.preprocessing.qa import QAExample
from arlm.preprocessing.tagging import encode_tagging, word_tags

DOC_STRIDE = 128  # spec 5.3, when the sidecar does not name the stride the model was trained with


def softmax(logits):
    z = np.exp(logits - np.max(logits, -1, keepdims=True))
    return z / np.sum(z, -1, keepdims=True)


class Predictor:
    """A loaded ``.tflite`` or ``.onnx`` model with its tokenizer; `predict` takes text and returns labels, tags or
    a span."""

    def __init__(self, tflite_path, num_threads=None):
        from arlm.quantization.interpreter import open_model
        from arlm.tokenizer import WordPieceTokenizer

        self.path = Path(tflite_path)
        if not self.path.is_file():
            what = "is not a file" if self.path.exists() else "does not exist"
            raise ArtifactError(f"{self.path} {what} (parameter FILE): make one with `arlm export`")
        if self.path.suffix not in (".tflite", ".onnx"):
            raise ArtifactError(f"{self.path}: expected a .tflite or .onnx file written by `arlm export` "
                                "(parameter FILE)")
        sidecar = self.path.with_suffix(".json")
        if not sidecar.is_file():
            raise ArtifactError(
                f"{sidecar} is missing: export the model with `arlm export`, which writes it beside {self.path.name}"
            )
        try:
            self.info = json.loads(sidecar.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ArtifactError(f"{sidecar}: not the JSON sidecar `arlm export` writes ({error})") from None
        if not isinstance(self.info, dict):
            raise ArtifactError(f"{sidecar}: expected a JSON object, got {type(self.info).__name__}")
        for key in ("task", "labels", "vocab"):
            if key not in self.info:
                raise ArtifactError(f"{sidecar}: key {key!r} is missing")
        self.task = self.info["task"]
        self.labels = self.info["labels"]
        vocab = self.path.parent / str(self.info["vocab"])
        if not vocab.is_file():
            raise ArtifactError(f"{sidecar}: its vocabulary {vocab} is missing (`arlm export` writes it beside "
                                f"{self.path.name})")
        self.tokenizer = WordPieceTokenizer(vocab)
        self.model = open_model(self.path, num_threads=num_threads)
        self.max_seq_length = self.model.max_seq_length
        outputs = self.model.output_shapes.get("logits")
        if self.task in ("classification", "tagging") and outputs is not None and outputs[-1] != len(self.labels):
            raise ArtifactError(f"{sidecar}: names {len(self.labels)} labels but {self.path.name} has {outputs[-1]} "
                                "outputs (a sidecar of another model?)")

    def predict(self, text, context=None):
        """Classification: ``{label, probabilities}``; tagging: ``[(word, tag), ...]``; QA: ``{answer, score}``
        with `text` the question and `context` the passage."""
        if not isinstance(text, str) or not text.strip():
            raise ParameterError("predict needs a non-empty text (parameter TEXT)")
        if self.task == "classification":
            return self._classify(text)
        if self.task == "tagging":
            return self._tag(text)
        if self.task == "qa":
            if not context:
                raise ParameterError("a QA model needs a passage (parameter --context)")
            return self._answer(text, context)
        raise ArtifactError(
            f"{self.path.with_suffix('.json')}: unknown task {self.task!r}; expected classification, tagging or qa"
        )

    def _classify(self, text):
        features = encode_texts([text], self.tokenizer, self.max_seq_length)
        probs = softmax(self.model.run_batch(self._pad_batch(features))["logits"][0])
        return {
            "label": self.labels[int(np.argmax(probs))],
            "probabilities": {label: round(float(p), 4) for label, p in zip(self.labels, probs, strict=True)},
        }

    def _tag(self, text):
        # the training layout (spec 5.2): a word's tag is the prediction at its first piece
        words = text.split()
        features = encode_tagging([words], None, self.tokenizer, None, self.max_seq_length)
        logits = self.model.run_batch(self._pad_batch(features.inputs()))["logits"]
        tags = word_tags(np.argmax(logits, -1)[:1], features, self.labels)[0]
        return list(zip(words, tags, strict=False))

    def _answer(self, question, context):
        # the training layout (spec 5.3): windows of the passage, max-context scoring, n-best decoding
        example = QAExample("question", "", question, context, [], 0)
        stride = int(self.info.get("doc_stride", DOC_STRIDE))
        features = qa.build_features([example], self.tokenizer, self.max_seq_length, stride)
        starts, ends = [], []
        for window in range(len(features.token_ids)):
            row = {name: value[window:window + 1] for name, value in features.inputs().items()}
            out = self.model.run_batch(self._pad_batch(row))
            starts.append(out["start_logits"][0])
            ends.append(out["end_logits"][0])
        answer, score = qa.decode([example], features, starts, ends, with_scores=True)[0]
        return {"answer": answer or "", "score": None if score is None else round(score, 4)}

    def _pad_batch(self, features):
        # a file exported with batch N > 1 takes N rows: repeat the one example
        n = self.model.batch_size
        return {name: np.repeat(value, n, 0) for name, value in features.items()} if n > 1 else features


def predict(tflite_path, text, context=None, num_threads=None):
    """One-shot prediction (see `Predictor.predict`)."""
    return Predictor(tflite_path, num_threads=num_threads).predict(text, context)
