"""Export a Keras model to a ``.tflite`` file at one of four precisions (spec section 6).

The paper's export wrote ``model_quant.tflite`` with ``optimizations`` set only behind a flag, so its
"quantized" sizes are float32 files (4 bytes per parameter). Here the model is saved once as a SavedModel
(``model.export(dir, format="tf_saved_model")``, Keras' own first step of ``format="litert"``) and converted
by `tf.lite.TFLiteConverter` once per precision:

* ``float32``: no optimisation.
* ``dynamic``: ``optimizations=[Optimize.DEFAULT]``: int8 weights for matmuls and embeddings, float activations.
* ``float16``: the same with ``supported_types=[float16]``: float16 weights.
* ``int8``: ``Optimize.DEFAULT`` plus a representative dataset: int8 weights and activations, with
  float kernels only where no int8 kernel exists (the int32 token ids stay int32).
* ``int8_mixed``: ``int8`` with the attention scores in float32: both batch matmuls (QK^T, PV), the scale, the
  -6 mask and the softmax (`tf.lite.experimental.QuantizationDebugger`'s selective quantization). XNNPACK has
  no int8 kernel for the broadcast mask ADD or for softmax, and its int8 batch matmul of two activations
  is far slower than its float32 one, so the plain ``int8`` file runs slower than float32 (chapter 6 shows
  it op by op with `arlm.quantization.profile`).

Only TFLite builtin ops are allowed, so the standalone ``ai-edge-litert`` interpreter runs every file. Every
file has the fixed input signature ``[batch_size, max_seq_length]`` int32 ``token_ids``, ``segment_ids`` and
``padding_mask``, so that the interpreter needs no resizing on a device.

>>> export_all(model, "out", "mberta_ajgt", representative_features=train_features)
{'float32': PosixPath('out/mberta_ajgt.float32.tflite'), 'dynamic': ..., 'float16': ..., 'int8': ...}
"""

import contextlib
import os
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np

from arlm import scratch
from arlm.errors import ParameterError
from arlm.files import atomic_path, check_space, write_json
from arlm.names import INPUT_NAMES
from arlm.quantization import PRECISIONS

CALIBRATED = ("int8", "int8_mixed")  # the precisions that need a representative dataset

def check_precision(precision):
    if precision not in PRECISIONS:
        raise ParameterError(
            f"unknown precision {precision!r} (parameter --quantize); choose one of: {', '.join(PRECISIONS)}"
        )
    return precision


def representative_dataset(features, num_examples=100, batch_size=1):
    """A generator function over the first `num_examples` rows of `features`, `batch_size` rows at a time.

    The full-int8 converter runs it to record the range of every activation (calibration); rows from
    the task's training data give ranges that match what the model will see.
    """
    arrays = {name: np.asarray(features[name], dtype=np.int32) for name in INPUT_NAMES}
    n = min(len(arrays["token_ids"]), num_examples) // batch_size * batch_size
    if n == 0:
        raise ParameterError(
            f"the representative dataset needs at least {batch_size} example(s), got {len(arrays['token_ids'])}"
        )

    def generate():
        for start in range(0, n, batch_size):
            yield {name: a[start : start + batch_size] for name, a in arrays.items()}

    return generate


def converter_kwargs(precision, representative=None):
    """The `tf.lite.TFLiteConverter` attributes for `precision` (passed to ``model.export``)."""
    import tensorflow as tf

    check_precision(precision)
    builtins = tf.lite.OpsSet.TFLITE_BUILTINS
    # builtin ops only: the standalone interpreter has no TF (flex) kernels
    kwargs = {"target_spec": {"supported_ops": [builtins]}}
    if precision == "dynamic":
        kwargs["optimizations"] = [tf.lite.Optimize.DEFAULT]
    elif precision == "float16":
        kwargs["optimizations"] = [tf.lite.Optimize.DEFAULT]
        kwargs["target_spec"]["supported_types"] = [tf.float16]
    elif precision in CALIBRATED:
        if representative is None:
            raise ParameterError(f"precision {precision!r} needs a representative dataset (parameter representative)")
        kwargs["optimizations"] = [tf.lite.Optimize.DEFAULT]
        kwargs["representative_dataset"] = representative
        kwargs["target_spec"]["supported_ops"] = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, builtins]
    return kwargs


def converter_settings(precision):
    """`converter_kwargs` of `precision` for reading: ``{setting: "A, B"}`` with enum names, not reprs."""
    kwargs = converter_kwargs(precision, representative=(lambda: iter([])) if precision in CALIBRATED else None)
    flat = {**kwargs.pop("target_spec"), **kwargs}
    return {key: "calibration examples" if callable(value)
            else ", ".join(getattr(v, "name", str(v)) for v in value) for key, value in flat.items()}


def input_signature(max_seq_length, batch_size=1):
    import tensorflow as tf

    return [{name: tf.TensorSpec([batch_size, max_seq_length], tf.int32, name=name) for name in INPUT_NAMES}]


def save_for_conversion(model, folder, max_seq_length=None, batch_size=1):
    """Write `model` as a SavedModel with the fixed input signature; the converter reads it (returns `folder`).

    Tracing and saving the model is the slow part of an export, so `export_all` does it once per model.
    """
    from arlm.runtime import float32_model

    max_seq_length = max_seq_length or input_length(model)
    model = float32_model(model)  # a model trained in mixed_bfloat16 is exported in float32
    with quiet():
        model.export(
            str(folder),
            format="tf_saved_model",
            input_signature=input_signature(max_seq_length, batch_size),
            verbose=False,
        )
    return Path(folder)


def convert(saved_model, path, precision="float32", representative=None):
    """Convert a SavedModel (from `save_for_conversion`) to a TFLite file at `precision`; returns the path."""
    import tensorflow as tf

    path = _check_out(path)
    with quiet():
        flatbuffer = _converter(saved_model, precision, representative).convert()
        if precision == "int8_mixed":
            # the same calibration, with the attention-score ops of the plain int8 graph left in float32
            options = tf.lite.experimental.QuantizationDebugOptions(
                denylisted_ops=["BATCH_MATMUL", "SOFTMAX"], denylisted_nodes=attention_score_nodes(flatbuffer))
            debugger = tf.lite.experimental.QuantizationDebugger(
                converter=_converter(saved_model, precision, representative), debug_dataset=representative,
                debug_options=options)
            flatbuffer = debugger.get_nondebug_quantized_model()
    with atomic_path(path) as tmp:
        check_space(path.parent, len(flatbuffer), path.name)
        tmp.write_bytes(flatbuffer)
    return path


def _converter(saved_model, precision, representative):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    for name, value in converter_kwargs(precision, representative).items():
        if name == "target_spec":
            for key, item in value.items():
                setattr(converter.target_spec, key, item)
        else:
            setattr(converter, name, value)
    return converter


def attention_score_nodes(flatbuffer):
    """Names of the ops between each attention's two batch matmuls, softmax excluded (the scale and the mask).

    Found from the graph, not from layer names: walking back from every SOFTMAX's input through the ops whose
    output has the scores' shape, up to the BATCH_MATMUL that computes QK^T.
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=bytes(flatbuffer))
    tensors = {d["index"]: d for d in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()
    producer = {int(out): op for op in ops for out in op["outputs"]}
    nodes = []
    for softmax in (op for op in ops if op["op_name"] == "SOFTMAX"):
        shape = tuple(tensors[int(softmax["inputs"][0])]["shape"])
        op = producer.get(int(softmax["inputs"][0]))
        while op is not None and op["op_name"] != "BATCH_MATMUL":
            nodes.append(tensors[int(op["outputs"][0])]["name"])
            same = [int(i) for i in op["inputs"] if i >= 0 and tuple(tensors[int(i)]["shape"]) == shape]
            op = producer.get(same[0]) if same else None
    return nodes


def export_tflite(
    model,
    path,
    precision="float32",
    max_seq_length=None,
    batch_size=1,
    representative_features=None,
    num_calibration_examples=100,
    scratch_dir=None,
):
    """Write `model` as a TFLite file at `precision`; returns the path.

    `max_seq_length` defaults to the model's input length; `representative_features` (a dict of int32
    arrays, e.g. encoded training examples) is required for ``int8`` and ``int8_mixed``; `scratch_dir` holds
    the SavedModel traced for the converter (default: the file's folder).
    """
    return export_all(
        model,
        Path(path).parent,
        None,
        (precision,),
        representative_features,
        max_seq_length,
        batch_size,
        num_calibration_examples,
        paths={precision: path},
        scratch_dir=scratch_dir,
    )[precision]


def export_all(
    model,
    folder,
    stem,
    precisions=tuple(PRECISIONS),
    representative_features=None,
    max_seq_length=None,
    batch_size=1,
    num_calibration_examples=100,
    paths=None,
    scratch_dir=None,
):
    """Export `model` once per precision as ``folder/<stem>.<precision>.tflite``; returns ``{precision: path}``.

    The model is traced and saved once (in a temporary folder in `scratch_dir`, default the files' folder), then
    converted per precision. ``int8`` and ``int8_mixed`` need `representative_features` (encoded training
    examples) for calibration.
    """
    paths = paths or {p: Path(folder) / f"{stem}.{p}.tflite" for p in precisions}
    for precision in precisions:
        check_precision(precision)
        _check_out(paths[precision])
    representative = None
    calibrated = [p for p in precisions if p in CALIBRATED]
    if calibrated:
        if representative_features is None:
            raise ParameterError(f"precision {calibrated[0]!r} needs representative_features (encoded training "
                                 "examples)")
        representative = representative_dataset(representative_features, num_calibration_examples, batch_size)
    # beside the files by default: a killed export's SavedModel is removed by the next one there (arlm.scratch)
    with scratch.scratch_dir(scratch_dir or Path(next(iter(paths.values()))).parent, "arlm-savedmodel") as saved:
        save_for_conversion(model, saved, max_seq_length, batch_size)
        return {p: convert(saved, paths[p], p, representative if p in CALIBRATED else None) for p in precisions}


@contextlib.contextmanager
def quiet():
    """Silence the converter's C++ log lines and TF's INFO messages (errors still raise as exceptions)."""
    import logging

    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as devnull, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the calibrator's tf.lite.Interpreter deprecation notice
        os.dup2(devnull.fileno(), 1)
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            logger.setLevel(level)


def _check_out(path):
    path = Path(path)
    if path.suffix != ".tflite":
        raise ParameterError(f"{path}: a TFLite file name must end with .tflite (parameter --out)")
    return path


def input_length(model):
    inputs = model.inputs
    inputs = (
        inputs.get("token_ids")
        if isinstance(inputs, dict)
        else next((x for x in inputs if "token_ids" in x.name), inputs[0])
    )
    length = inputs.shape[1]
    if length is None:
        raise ParameterError(f"model {model.name!r} has a variable sequence length: pass max_seq_length")
    return int(length)


def sidecar_path(tflite_path):
    """``model.tflite`` -> ``model.json``: what the on-device path needs besides the weights."""
    return Path(tflite_path).with_suffix(".json")


def write_sidecar(tflite_path, vocab_path, task, labels, max_seq_length, precision, **extra):
    """Write ``<file>.json`` and copy the vocabulary beside the TFLite file as ``<file>.vocab.txt``.

    `task` is ``classification``, ``tagging`` or ``qa``; `labels` the label names in logit order.
    """
    tflite_path = Path(tflite_path)
    vocab_copy = tflite_path.with_suffix(".vocab.txt")
    with atomic_path(vocab_copy) as tmp:
        shutil.copyfile(vocab_path, tmp)
    return write_json(
        sidecar_path(tflite_path),
        {
            "task": task,
            "labels": list(labels),
            "max_seq_length": int(max_seq_length),
            "precision": precision,
            "vocab": vocab_copy.name,
            **extra,
        },
    )


def model_kind(model):
    """``qa`` (start/end logits), ``tagging`` (logits per position) or ``classification``, from the outputs."""
    outputs = model.output
    if isinstance(outputs, dict):
        return "qa" if "start_logits" in outputs else "classification"
    return "tagging" if len(outputs.shape) == 3 else "classification"
