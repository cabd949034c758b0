"""`arlm export MODEL --quantize {float32,dynamic,float16,int8} --out FILE.tflite` and `arlm predict FILE.tflite TEXT`.

Neither TensorFlow nor Keras is imported here at import time: `arlm predict` runs with the TFLite
interpreter and the pure-Python tokenizer only; `arlm export` imports TensorFlow inside its function.
"""

import json

from arlm.quantization import PRECISIONS


def register(subparsers):
    export = subparsers.add_parser(
        "export", help="write a fine-tuned model as a .tflite file (plus its sidecar and vocabulary)"
    )
    export.add_argument("model", metavar="MODEL_DIR", help="a fine-tuned .keras file, or chapter 5's models/ folder")
    export.add_argument("--name", help="which model of the folder, e.g. mberta_ajgt")
    export.add_argument("--quantize", default="dynamic", choices=list(PRECISIONS), help="precision (default dynamic)")
    export.add_argument("--out", required=True, metavar="FILE.tflite", help="output file")
    export.add_argument("--max-seq-length", type=int, help="input length (default: the model's)")
    export.add_argument("--vocab", help="vocabulary file (default: the one named in index.json)")
    export.add_argument("--calibration", metavar="TEXTS.txt", help="int8: texts, one a line, for calibration")
    export.set_defaults(func=_export)

    predict = subparsers.add_parser("predict", help="run a .tflite file on a text, without TensorFlow")
    predict.add_argument("tflite", metavar="FILE.tflite")
    predict.add_argument("text", metavar="TEXT", help="the text (for QA: the question)")
    predict.add_argument("--context", help="QA: the passage")
    predict.add_argument("--threads", type=int, help="interpreter threads (default: all cores)")
    predict.set_defaults(func=_predict)


def _export(args):
    from pathlib import Path

    from arlm.errors import ParameterError
    from arlm.quantization.export import (
        export_tflite,
        input_length,
        load_finetuned,
        model_entry,
        model_kind,
        write_sidecar,
    )

    path, meta = model_entry(args.model, args.name)
    vocab = args.vocab or meta.get("vocab")
    if not vocab or not Path(vocab).is_file():
        raise ParameterError(f"{path}: no vocabulary found (index.json names {vocab!r}); pass --vocab")
    model = load_finetuned(path)
    length = args.max_seq_length or meta.get("max_seq_length") or input_length(model)
    representative = None
    if args.quantize == "int8":
        if not args.calibration:
            raise ParameterError("--quantize int8 needs --calibration TEXTS.txt (texts from the task's training data)")
        representative = _encode_texts(Path(args.calibration), vocab, length)
    out = export_tflite(model, args.out, args.quantize, max_seq_length=length, representative_features=representative)
    kind = model_kind(model)
    labels = meta.get("labels") or ([] if kind == "qa" else [str(i) for i in range(model.output.shape[-1])])
    write_sidecar(out, vocab, kind, labels, length, args.quantize, source=str(path), dataset=meta.get("task"))
    print(
        f"arlm export: {out} ({out.stat().st_size / 2**20:.2f} MiB, {args.quantize}); "
        f"sidecar {out.with_suffix('.json').name}"
    )
    return 0


def _encode_texts(path, vocab, length):
    from arlm.tasks.finetune import encode_texts
    from arlm.tokenizer import WordPieceTokenizer

    texts = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return encode_texts(texts, WordPieceTokenizer(vocab), length)


def _predict(args):
    from arlm.predict import predict

    print(json.dumps(predict(args.tflite, args.text, args.context, args.threads), ensure_ascii=False))
    return 0
