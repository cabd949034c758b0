"""Chapter 6: fine-tuned models as TFLite files, their real size, accuracy and latency (spec section 6).

* `arlm.quantization.export`: a Keras model with inputs ``token_ids``, ``segment_ids``, ``padding_mask`` to a
  ``.tflite`` file in float32, dynamic-range int8, float16 or full int8 (imports TensorFlow).
* `arlm.quantization.interpreter`: run a ``.tflite`` file with the ``ai-edge-litert`` interpreter (no TensorFlow).
* `arlm.quantization.evaluate`: every file against the Keras model: metric, agreement, max logit difference.
* `arlm.quantization.latency`: per-example latency, throughput and memory of the loaded interpreter.
* `arlm.quantization.sizes`: the paper's Table 4 (parameters, checkpoint and TFLite sizes), paper vs. ours.

Importing this package loads neither TensorFlow nor Keras.
"""

from arlm.names import INPUT_NAMES  # noqa: F401  (the fixed input signature of every exported file: [batch, T] int32)

# precision name -> what the converter does (spec section 6)
PRECISIONS = {
    "float32": "no optimisation: the paper's 'quantized' column (4 bytes per parameter)",
    "dynamic": "dynamic-range int8: int8 weights, float activations (about 1 byte per parameter)",
    "float16": "float16 weights, dequantized to float32 at load time (2 bytes per parameter)",
    "int8": "full integer: int8 weights and activations, calibrated on a representative dataset",
}
