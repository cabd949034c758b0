"""Run an ``.onnx`` file written by `arlm export --format onnx` with ONNX Runtime: numpy in, numpy out, no TensorFlow.

The second deployment target of chapter 6, for x86 servers: ONNX Runtime's int8 kernels (``quantize_dynamic``'s
``MatMulInteger``) are what a user on such a machine would otherwise pick. ``onnxruntime`` comes with the
``onnx`` extra (``pip install 'arlm[onnx]'``).

>>> model = OnnxModel("mberta_ajgt.dynamic.onnx", num_threads=1)
>>> model({"token_ids": ids, "segment_ids": segments, "padding_mask": mask})["logits"].shape
(4, 2)
"""

import os
from pathlib import Path

import numpy as np

from arlm.errors import ArtifactError, ParameterError
from arlm.names import INPUT_NAMES
from arlm.quantization.fixed_shape import FixedShapeModel

INSTALL = "pip install 'arlm[onnx]'"


def runtime():
    """The `onnxruntime` module, or a `ParameterError` that says how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise ParameterError(f"running an .onnx file needs ONNX Runtime: {INSTALL}") from None
    return onnxruntime


class OnnxModel(FixedShapeModel):
    """A loaded ``.onnx`` file with inputs ``token_ids``, ``segment_ids``, ``padding_mask`` [batch, length] int32.

    Args:
        path (str | Path): the file.
        num_threads (int | None): ONNX Runtime's intra-op threads (default: all cores); inter-op runs sequentially.
    """

    def __init__(self, path, num_threads=None):
        ort = runtime()
        self.path = Path(path)
        if not self.path.is_file():
            raise ArtifactError(f"{self.path}: no such ONNX file")
        self.num_threads = num_threads or os.cpu_count() or 1
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.num_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # errors only: no warnings about unused initializers
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for a corrupt file
            raise ArtifactError(f"{self.path}: not an ONNX model ({str(error).splitlines()[0]}); truncated, or not "
                                "written by `arlm export --format onnx`?") from None
        inputs = {i.name: i for i in self.session.get_inputs()}
        missing = [name for name in INPUT_NAMES if name not in inputs]
        if missing:
            raise ArtifactError(f"{self.path}: inputs {sorted(inputs)} lack {missing}; expected {INPUT_NAMES}")
        shape = inputs["token_ids"].shape
        if not all(isinstance(n, int) for n in shape):
            raise ArtifactError(f"{self.path}: input shape {shape} is not fixed (export it with `arlm export`)")
        self.batch_size, self.max_seq_length = (int(n) for n in shape)
        outputs = self.session.get_outputs()
        self.output_names = [o.name for o in outputs]
        self.output_shapes = {o.name: tuple(o.shape) for o in outputs}

    def run_batch(self, features):
        """One run on exactly ``[batch_size, max_seq_length]`` int32 arrays; ``{output name: array}``."""
        feed = {name: np.asarray(features[name], dtype=np.int32) for name in INPUT_NAMES}
        return dict(zip(self.output_names, self.session.run(self.output_names, feed), strict=True))
