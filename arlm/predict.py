"""The on-device path: a ``.tflite`` file, its sidecar and vocabulary, a pure-Python tokenizer, no TensorFlow.

This is what would run on a phone or a Raspberry Pi: ``ai-edge-litert`` executes the file, and
`arlm.tokenizer.WordPieceTokenizer` turns text into ids. Neither TensorFlow nor Keras is imported, so
the path works where they are not installed (the tests make ``import tensorflow`` fail to prove it).

The sidecar ``<file>.json`` (written by `arlm.quantization.export.write_sidecar`) names the task, the
labels in logit order, the sequence length and the vocabulary file ``<file>.vocab.txt``.

>>> Predictor("mberta_ajgt.dynamic.tflite").predict("الخدمة ممتازة")
{'label': '1', 'probabilities': {'0': 0.08, '1': 0.92}}
"""

import json
from pathlib import Path

import numpy as np

from arlm.errors import ArtifactError, ParameterError

MAX_ANSWER_TOKENS = 30  # spec 5.3: max_answer_length


def softmax(logits):
    z = np.exp(logits - np.max(logits, -1, keepdims=True))
    return z / np.sum(z, -1, keepdims=True)


class Predictor:
    """A loaded TFLite model with its tokenizer; `predict` takes text and returns labels, tags or a span."""

    def __init__(self, tflite_path, num_threads=None):
        from arlm.quantization.interpreter import TFLiteModel
        from arlm.tokenizer import WordPieceTokenizer

        self.path = Path(tflite_path)
        if not self.path.is_file():
            what = "is not a file" if self.path.exists() else "does not exist"
            raise ArtifactError(f"{self.path} {what} (parameter FILE.tflite): make one with `arlm export`")
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
        self.model = TFLiteModel(self.path, num_threads=num_threads)
        self.max_seq_length = self.model.max_seq_length
        outputs = self.model.output_shapes.get("logits")
        if self.task in ("classification", "tagging") and outputs is not None and outputs[-1] != len(self.labels):
            raise ArtifactError(f"{sidecar}: names {len(self.labels)} labels but {self.path.name} has {outputs[-1]} "
                                "outputs (a sidecar of another model?)")

    # -- encoding (spec 5.1-5.3 layouts) ----------------------------------------------------------------
    def _features(self, ids, segments):
        pad = self.max_seq_length - len(ids)
        row = {
            "token_ids": ids + [self.tokenizer.pad_id] * pad,
            "segment_ids": segments + [0] * pad,
            "padding_mask": [1] * len(ids) + [0] * pad,
        }
        return {name: np.asarray([values], dtype=np.int32) for name, values in row.items()}

    def _pieces(self, words):
        """Word-pieces of each whitespace word (ids, without [CLS]/[SEP])."""
        return [list(self.tokenizer.encode(word)) for word in words]

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
        from arlm.tasks.finetune import encode_texts

        features = encode_texts([text], self.tokenizer, self.max_seq_length)
        probs = softmax(self.model.run_batch(self._pad_batch(features))["logits"][0])
        return {
            "label": self.labels[int(np.argmax(probs))],
            "probabilities": {label: round(float(p), 4) for label, p in zip(self.labels, probs, strict=True)},
        }

    def _tag(self, text):
        # spec 5.2: [CLS] then the pieces, no [SEP]; a word's tag is the prediction at its first piece
        words, ids, firsts = text.split(), [self.tokenizer.cls_id], []
        for pieces in self._pieces(words):
            if len(ids) + len(pieces) > self.max_seq_length:
                break
            firsts.append(len(ids))
            ids += pieces or [self.tokenizer.unk_id]  # as arlm.tasks.tagging.encode_tagging
        logits = self.model.run_batch(self._pad_batch(self._features(ids, [0] * len(ids))))["logits"][0]
        return [(word, self.labels[int(np.argmax(logits[i]))]) for word, i in zip(words, firsts, strict=False)]

    def _answer(self, question, context):
        # spec 5.3: [CLS] question [SEP] passage [SEP]; best start <= end by start + end logit
        t = self.tokenizer
        q = list(t.encode(question))[:64]
        words = context.split()
        ids, word_of = [t.cls_id] + q + [t.sep_id], {}
        for w, pieces in enumerate(self._pieces(words)):
            for piece in pieces:
                if len(ids) >= self.max_seq_length - 1:
                    break
                word_of[len(ids)] = w
                ids.append(piece)
        ids.append(t.sep_id)
        segments = [0] * (len(q) + 2) + [1] * (len(ids) - len(q) - 2)
        out = self.model.run_batch(self._pad_batch(self._features(ids, segments)))
        start, end = out["start_logits"][0], out["end_logits"][0]
        best, span = -np.inf, None
        for i in word_of:
            for j in range(i, min(i + MAX_ANSWER_TOKENS, len(ids))):
                if j in word_of and start[i] + end[j] > best:
                    best, span = float(start[i] + end[j]), (word_of[i], word_of[j])
        if span is None:
            return {"answer": "", "score": None}
        return {"answer": " ".join(words[span[0] : span[1] + 1]), "score": round(best, 4)}

    def _pad_batch(self, features):
        # a file exported with batch N > 1 takes N rows: repeat the one example
        n = self.model.batch_size
        return {name: np.repeat(value, n, 0) for name, value in features.items()} if n > 1 else features


def predict(tflite_path, text, context=None, num_threads=None):
    """One-shot prediction (see `Predictor.predict`)."""
    return Predictor(tflite_path, num_threads=num_threads).predict(text, context)
