"""`arlm convert SOURCE --out DEST`: MobileBERT weights between arlm, `transformers` and the official TF1 code.

    arlm convert mberta-cpu-edition --out mberta-hf/    # arlm -> a transformers folder, tokenizer included
    arlm convert student.keras --vocab vocab.txt --out student-hf/   # a .keras file has no vocabulary: give it
    arlm convert student-hf/ --out student/              # a transformers folder -> an arlm preset (tokenizer kept)
    arlm convert student-hf/ --out student.keras         # ... or a .keras file (a classifier keeps its tokenizer)
    arlm convert model.ckpt --config bert_config.json --out teacher.keras   # an official TF1 checkpoint -> arlm

The direction follows from SOURCE (`arlm.convert.detect_source`). A pretraining model keeps its MLM and NSP
heads both ways, a text classifier its head (``MobileBertForSequenceClassification``); another task model converts
its backbone. The tokenizer (``tokenizer.json`` with the book's normalization, ``vocab.txt``,
``tokenizer_config.json``) goes with the weights to `transformers` and comes back when it is arlm's. Every input is
checked before anything is written.
"""

from arlm.cli.checks import input_file


def register(subparsers):
    parser = subparsers.add_parser(
        "convert", help="convert MobileBERT weights to/from transformers (safetensors) or official TF1 checkpoints")
    parser.add_argument("source", metavar="SOURCE",
                        help="an arlm .keras file or preset folder (save_to_preset, or a packaged preset's name), a "
                             "transformers MobileBERT folder, or a TF1 checkpoint prefix")
    parser.add_argument("--out", required=True, metavar="DEST",
                        help="a folder for transformers (from an arlm SOURCE), else an arlm .keras file or preset "
                             "folder (a name without a suffix)")
    parser.add_argument("--vocab", metavar="VOCAB",
                        help="arlm SOURCE only: the vocabulary to write as the transformers tokenizer (default: the "
                             "preset's, or the model's own tokenizer)")
    parser.add_argument("--config", metavar="bert_config.json",
                        help="TF1 SOURCE only: the official config file of the checkpoint")
    parser.set_defaults(func=_convert)


def _convert(args):
    import json

    from arlm import convert
    from arlm.errors import ParameterError
    from arlm.files import check_out_dir, locked

    kind = convert.detect_source(args.source)
    if args.config and kind != "tf1":
        raise ParameterError(f"--config is for a TF1 checkpoint SOURCE; {args.source} is a {kind} model")
    if kind != "tf1":
        convert.requirements()
    if args.vocab and kind != "arlm":
        raise ParameterError(f"--vocab is for an arlm SOURCE; {args.source} is a {kind} model (its tokenizer, if it "
                             "is arlm's, is read from the folder)")
    if kind == "arlm":
        out = check_out_dir(args.out, convert.HF_FILES + convert.TOKENIZER_FILES, "--out")
        vocab = input_file(args.vocab, "--vocab") if args.vocab else _preset_vocabulary(args.source)
        model = convert.load_arlm(args.source)
        convert.to_transformers(model, out, tokenizer=vocab)
        architecture = json.loads((out / "config.json").read_text(encoding="utf-8"))["architectures"][0]
        files = sorted(path.name for path in out.iterdir())
        missing = "" if "tokenizer.json" in files else "; no tokenizer: the model holds no vocabulary (give --vocab)"
        print(f"arlm convert: {out} (transformers {architecture}: {', '.join(files)}){missing}")
        return 0
    out = convert.check_arlm_out(args.out)
    if kind == "tf1" and not args.config:
        raise ParameterError(f"{args.source} is a TF1 checkpoint: pass its official bert_config.json as --config")
    vocabulary, why = None, None
    with locked(out):  # one conversion into this file at a time
        if kind == "tf1":
            model, ignored = convert.from_tf1_checkpoint(args.source, input_file(args.config, "--config"))
        else:
            model, ignored = convert.from_transformers(args.source)
            vocabulary, why = convert.read_tokenizer(args.source)
        convert.save_arlm(model, out, tokenizer=vocabulary)
    shown = f"; not used: {', '.join(ignored[:5])}{', ...' if len(ignored) > 5 else ''}" if ignored else ""
    kept = getattr(model, "preprocessor", None) is not None or (vocabulary is not None and out.suffix != ".keras")
    if vocabulary is not None and not kept:
        why = "a .keras file of a backbone holds no tokenizer (give a folder as --out to keep it)"
    tokenizer = "; tokenizer kept" if kept else f"; tokenizer not kept: {why}" if why else ""
    print(f"arlm convert: {out} ({type(model).__name__}, {model.count_params()} parameters){shown}{tokenizer}")
    return 0


def _preset_vocabulary(source):
    """The vocabulary file of an arlm preset SOURCE, or None (a .keras file, a preset saved without one)."""
    from arlm.preset_format import VOCABULARY_FILE, is_preset, preset_file

    return preset_file(source, VOCABULARY_FILE, "SOURCE") if is_preset(source) else None
