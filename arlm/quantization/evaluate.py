"""Every exported file against the Keras model on a task's test set: metric, agreement, max logit difference.

Quantizing MobileBERT carelessly is known to collapse accuracy; these three numbers locate a problem:
the metric says whether it matters, agreement (the fraction of argmax predictions equal to Keras') says
how often the decision changes, and the max logit difference says by how much the numbers move.

>>> rows = evaluate_files(model, {"float32": "m.float32.tflite", "dynamic": "m.dynamic.tflite"},
...                       features, labels, metric=accuracy)
>>> [(row["precision"], row["metric"], row["agreement"]) for row in rows]
[('keras', 0.81, 1.0), ('float32', 0.81, 1.0), ('dynamic', 0.81, 0.99)]
"""

import os

import numpy as np

from arlm.errors import ArtifactError
from arlm.quantization.interpreter import open_model


def accuracy(outputs, labels, features=None):
    """Sequence classification: mean of argmax(logits) == label."""
    return float(np.mean(np.argmax(outputs["logits"], -1) == np.asarray(labels)))


def token_accuracy(outputs, labels, features):
    """Token classification: argmax accuracy over the non-padding positions whose label is >= 0."""
    labels = np.asarray(labels)
    keep = (np.asarray(features["padding_mask"]) > 0) & (labels >= 0)
    return float(np.mean(np.argmax(outputs["logits"], -1)[keep] == labels[keep]))


def span_accuracy(outputs, labels, features=None):
    """Span QA on windows: both argmax(start) and argmax(end) equal the gold positions (``labels`` = (start, end))."""
    start, end = (np.asarray(x) for x in labels)
    return float(
        np.mean((np.argmax(outputs["start_logits"], -1) == start) & (np.argmax(outputs["end_logits"], -1) == end))
    )


def keras_outputs(model, features, batch_size=32):
    """The Keras model's outputs as ``{name: array}`` (a single output is called ``logits``)."""
    from arlm.fitting import predict
    from arlm.runtime import float32_model

    outputs = predict(float32_model(model), dict(features), batch_size)  # as the exported files compute
    if isinstance(outputs, dict):
        return {name: np.asarray(value) for name, value in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return {f"output_{i}": np.asarray(value) for i, value in enumerate(outputs)}
    return {"logits": np.asarray(outputs)}


def compare(reference, outputs, features):
    """Agreement of argmax predictions and max |logit difference| between two ``{name: array}`` outputs.

    Per-token outputs ([batch, seq, classes]) are compared on non-padding positions only.
    """
    mask = np.asarray(features["padding_mask"]) > 0
    agree, diff = [], 0.0
    for name, ref in reference.items():
        out = np.asarray(outputs[name], dtype=np.float32)
        ref = np.asarray(ref, dtype=np.float32)
        if ref.ndim == 3:  # [batch, seq, classes]: keep real tokens
            ref, out = ref[mask], out[mask]
        elif ref.ndim == 2 and ref.shape[1] == mask.shape[1] and name != "logits":  # [batch, seq] span logits
            diff = max(diff, float(np.max(np.abs(np.where(mask, ref - out, 0.0)))))
            agree.append(np.argmax(np.where(mask, ref, -1e9), -1) == np.argmax(np.where(mask, out, -1e9), -1))
            continue
        diff = max(diff, float(np.max(np.abs(ref - out))))
        agree.append(np.argmax(ref, -1) == np.argmax(out, -1))
    return {"agreement": float(np.mean(np.concatenate(agree))), "max_logit_diff": diff}


def evaluate_files(model, files, features, labels, metric=accuracy, num_threads=None, reference=None):
    """Rows ``{precision, file, bytes, metric, agreement, max_logit_diff}``, the Keras model first.

    `files` maps a precision name to a ``.tflite`` or ``.onnx`` path; `features` is a dict of int32 arrays encoded at
    the files' sequence length; `metric(outputs, labels, features)` returns the task's score.
    """
    reference = reference if reference is not None else keras_outputs(model, features)
    rows = [
        {
            "precision": "keras",
            "file": None,
            "bytes": None,
            "metric": metric(reference, labels, features),
            "agreement": 1.0,
            "max_logit_diff": 0.0,
        }
    ]
    for precision, path in files.items():
        outputs = open_model(path, num_threads=num_threads)(features)
        outputs = _align(outputs, reference)
        rows.append(
            {
                "precision": precision,
                "file": str(path),
                "bytes": os.path.getsize(path),
                "metric": metric(outputs, labels, features),
                **compare(reference, outputs, features),
            }
        )
    return rows


def _align(outputs, reference):
    # a single-output file is named "logits"; a multi-output file by the Keras output names
    if set(outputs) == set(reference):
        return outputs
    if len(outputs) == len(reference) == 1:
        return {next(iter(reference)): next(iter(outputs.values()))}
    missing = set(reference) - set(outputs)
    raise ArtifactError(
        f"the file's outputs {sorted(outputs)} do not match the Keras outputs {sorted(reference)} "
        f"(missing {sorted(missing)})"
    )
