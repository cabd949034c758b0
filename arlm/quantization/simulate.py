"""Weight quantization simulated inside the Keras model: chosen kernels rounded to int8 and back.

TFLite's converter quantizes every large weight tensor or none; to study a variant of the method (e.g. only the
feed-forward networks in int8), `quantized_weights` replaces a chosen subset of kernels by their symmetric
per-output-channel int8 round trip (as dynamic-range quantization stores them) while the Keras model runs, then
puts the float weights back. Activations stay float, as in dynamic-range quantization.

>>> with quantized_weights(model, lambda path: "ffn_" in path) as count:  # doctest: +SKIP
...     outputs = keras_outputs(model, features)
"""

import contextlib

import numpy as np

# TFLite's dynamic-range quantization leaves tensors with fewer elements than this in float32
MIN_ELEMENTS = 1024


def fake_quantize(weights, bits=8):
    """The symmetric per-output-channel round trip of a kernel (last axis = output channels).

    Args:
        weights: an array of at least 2 dimensions.
        bits (int): the integer width; values map to ``[-(2^(bits-1) - 1), 2^(bits-1) - 1]`` times
            ``scale = max|w| / (2^(bits-1) - 1)`` of each output channel.
    """
    w = np.asarray(weights, np.float32)
    levels = 2 ** (bits - 1) - 1
    scale = np.max(np.abs(w), axis=tuple(range(w.ndim - 1)), keepdims=True) / levels
    scale = np.where(scale == 0, 1.0, scale)
    return (np.clip(np.round(w / scale), -levels, levels) * scale).astype(np.float32)


@contextlib.contextmanager
def quantized_weights(model, select, bits=8, min_elements=MIN_ELEMENTS):
    """Inside the ``with`` block, the kernels of `model` chosen by `select` hold their int8 round trip.

    Args:
        model: a Keras model.
        select: ``select(path) -> bool`` on a variable's path (e.g. ``lambda p: "ffn_" in p``).
        bits (int): integer width of `fake_quantize`.
        min_elements (int): smaller tensors stay float, as TFLite leaves them.

    Yields the number of parameters quantized; the float weights are restored on exit, even after an error.
    """
    chosen = [w for w in model.weights
              if len(w.shape) >= 2 and int(np.prod(w.shape)) >= min_elements and select(w.path)]
    saved = [np.array(w.numpy()) for w in chosen]
    try:
        for variable, value in zip(chosen, saved, strict=True):
            variable.assign(fake_quantize(value, bits))
        yield sum(value.size for value in saved)
    finally:
        for variable, value in zip(chosen, saved, strict=True):
            variable.assign(value)


def sensitivity_finding(rows):
    """A sentence on which part of a model is more sensitive to int8 weights, per share of the parameters.

    Args:
        rows (dict): ``{label: {"share": fraction of parameters quantized, "max_logit_diff": largest logit change
            against the float model}}``, one per selection of kernels (chapter 6's last exercise).
    """
    if max(row["max_logit_diff"] for row in rows.values()) < 1e-3:
        return ("Every selection moves the logits by less than 0.001: this model's outputs hardly depend on the fine "
                "detail of its weights, so the comparison needs a trained model.")
    per_share = {label: row["max_logit_diff"] / row["share"] for label, row in rows.items() if row["share"] > 0}
    said = "; ".join(f"{label}: {rows[label]['max_logit_diff']:.4f} for {rows[label]['share']:.0%} of the parameters"
                     for label in per_share)
    most = max(per_share, key=per_share.get)
    return (f"Largest logit change against the float model: {said}. Per share of the parameters quantized, "
            f"{most} moves the logits most in this run.")
