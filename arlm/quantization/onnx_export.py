"""Export a Keras model to an ``.onnx`` file, float32 or dynamic int8, for ONNX Runtime (chapter 6).

Keras 3 writes the file itself (``model.export(path, format="onnx")``, which on the TensorFlow backend traces
the model and converts it with ``tf2onnx``), with the same fixed input signature as the TFLite files:
``[batch_size, max_seq_length]`` int32 ``token_ids``, ``segment_ids``, ``padding_mask``. The graph outputs
are then named after the Keras outputs (``logits``, or ``start_logits`` / ``end_logits``), and ``dynamic``
quantizes it with ONNX Runtime's ``quantize_dynamic`` (int8 weights per output channel, activations quantized
per call: the x86 int8 path, VNNI where the CPU has it). This route needs no PyTorch: building the model again
in ``transformers`` would also change its numerics (spec 1.1: the -6 mask, the tanh GELU).

Needs the ``onnx`` extra (``tf2onnx``, ``onnx``, ``onnxruntime``) and TensorFlow.

>>> export_onnx(model, "mberta_ajgt.dynamic.onnx", "dynamic", max_seq_length=128)
PosixPath('mberta_ajgt.dynamic.onnx')
"""

import logging
from pathlib import Path

from arlm import scratch
from arlm.errors import ParameterError
from arlm.files import atomic_path
from arlm.quantization import ONNX_PRECISIONS
from arlm.quantization.onnx_model import INSTALL


def check_onnx_precision(precision):
    if precision not in ONNX_PRECISIONS:
        raise ParameterError(f"precision {precision!r} has no .onnx file (parameter --quantize with --format onnx); "
                             f"choose one of: {', '.join(ONNX_PRECISIONS)}")
    return precision


def requirements():
    """The `onnx` module, after checking that tf2onnx and onnxruntime import; else a `ParameterError` saying how."""
    try:
        import onnx
        import onnxruntime.quantization  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError as error:
        raise ParameterError(f"writing an .onnx file needs {error.name}: {INSTALL}") from None
    return onnx


def output_names(model):
    """The Keras output names in the order ``tf2onnx`` flattens them (a dict's keys sorted; one output: logits)."""
    outputs = model.output
    return sorted(outputs) if isinstance(outputs, dict) else ["logits"]


def export_onnx(model, path, precision="float32", max_seq_length=None, batch_size=1):
    """Write `model` as an ONNX file at `precision` (``float32`` or ``dynamic``); returns the path.

    Args:
        model (keras.Model): a model with the inputs ``token_ids``, ``segment_ids``, ``padding_mask``.
        path (str | Path): the ``.onnx`` file to write (atomically).
        precision (str): a key of `arlm.quantization.ONNX_PRECISIONS`.
        max_seq_length (int | None): the input length (default: the model's).
        batch_size (int): the fixed batch of the file.
    """
    from arlm.quantization.export import input_length, input_signature, quiet
    from arlm.runtime import float32_model

    path = Path(path)
    if path.suffix != ".onnx":
        raise ParameterError(f"{path}: an ONNX file name must end with .onnx (parameter --out)")
    check_onnx_precision(precision)
    onnx = requirements()
    max_seq_length = max_seq_length or input_length(model)
    model = float32_model(model)  # a model trained in mixed_bfloat16 is exported in float32
    with scratch.scratch_dir(path.parent, "arlm-onnx") as work:
        raw = Path(work) / "model.onnx"
        with quiet():
            model.export(str(raw), format="onnx", input_signature=input_signature(max_seq_length, batch_size),
                         verbose=False)
        graph = onnx.load(str(raw))
        _rename_outputs(graph, output_names(model))
        named = Path(work) / "named.onnx"
        onnx.save(graph, str(named))
        if precision == "dynamic":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantized = Path(work) / "dynamic.onnx"
            logging.disable(logging.WARNING)  # its advice to run shape inference first, through the root logger
            try:
                with quiet():
                    quantize_dynamic(str(named), str(quantized), per_channel=True, weight_type=QuantType.QInt8)
            finally:
                logging.disable(logging.NOTSET)
            named = quantized
        with atomic_path(path) as tmp:
            tmp.write_bytes(named.read_bytes())
    return path


def _rename_outputs(model, names):
    graph = model.graph
    if len(graph.output) != len(names):
        raise ParameterError(f"the ONNX graph has {len(graph.output)} outputs, the Keras model {len(names)} ({names})")
    for output, name in zip(graph.output, names, strict=True):
        old = output.name
        for node in graph.node:
            node.output[:] = [name if o == old else o for o in node.output]
            node.input[:] = [name if i == old else i for i in node.input]
        output.name = name
