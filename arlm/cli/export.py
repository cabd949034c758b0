"""`arlm export MODEL --quantize PRECISION --out FILE.tflite|FILE.onnx` and `arlm predict FILE TEXT`.

Neither TensorFlow nor Keras is imported here at import time: `arlm predict` runs with the TFLite
interpreter (or ONNX Runtime for an ``.onnx`` file) and the pure-Python tokenizer only; `arlm export` imports
TensorFlow inside its function.
"""

import json

from arlm.cli.checks import encoding_flag, input_file, int_at_least, output_file, positive_int
from arlm.quantization import FORMATS, ONNX_PRECISIONS, PRECISIONS


def register(subparsers):
    export = subparsers.add_parser(
        "export", help="write a fine-tuned model as a .tflite or .onnx file (plus its sidecar and vocabulary)"
    )
    export.add_argument("model", metavar="MODEL_DIR",
                        help="a fine-tuned .keras file, chapter 5's models/ folder, a preset folder (save_to_preset), "
                             "a keras-hub handle (hf://, kaggle://) or a packaged preset's name")
    export.add_argument("--name", help="which model of the folder, e.g. mberta_ajgt")
    export.add_argument("--quantize", default="dynamic", choices=list(PRECISIONS),
                        help=f"precision (default dynamic; an .onnx file: {', '.join(ONNX_PRECISIONS)})")
    export.add_argument("--format", choices=list(FORMATS),
                        help="tflite (LiteRT, phones) or onnx (ONNX Runtime, x86 servers; the onnx extra); "
                             "default: from --out's suffix, else tflite")
    export.add_argument("--out", required=True, metavar="FILE.tflite", help="output file (.tflite or .onnx)")
    export.add_argument("--max-seq-length", type=int_at_least(3), help="input length (default: the model's)")
    export.add_argument("--vocab", help="vocabulary file (default: the one named in index.json)")
    export.add_argument("--calibration", metavar="TEXTS.txt", help="int8: texts, one a line, for calibration")
    encoding_flag(export, "the --calibration file")
    export.set_defaults(func=_export)

    predict = subparsers.add_parser("predict", help="run a .tflite or .onnx file on a text, without TensorFlow")
    predict.add_argument("tflite", metavar="FILE", help="a .tflite or .onnx file written by `arlm export`")
    predict.add_argument("text", metavar="TEXT",
                         help="the text (for QA: the question); - reads texts from standard input, one a line, and "
                              "prints one JSON line each")
    encoding_flag(predict, "standard input (TEXT -)")
    predict.add_argument("--context", help="QA: the passage")
    predict.add_argument("--threads", type=positive_int, help="interpreter threads (default: all cores)")
    predict.set_defaults(func=_predict)


def _export(args):
    from pathlib import Path

    from arlm.artifacts import model_entry
    from arlm.errors import ParameterError
    from arlm.files import check_space, move_into, staging_beside
    from arlm.preset_format import VOCABULARY_FILE, is_preset, model_bytes, preset_file, preset_metadata
    from arlm.quantization.export import (
        CALIBRATED,
        export_tflite,
        input_length,
        model_kind,
        sidecar_path,
        write_sidecar,
    )
    from arlm.saving import load_model
    from arlm.tokenizer import read_vocabulary

    # every input is checked before the (slow) model load, and nothing is written before the export succeeded
    if is_preset(args.model):  # its metadata and vocabulary travel inside it (save_to_preset)
        path, meta = args.model, preset_metadata(args.model, "MODEL_DIR")
        meta["vocab"] = preset_file(path, VOCABULARY_FILE, "MODEL_DIR")
        where = f"the preset {path} ({VOCABULARY_FILE})"
    else:
        path, meta = model_entry(args.model, args.name)
        where = path.parent / "index.json"
    file_format = args.format or ("onnx" if Path(args.out).suffix == ".onnx" else "tflite")
    out = output_file(args.out, "--out", f".{file_format}")
    if file_format == "onnx":
        from arlm.quantization.onnx_export import check_onnx_precision, requirements

        check_onnx_precision(args.quantize)
        requirements()
    for companion in (sidecar_path(out), out.with_suffix(".vocab.txt")):
        output_file(companion, "--out")
    vocab = args.vocab or meta.get("vocab")
    if not vocab or not Path(vocab).is_file():
        raise ParameterError(f"{path}: no vocabulary found ({where} names {vocab!r}); pass --vocab")
    named = "--vocab" if args.vocab else f"vocab of {where}"
    vocab_size = len(read_vocabulary(vocab, parameter=named))
    calibration = None
    if args.quantize in CALIBRATED:
        if not args.calibration:
            raise ParameterError(f"--quantize {args.quantize} needs --calibration TEXTS.txt (texts from the task's "
                                 "training data)")
        calibration = _calibration_texts(input_file(args.calibration, "--calibration"), args.encoding)
    from arlm.mobilebert import MobileBertTextClassifier, SpanQA, TokenTagger

    # a Keras model of another program has none of the inputs, outputs and vocabulary an arlm export needs
    model = load_model(path, compile=False, parameter="MODEL_DIR",
                       expect=(MobileBertTextClassifier, TokenTagger, SpanQA))
    length = args.max_seq_length or meta.get("max_seq_length") or input_length(model)
    _check_model(model, path, vocab, vocab_size, length)
    kind = model_kind(model)
    labels = meta.get("labels") or ([] if kind == "qa" else [str(i) for i in range(model.output.shape[-1])])
    if kind != "qa" and len(labels) != model.output.shape[-1]:
        raise ParameterError(f"{path}: index.json names {len(labels)} labels but the model has "
                             f"{model.output.shape[-1]} outputs")
    representative = _encode_texts(calibration, vocab, length) if calibration else None
    # one export of `out` at a time; its files are made in a staging folder beside it (which the next run
    # removes if this one is killed) and moved in only when all are complete
    with staging_beside(out) as staging:
        # the traced model and the exported file take at most twice the float32 weights: refused now, not half-way
        check_space(staging, 2 * model_bytes(model, optimizer=False), out.name)
        if file_format == "onnx":
            from arlm.quantization.onnx_export import export_onnx

            staged = export_onnx(model, staging / out.name, args.quantize, max_seq_length=length)
        else:
            staged = export_tflite(model, staging / out.name, args.quantize, max_seq_length=length,
                                   representative_features=representative, scratch_dir=staging)
        write_sidecar(staged, vocab, kind, labels, length, args.quantize, source=str(path), dataset=meta.get("task"))
        # the vocabulary and the sidecar first: a reader that finds the new .tflite finds its companions
        move_into([staged.with_suffix(".vocab.txt"), sidecar_path(staged), staged], out.parent)
    print(
        f"arlm export: {out} ({out.stat().st_size / 2**20:.2f} MiB, {args.quantize}); "
        f"sidecar {out.with_suffix('.json').name}"
    )
    return 0


def _check_model(model, path, vocab, vocab_size, length):
    """The vocabulary and the sequence length fit the loaded model (else the file would export, then fail)."""
    from arlm.errors import ParameterError
    from arlm.quantization.export import input_length

    config = getattr(getattr(model, "backbone", None), "config", None)
    if config is not None and config.vocab_size != vocab_size:
        raise ParameterError(f"{vocab}: {vocab_size} tokens, but the model {path} has a {config.vocab_size}-token "
                             "vocabulary (parameter --vocab: use the vocabulary it was fine-tuned with)")
    try:
        fixed = input_length(model)
    except ParameterError:  # a variable length: any length up to the positions
        fixed = None
    if fixed is not None and length != fixed:
        raise ParameterError(f"--max-seq-length {length}: the model {path} takes sequences of length {fixed}")
    if config is not None and length > config.max_position_embeddings:
        raise ParameterError(f"--max-seq-length {length} is more than the model's {config.max_position_embeddings} "
                             f"positions ({path})")


def _calibration_texts(path, encoding):
    from arlm.errors import DatasetError
    from arlm.textfiles import numbered_lines

    texts = [line.strip() for _, line in numbered_lines(path, encoding) if line.strip()]
    if not texts:
        raise DatasetError(f"{path}: no texts (one a line expected) (parameter --calibration)")
    return texts


def _encode_texts(texts, vocab, length):
    from arlm.preprocessing import encode_texts
    from arlm.tokenizer import WordPieceTokenizer

    return encode_texts(texts, WordPieceTokenizer(vocab), length)


def _predict(args):
    from arlm.predict import Predictor
    from arlm.textfiles import check_encoding

    encoding = check_encoding(args.encoding)
    predictor = Predictor(args.tflite, num_threads=args.threads)
    for text in _stdin_texts(encoding) if args.text == "-" else [args.text]:
        print(json.dumps(predictor.predict(text, args.context), ensure_ascii=False), flush=True)
    return 0


def _stdin_texts(encoding):
    """The non-blank lines of standard input, as they come (a pipe is predicted line by line)."""
    import io
    import sys

    from arlm.errors import ParameterError
    from arlm.textfiles import decode_lines

    raw = sys.stdin.buffer
    found = False
    for _, line in decode_lines(raw if hasattr(raw, "peek") else io.BufferedReader(raw), "standard input", encoding):
        if line.strip():
            found = True
            yield line.strip()
    if not found:
        raise ParameterError("TEXT -: standard input holds no text (one text a line expected)")
