"""What every model file run without TensorFlow shares: a fixed input shape ``[batch_size, max_seq_length]`` and
calls on any number of rows, batch by batch. `arlm.quantization.interpreter.TFLiteModel` (``.tflite``) and
`arlm.quantization.onnx_model.OnnxModel` (``.onnx``) derive from it; `arlm.quantization.interpreter.open_model`
picks one by the file's suffix.
"""

import numpy as np

from arlm.errors import ParameterError
from arlm.names import INPUT_NAMES


class FixedShapeModel:
    """A loaded model file with a fixed input shape ``[batch_size, max_seq_length]`` (`TFLiteModel`, `OnnxModel`).

    Subclasses set ``path``, ``batch_size``, ``max_seq_length``, ``output_names``, ``output_shapes`` and define
    `run_batch`; calling the model runs any number of rows batch by batch.
    """

    def __call__(self, features):
        arrays = {name: np.asarray(features[name], dtype=np.int32) for name in INPUT_NAMES}
        n, length = arrays["token_ids"].shape
        if length != self.max_seq_length:
            raise ParameterError(
                f"{self.path} takes sequences of length {self.max_seq_length}, got {length}: "
                f"encode with max_seq_length={self.max_seq_length}"
            )
        pieces = []
        for start in range(0, n, self.batch_size):
            chunk = {name: a[start : start + self.batch_size] for name, a in arrays.items()}
            rows = len(chunk["token_ids"])
            if rows < self.batch_size:  # pad the last batch with copies of its first row
                chunk = {
                    name: np.concatenate([a, np.repeat(a[:1], self.batch_size - rows, 0)]) for name, a in chunk.items()
                }
            pieces.append({name: value[:rows] for name, value in self.run_batch(chunk).items()})
        return {name: np.concatenate([piece[name] for piece in pieces]) for name in pieces[0]}
