"""`arlm corpus stats`, `arlm vocab train`, `arlm pretraining-data`: chapter 1 from the command line.

Flags follow BERT's `create_pretraining_data.py` (both ``--max-seq-length`` and ``--max_seq_length`` work).
Corpus files: one sentence or paragraph per line, a blank line between documents, plain or ``.gz``
(``--layout lines``: one document per line, e.g. tweets); UTF-8 with or without a BOM unless ``--encoding`` names
another encoding. A line that does not decode stops the command with its file and line (`arlm.textfiles`).
"""

import sys
import warnings
from pathlib import Path

from arlm.cli.checks import encoding_flag, input_file, int_at_least, non_negative_int, output_file, positive_int
from arlm.corpus import LAYOUTS, ReadStats, Source, corpus_stats, iter_corpus
from arlm.textfiles import check_encoding


def _flag(parser, name, **kwargs):
    # BERT's users type --max_seq_length; the arlm spelling is --max-seq-length
    names = [f"--{name}"] + ([f"--{name.replace('-', '_')}"] if "-" in name else [])
    parser.add_argument(*names, **kwargs)


def _corpus_args(parser, flag):
    files = dict(nargs="+", required=True, metavar="FILE", help="corpus files (.txt or .txt.gz)")
    if flag:
        _flag(parser, "corpus", dest="corpus", **files)
    else:
        parser.add_argument("corpus", nargs="+", metavar="FILE", help="corpus files (.txt or .txt.gz)")
    parser.add_argument("--layout", choices=LAYOUTS[:2], default="paragraphs",
                        help="paragraphs: blank line between documents (default); lines: one document per line")
    _flag(parser, "max-words", type=non_negative_int, default=0, help="stop after this many words (0: all)")
    encoding_flag(parser, "the corpus files")


def _sources(args):
    flag = "--corpus" if args.command != "corpus" else "FILE"
    encoding = check_encoding(args.encoding)
    return [Source(Path(f).name, input_file(f, flag), args.layout, encoding=encoding) for f in args.corpus]


def register(subparsers):
    corpus = subparsers.add_parser("corpus", help="corpus statistics")
    corpus_sub = corpus.add_subparsers(dest="corpus_command", required=True, metavar="COMMAND")
    stats = corpus_sub.add_parser("stats", help="documents, lines, words per file (duplicates removed)")
    _corpus_args(stats, flag=False)
    stats.set_defaults(func=run_stats)

    vocab = subparsers.add_parser("vocab", help="WordPiece vocabularies")
    vocab_sub = vocab.add_subparsers(dest="vocab_command", required=True, metavar="COMMAND")
    train = vocab_sub.add_parser("train", help="train a WordPiece vocabulary (special tokens first)")
    _corpus_args(train, flag=True)
    _flag(train, "vocab-size", type=int_at_least(6), required=True,
          help="vocabulary size, special tokens included (at least 6)")
    _flag(train, "out", required=True, metavar="VOCAB.txt", help="vocabulary file to write")
    _flag(train, "trainer", choices=("hf", "keras_hub"), default="hf", help="HF tokenizers (default) or keras-hub")
    train.set_defaults(func=run_vocab)

    data = subparsers.add_parser("pretraining-data", help="BERT pretraining TFRecords (create_pretraining_data.py)")
    _corpus_args(data, flag=True)
    _flag(data, "vocab", required=True, metavar="VOCAB.txt", help="WordPiece vocabulary file")
    _flag(data, "out", required=True, metavar="DIR",
          help="output folder for shard-*.tfrecord and meta.json (new, empty or an earlier output: it is replaced "
               "as a whole, and only once every shard is written)")
    _flag(data, "max-seq-length", type=int_at_least(8), default=128)
    _flag(data, "max-predictions-per-seq", type=positive_int, default=20)
    _flag(data, "masked-lm-prob", type=float, default=0.15)
    _flag(data, "dupe-factor", type=positive_int, default=10)
    _flag(data, "short-seq-prob", type=float, default=0.1)
    _flag(data, "random-seed", type=int, default=12345)
    _flag(data, "do-whole-word-mask", action="store_true")
    _flag(data, "no-split-sentences", action="store_true", help="keep each line as one sentence")
    _flag(data, "workers", type=positive_int, default=None, help="processes (default: all cores)")
    _flag(data, "words-per-shard", type=positive_int, default=200_000, help="words per output shard (the memory bound)")
    data.set_defaults(func=run_pretraining_data)


def run_stats(args):
    read = ReadStats()
    stats = corpus_stats(iter_corpus(_sources(args), args.max_words, stats=read))
    print(f"{'file':40s} {'documents':>10s} {'lines':>10s} {'words':>12s}")
    for name, row in stats.sources.items():
        print(f"{name:40s} {row['documents']:10,d} {row['lines']:10,d} {row['words']:12,d}")
    print(f"skipped: {read.as_dict()}")
    return 0


def run_vocab(args):
    from arlm.files import locked
    from arlm.tokenizer import train_vocabulary

    sources = _sources(args)
    out = output_file(args.out, "--out")
    documents = iter_corpus(sources, args.max_words)
    with locked(out):  # one writer of the vocabulary and of its training record
        info = train_vocabulary(documents, args.vocab_size, out, trainer=args.trainer)
    print(f"wrote {info['path']}: {info['vocab_size']} tokens ({info['trainer']}, {info['seconds']:.1f} s)")
    return 0


def run_pretraining_data(args):
    from arlm.pretraining_data import (
        UNK_WARNING_RATE,
        PretrainingConfig,
        UnknownTokensWarning,
        create_pretraining_data,
    )
    from arlm.tokenizer import read_vocabulary

    config = PretrainingConfig(args.max_seq_length, args.max_predictions_per_seq, args.masked_lm_prob,
                               args.dupe_factor, args.short_seq_prob, args.random_seed, args.do_whole_word_mask,
                               not args.no_split_sentences)
    sources = _sources(args)
    read_vocabulary(args.vocab, parameter="--vocab")
    read = ReadStats()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownTokensWarning)  # said below, in the command's own words
        meta = create_pretraining_data(iter_corpus(sources, args.max_words, stats=read), args.vocab, args.out,
                                       config, workers=args.workers, words_per_shard=args.words_per_shard)
    print(f"wrote {meta['instances']:,d} instances in {len(meta['files'])} shard(s) to {args.out} "
          f"({meta['instances_per_second']:,.0f}/s); [UNK] {meta['unk_rate']:.2%} of the corpus's tokens; "
          f"skipped: {read.as_dict()}")
    if meta["unk_rate"] > UNK_WARNING_RATE:
        print(f"arlm pretraining-data: warning: {meta['unk_rate']:.1%} of the corpus's tokens are [UNK] (more than "
              f"{UNK_WARNING_RATE:.0%}): the vocabulary {args.vocab} does not fit this corpus; train one on it with "
              "`arlm vocab train`", file=sys.stderr)
    return 0
