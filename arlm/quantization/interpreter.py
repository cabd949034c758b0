"""Run a ``.tflite`` file with the ``ai-edge-litert`` interpreter: numpy in, numpy out, no TensorFlow.

`tf.lite.Interpreter` is deprecated (and gave wrong full-int8 results in this book's tests); the
standalone ``ai_edge_litert`` package is what runs on a phone or a Raspberry Pi.

>>> model = TFLiteModel("mberta_ajgt.dynamic.tflite", num_threads=2)
>>> model.batch_size, model.max_seq_length
(1, 128)
>>> logits = model({"token_ids": ids, "segment_ids": segments, "padding_mask": mask})["logits"]
"""

import os
from pathlib import Path

import numpy as np

from arlm.errors import ArtifactError
from arlm.names import INPUT_NAMES
from arlm.quantization.fixed_shape import FixedShapeModel


class TFLiteModel(FixedShapeModel):
    """A loaded ``.tflite`` file with a fixed input shape ``[batch_size, max_seq_length]``.

    Calling it with arrays of any number of rows runs the file batch by batch (padding the last batch)
    and returns ``{output name: array}``; a file with a single output names it ``logits``.
    ``xnnpack=False`` runs TFLite's built-in kernels only (no default XNNPACK delegate), for comparison.
    """

    def __init__(self, path, num_threads=None, xnnpack=True):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        self.path = Path(path)
        if not self.path.is_file():
            raise ArtifactError(f"{self.path}: no such TFLite file")
        self.num_threads = num_threads or os.cpu_count() or 1
        resolver = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        try:
            self.interpreter = Interpreter(model_path=str(self.path), num_threads=self.num_threads,
                                           experimental_op_resolver_type=resolver)
        except ValueError as error:  # the interpreter's message names no file
            raise ArtifactError(f"{self.path}: not a TFLite model ({error}); truncated, or not written by "
                                "`arlm export`?") from None
        signatures = self.interpreter.get_signature_list()
        if not signatures:
            raise ArtifactError(f"{self.path}: the TFLite model has no signature (export it with `arlm export`)")
        self.runner = self.interpreter.get_signature_runner(next(iter(signatures)))
        self.input_details = self.runner.get_input_details()
        missing = [name for name in INPUT_NAMES if name not in self.input_details]
        if missing:
            raise ArtifactError(
                f"{self.path}: inputs {sorted(self.input_details)} lack {missing}; expected {INPUT_NAMES}"
            )
        self.batch_size, self.max_seq_length = (int(n) for n in self.input_details["token_ids"]["shape"])
        outputs = self.runner.get_output_details()
        self.output_names = sorted(outputs)
        # a file with a single output names it ``logits``, as `run_batch` does
        self.output_shapes = {("logits" if len(outputs) == 1 else name): tuple(int(n) for n in detail["shape"])
                              for name, detail in outputs.items()}

    def run_batch(self, features):
        """One invocation on exactly ``[batch_size, max_seq_length]`` int32 arrays."""
        outputs = self.runner(**{name: np.asarray(features[name], dtype=np.int32) for name in INPUT_NAMES})
        if len(outputs) == 1:
            return {"logits": next(iter(outputs.values()))}
        return dict(outputs)  # a dict-output model keeps its Keras output names


def open_model(path, num_threads=None, xnnpack=True):
    """A `TFLiteModel` for a ``.tflite`` file, an `arlm.quantization.onnx_model.OnnxModel` for an ``.onnx`` file.

    Args:
        path (str | Path): the file, as `arlm export` writes it.
        num_threads (int | None): runtime threads (default: all cores).
        xnnpack (bool): TFLite only: False runs the built-in kernels without the XNNPACK delegate.
    """
    if Path(path).suffix == ".onnx":
        from arlm.quantization.onnx_model import OnnxModel

        return OnnxModel(path, num_threads=num_threads)
    return TFLiteModel(path, num_threads=num_threads, xnnpack=xnnpack)
