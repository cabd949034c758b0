"""One fine-tuned model through the whole chapter: its task data, every TFLite file, evaluation and latency.

`task_data` turns a task's test split into model inputs, labels and the metric that scores a dict of
outputs; `study` exports, evaluates and times one model. The chapter and `benchmarks/tflite_latency.py`
call these, so both measure the same thing.

>>> data = task_data(load_task("ajgt"), tokenizer, 128, split="test", limit=400)
>>> result = study(model, "mberta_ajgt", data, out_dir, calibration=train_data.features)
>>> result["evaluation"][1]["agreement"]
1.0
"""

import dataclasses

import numpy as np

from arlm.quantization import PRECISIONS
from arlm.quantization.evaluate import accuracy, evaluate_files, keras_outputs
from arlm.quantization.export import export_all
from arlm.quantization.latency import measure_files


@dataclasses.dataclass
class TaskData:
    """Model inputs of one split, the labels the metric needs, and the metric ``(outputs, labels, features)``."""

    kind: str  # classification | tagging | qa
    features: dict
    labels: object
    metric: object
    metric_name: str

    def __len__(self):
        return len(self.features["token_ids"])


# students first: they are the models meant for devices
PREFERENCE = ("mberta", "mberta_ii", "iberta", "arabert_base")


def choose_models(index, kinds, max_classifiers=0):
    """Which of chapter 5's models chapter 6 exports: every classifier of the first classification task (sizes
    compare on one task; students first, at most `max_classifiers`, 0: all), then one tagger and one QA model.

    Args:
        index (dict): chapter 5's model index, ``{stem: {"task": ..., ...}}``.
        kinds (dict): ``{stem: "classification" | "tagging" | "qa"}``.
        max_classifiers (int): at most this many classifiers (0: all).

    Returns ``(first classification task, {stem: index entry})``.
    """
    first_task = next(index[s]["task"] for s in index if kinds[s] == "classification")

    def rank(stem):
        return next((i for i, p in enumerate(PREFERENCE) if stem == f"{p}_{first_task}"), len(PREFERENCE))

    classifiers = sorted((s for s in index if index[s]["task"] == first_task), key=rank)
    chosen = {s: index[s] for s in classifiers[: max_classifiers or None]}
    for kind in ("tagging", "qa"):
        chosen.update({s: index[s] for s in [s for s in index if kinds[s] == kind][:1]})
    return first_task, chosen


def task_data(task, tokenizer, max_seq_length, split="test", limit=0, doc_stride=128):
    """`TaskData` of ``task.<split>`` (an `arlm.tasks` Task): `limit` examples (0: all), the same seeded subset
    that `arlm.tasks.finetune` evaluates on."""
    from arlm.preprocessing import encode_texts
    from arlm.tasks.finetune import limit as subset

    data = subset(getattr(task, split), limit)  # the seeded subset chapter 5 evaluated on
    if task.kind == "classification":
        features = encode_texts(data.texts, tokenizer, max_seq_length)
        return TaskData("classification", features, np.asarray(data.labels), accuracy, "accuracy")
    if task.kind == "tagging":
        from arlm.preprocessing.tagging import encode_tagging
        from arlm.quantization.evaluate import token_accuracy

        encoded = encode_tagging(data.sentences, data.tags, tokenizer, task.labels, max_seq_length)
        labels = np.where(encoded.first_piece, encoded.labels, -1)  # score each word once, at its first piece
        return TaskData("tagging", encoded.inputs(), labels, token_accuracy, "token accuracy")
    from arlm.preprocessing import qa
    from arlm.tasks.metrics import squad_scores

    # a short sequence (tiny scale) leaves room for a window only with a shorter question
    query = min(qa.MAX_QUERY_LENGTH, max_seq_length // 4)
    encoded = qa.build_features(data.examples, tokenizer, max_seq_length, min(doc_stride, max_seq_length // 2), query)

    def squad_f1(outputs, labels, features=None):
        predictions = qa.decode(data.examples, encoded, outputs["start_logits"], outputs["end_logits"])
        return squad_scores(predictions, [e.answers for e in data.examples])["f1"] / 100

    return TaskData("qa", encoded.inputs(), None, squad_f1, "F1")


def heads_on(classifier, num_tags, max_seq_length):
    """A PoS tagger and a span-QA model on the fine-tuned classifier's backbone (`arlm.mobilebert`).

    For when chapter 5 saved no tagger or QA model: their heads are untrained, so their task scores mean
    nothing, but the agreement and logit difference of their TFLite files still test the export.
    """
    from arlm.mobilebert import SpanQA, TokenTagger

    backbone = classifier.backbone
    return (
        TokenTagger(backbone, num_tags, max_seq_length=max_seq_length, name="tagger"),
        SpanQA(backbone, max_seq_length=max_seq_length, name="span_qa"),
    )


def study(model, stem, data, out_dir, calibration=None, precisions=tuple(PRECISIONS), threads=(1, 2), runs=10):
    """Export `model` in each precision to ``out_dir/<stem>.<precision>.tflite``, evaluate every file on
    `data` against Keras and time it; returns ``{"files", "evaluation", "latency"}``."""
    length = data.features["token_ids"].shape[1]
    files = export_all(model, out_dir, stem, precisions, calibration, max_seq_length=length)
    reference = keras_outputs(model, data.features)
    evaluation = evaluate_files(model, files, data.features, data.labels, data.metric, reference=reference)
    latency = measure_files(files, threads=threads, runs=runs)
    for row in evaluation + latency:
        row["model"] = stem
    return {"files": files, "evaluation": evaluation, "latency": latency}


def headline(evaluation, latency, model):
    """Chapter 6's summary of `model` (its ``results.json``): the dynamic-range file's size over the float32
    file's, its accuracy drop from Keras (metric points), and the 1-thread speed-ups of the dynamic-range and
    mixed int8 files over float32.

    Args:
        evaluation (list[dict]): `study`'s ``evaluation`` rows (``model``, ``precision``, ``bytes``, ``metric``).
        latency (list[dict]): its ``latency`` rows (``model``, ``precision``, ``num_threads``, ``latency_ms``).
        model (str): the stem of the model summarised.
    """
    size = {row["precision"]: row["bytes"] for row in evaluation if row["model"] == model}
    metric = {row["precision"]: row["metric"] for row in evaluation if row["model"] == model}
    one_thread = {row["precision"]: row["latency_ms"] for row in latency
                  if row["model"] == model and row["num_threads"] == 1}
    return {"dynamic_over_float32_size": float(size["dynamic"] / size["float32"]),
            "dynamic_speedup_1_thread": float(one_thread["float32"] / one_thread["dynamic"]),
            "dynamic_accuracy_drop": float(metric["keras"] - metric["dynamic"]),
            "int8_mixed_speedup_1_thread": float(one_thread["float32"] / one_thread["int8_mixed"])}
