"""`arlm convert SOURCE --out DEST`: MobileBERT weights between arlm, `transformers` and the official TF1 code.

    arlm convert student.keras --out student-hf/       # arlm -> a transformers folder (config.json + safetensors)
    arlm convert student-hf/ --out student.keras       # a transformers folder -> arlm
    arlm convert model.ckpt --config bert_config.json --out teacher.keras   # an official TF1 checkpoint -> arlm

The direction follows from SOURCE (`arlm.convert.detect_source`). A pretraining model keeps its MLM and NSP
heads both ways; a task model converts its backbone. Every input is checked before anything is written.
"""

from arlm.cli.checks import input_file


def register(subparsers):
    parser = subparsers.add_parser(
        "convert", help="convert MobileBERT weights to/from transformers (safetensors) or official TF1 checkpoints")
    parser.add_argument("source", metavar="SOURCE",
                        help="an arlm .keras file or preset folder (save_to_preset), a transformers MobileBERT "
                             "folder, or a TF1 checkpoint prefix")
    parser.add_argument("--out", required=True, metavar="DEST",
                        help="a folder for transformers (from a .keras SOURCE), else an arlm .keras file")
    parser.add_argument("--config", metavar="bert_config.json",
                        help="TF1 SOURCE only: the official config file of the checkpoint")
    parser.set_defaults(func=_convert)


def _convert(args):
    from arlm import convert
    from arlm.errors import ParameterError
    from arlm.io import check_out_dir, locked

    kind = convert.detect_source(args.source)
    if args.config and kind != "tf1":
        raise ParameterError(f"--config is for a TF1 checkpoint SOURCE; {args.source} is a {kind} model")
    if kind != "tf1":
        convert.requirements()
    if kind == "arlm":
        out = check_out_dir(args.out, convert.HF_FILES, "--out")
        model = convert.load_arlm(args.source)
        convert.to_transformers(model, out)
        architecture = "MobileBertForPreTraining" if _has_heads(model) else "MobileBertModel"
        print(f"arlm convert: {out} (transformers {architecture}: {', '.join(convert.HF_FILES)})")
        return 0
    out = convert.check_arlm_out(args.out)
    if kind == "tf1" and not args.config:
        raise ParameterError(f"{args.source} is a TF1 checkpoint: pass its official bert_config.json as --config")
    with locked(out):  # one conversion into this file at a time
        if kind == "tf1":
            model, ignored = convert.from_tf1_checkpoint(args.source, input_file(args.config, "--config"))
        else:
            model, ignored = convert.from_transformers(args.source)
        convert.save_arlm(model, out)
    shown = f"; not used: {', '.join(ignored[:5])}{', ...' if len(ignored) > 5 else ''}" if ignored else ""
    print(f"arlm convert: {out} ({type(model).__name__}, {model.count_params()} parameters){shown}")
    return 0


def _has_heads(model):
    from arlm.models import MobileBertPretrainer

    return isinstance(model, MobileBertPretrainer)
