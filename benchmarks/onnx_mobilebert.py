"""ONNX Runtime reference of `tflite_latency.py`: `transformers` MobileBERT to ONNX, float32 and int8 (own environment).

    python onnx_mobilebert.py --config '{"vocab_size": 50000, ...}' --num-labels 2 --seq 128 --out DIR

builds `transformers.MobileBertForSequenceClassification` with arlm's config (random weights, seed 0), exports it
with `torch.onnx.export` at the fixed shape [1, seq] with arlm's input names and int32 ids (so that
`arlm.quantization.latency` times it exactly as it times arlm's files), and quantizes it with
`onnxruntime.quantization.quantize_dynamic` (int8 weights, per output channel). Prints one JSON line with the
two paths and the versions used.
"""

import argparse
import json
from pathlib import Path

from hf_reference import hf_config


def export(config, num_labels, seq, out):
    """`out/reference.float32.onnx` and `out/reference.int8.onnx`; returns their paths."""
    import torch
    import transformers
    from onnxruntime.quantization import QuantType, quantize_dynamic

    torch.manual_seed(0)
    hf = hf_config(config, max_position_embeddings=config["max_position_embeddings"],
                   type_vocab_size=config["type_vocab_size"], num_labels=num_labels)
    model = transformers.MobileBertForSequenceClassification(hf).eval()
    ids = torch.randint(5, config["vocab_size"], (1, seq), dtype=torch.int32)
    args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    float32 = out / "reference.float32.onnx"
    names = {"input_names": ["token_ids", "padding_mask", "segment_ids"], "output_names": ["logits"],
             "opset_version": 17}
    with torch.no_grad():
        try:  # the TorchScript exporter: a plain graph that quantize_dynamic knows
            torch.onnx.export(model, args, str(float32), dynamo=False, **names)
        except TypeError:  # a torch without the dynamo switch
            torch.onnx.export(model, args, str(float32), **names)
    int8 = out / "reference.int8.onnx"
    quantize_dynamic(str(float32), str(int8), per_channel=True, weight_type=QuantType.QInt8)
    return {"float32": float32, "int8": int8}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="arlm MobileBertConfig as JSON")
    parser.add_argument("--num-labels", type=int, default=2)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--out", required=True, help="folder for the ONNX files")
    args = parser.parse_args()
    import onnxruntime
    import torch
    import transformers

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = export(json.loads(args.config), args.num_labels, args.seq, out)
    print(json.dumps({**{k: str(v) for k, v in files.items()}, "torch": torch.__version__,
                      "transformers": transformers.__version__, "onnxruntime": onnxruntime.__version__}))


if __name__ == "__main__":
    main()
