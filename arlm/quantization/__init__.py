"""Chapter 6: fine-tuned models as TFLite (and ONNX) files, their real size, accuracy and latency (spec section 6).

* `arlm.quantization.export`: a Keras model with inputs ``token_ids``, ``segment_ids``, ``padding_mask`` to a
  ``.tflite`` file in float32, dynamic-range int8, float16, full int8 or int8 with float attention scores
  (imports TensorFlow).
* `arlm.quantization.onnx_export`: the same model as an ``.onnx`` file, float32 or dynamic int8 (the ``onnx``
  extra: ``tf2onnx`` and ``onnxruntime``), a second deployment target for x86 servers.
* `arlm.quantization.interpreter`: run a ``.tflite`` file with the ``ai-edge-litert`` interpreter (no TensorFlow);
  `open_model` opens either kind of file (`arlm.quantization.onnx_model` runs ``.onnx`` with ONNX Runtime).
* `arlm.quantization.evaluate`: every file against the Keras model: metric, agreement, max logit difference.
* `arlm.quantization.latency`: per-example latency, throughput and memory of the loaded interpreter.
* `arlm.quantization.profile`: time per op of a TFLite file, and which ops leave the XNNPACK delegate.
* `arlm.quantization.sizes`: the paper's Table 4 (parameters, checkpoint and TFLite sizes), paper vs. ours.
* `arlm.quantization.study`: one model through all of it, and which of chapter 5's models chapter 6 exports.

Importing this package loads neither TensorFlow nor Keras.
"""



# precision name -> what the converter does (spec section 6)
PRECISIONS = {
    "float32": "no optimisation: the paper's 'quantized' column (4 bytes per parameter)",
    "dynamic": "dynamic-range int8: int8 weights, float activations (about 1 byte per parameter)",
    "float16": "float16 weights, dequantized to float32 at load time (2 bytes per parameter)",
    "int8": "full integer: int8 weights and activations, calibrated on a representative dataset",
    "int8_mixed": "full integer except the attention scores (QK^T, scale, -6 mask, softmax, PV) kept in float32",
}

# the precisions of an ``.onnx`` file (`arlm.quantization.onnx_export`)
ONNX_PRECISIONS = {
    "float32": "no optimisation",
    "dynamic": "onnxruntime's quantize_dynamic: int8 weights per output channel, activations quantized on the fly",
}

# the file formats of `arlm export --format` and what runs them without TensorFlow
FORMATS = {"tflite": "ai-edge-litert (LiteRT) with XNNPACK", "onnx": "ONNX Runtime (the onnx extra)"}
