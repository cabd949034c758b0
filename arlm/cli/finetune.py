"""`arlm finetune`: fine-tune a model on your own labelled Arabic texts (CSV, TSV or JSONL).

    arlm finetune --train train.csv --test test.csv --text-column text --label-column label \\
                  --model mberta --scale tiny --out out/

prints accuracy and macro-F1 beside the majority-class and TF-IDF baselines on the same split (saying when
the model does not beat them) and writes ``out/metrics.json``, ``out/model.keras``, ``out/vocab.txt`` and
``out/index.json`` (``arlm export out --out model.tflite`` then makes the on-device file).
"""

import argparse
import json
import sys
import textwrap
import warnings

from arlm.cli.checks import encoding_flag, input_file, int_at_least, positive_float, positive_int


def register(subparsers):
    from arlm.tasks.user_data import LABEL_RULE

    paragraphs = ("Files: CSV (standard quoting; semicolon-separated when the header has semicolons and no comma) "
                  "or TSV (no quoting) with a header row, or JSON objects (one per line, or one array); a column "
                  "named twice is an error. UTF-8 with or without a BOM unless --encoding says otherwise.",
                  LABEL_RULE, "Labels that differ only in case are distinct classes, with a warning naming them, "
                  "unless --fold-label-case makes them one.",
                  "Every input is checked before anything is written; --out is replaced as a whole, only when the "
                  "run succeeds.")
    parser = subparsers.add_parser(
        "finetune", help="fine-tune a model on your own labelled texts (CSV/TSV/JSONL)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(textwrap.fill(paragraph, 79) for paragraph in paragraphs))
    parser.add_argument("--train", required=True, metavar="FILE",
                        help="training file (.csv/.tsv with a header, or .jsonl)")
    parser.add_argument("--test", required=True, metavar="FILE", help="test file, same columns")
    parser.add_argument("--dev", metavar="FILE", help="optional dev file (without it no dev score is reported)")
    parser.add_argument("--text-column", required=True, metavar="C", help="column holding the text")
    parser.add_argument("--label-column", required=True, metavar="L",
                        help="column holding the label (see Labels below)")
    parser.add_argument("--model", required=True, metavar="MODEL",
                        help="a configuration (iberta, iberta_30k, mberta, mberta_ii, arabert_base: random "
                             "weights at the scale's sizes), or a saved model: a .keras file, a preset folder "
                             "(save_to_preset), a keras-hub handle (hf://, kaggle://) or a packaged preset")
    parser.add_argument("--scale", default="tiny", help="scale preset for the sizes (default tiny)")
    parser.add_argument("--epochs", type=positive_int, metavar="N")
    parser.add_argument("--max-seq-length", type=int_at_least(3), metavar="N",
                        help="pieces per text, [CLS] and [SEP] included (at most the model's positions)")
    parser.add_argument("--batch-size", type=positive_int, metavar="N")
    parser.add_argument("--learning-rate", type=positive_float, metavar="X")
    parser.add_argument("--vocab", metavar="VOCAB.txt", help="vocabulary (default: beside the model, or chapter 1's)")
    encoding_flag(parser, "the --train, --test and --dev files")
    parser.add_argument("--fold-label-case", action="store_true",
                        help="labels that differ only in case are one class (positive, Positive, POSITIVE)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output folder: new, empty or an earlier `arlm finetune` output")
    parser.set_defaults(func=_finetune)


def _finetune(args):
    from arlm.tasks.user_data import LabelCaseWarning, baseline_verdict, finetune_user
    from arlm.textfiles import check_encoding

    for flag, path in (("--train", args.train), ("--test", args.test), ("--dev", args.dev)):
        if path is not None:
            input_file(path, flag)
    encoding = check_encoding(args.encoding)
    overrides = {key: value for key, value in {
        "finetune_epochs": args.epochs, "finetune_max_seq_length": args.max_seq_length,
        "finetune_batch_size": args.batch_size, "finetune_learning_rate": args.learning_rate,
    }.items() if value is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("always", LabelCaseWarning)
        warnings.showwarning = _show(warnings.showwarning)
        result = finetune_user(args.train, args.test, args.text_column, args.label_column, args.model, args.out,
                               dev=args.dev, scale=args.scale, vocab=args.vocab, verbose=2, encoding=encoding,
                               fold_label_case=args.fold_label_case, **overrides)
    print(f"accuracy {result['accuracy']:.4f}  macro-F1 {result['macro_f1']:.4f}  "
          f"({result['test_examples']} test examples, labels {', '.join(result['labels'])})")
    print(baseline_verdict(result))
    print(f"wrote {args.out}/metrics.json and {args.out}/model.keras")
    print(json.dumps({k: result[k] for k in ("accuracy", "macro_f1")}))
    return 0


def _show(default):
    """`warnings.showwarning` that prints a `LabelCaseWarning` as the command's own warning line."""
    from arlm.tasks.user_data import LabelCaseWarning

    def show(message, category, *args, **kwargs):
        if issubclass(category, LabelCaseWarning):
            print(f"arlm finetune: warning: {message}", file=sys.stderr)
        else:
            default(message, category, *args, **kwargs)

    return show
