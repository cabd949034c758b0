"""The vocabulary and the book's normalization as a Hugging Face ``tokenizer.json``.

`tokenizer_json(vocab)` writes `arlm.text.normalize` and `arlm.tokenizer.WordPieceTokenizer` in the format of
the `tokenizers` library (what ``transformers.AutoTokenizer`` loads from a model folder, and what the book's
browser demo reads): a ``Sequence`` of normalizers that are the steps of `normalize`, in its order (lowercase,
NFKD, drop the classes of `arlm.text.DROPPED`, the letter and digit map, NFC, the spaces of
`arlm.text.SPACES`, strip), the BERT pre-tokenizer as a split on spaces then on each character of
`arlm.tokenizer.PUNCTUATION`, WordPiece with ``##``, and ``[CLS] A [SEP]`` / ``[CLS] A [SEP] B [SEP]`` around
the pieces. The regular expressions are the ones `arlm` itself uses, written once.

One rule cannot be written in this format: `arlm` maps a word longer than 100 UTF-8 *bytes* to ``[UNK]``
(the limit of the in-graph tokenizer), `tokenizers` a word longer than ``max_input_chars_per_word``
*characters*. The file says 100 characters, so a word of 51 to 100 Arabic letters (2 bytes each), which
`arlm` reads as ``[UNK]``, is cut into pieces by `tokenizers` (the browser demo, `arlm.book.demo`, reads this file
and applies `arlm`'s byte limit itself). Lowercasing differs for one character class only: a final
Greek capital sigma (Python and JavaScript write ς, `tokenizers` σ). `tests/test_hf_tokenizer.py` checks
every other id on the book's tricky strings.

>>> write_tokenizer_json("vocab.txt", "mberta_hf/tokenizer.json")     # doctest: +SKIP
PosixPath('mberta_hf/tokenizer.json')
>>> from tokenizers import Tokenizer                                     # doctest: +SKIP
>>> Tokenizer.from_file("mberta_hf/tokenizer.json").encode("وَأَقُولُ").ids  # doctest: +SKIP
[2, 1375, 3]
"""

import json
from pathlib import Path

from arlm.files import atomic_path
from arlm.text import DIGIT_MAP, DROPPED, LETTER_MAP, SPACES
from arlm.tokenizer import CLS_ID, PUNCTUATION, SEP_ID, SPECIAL_TOKENS, SUFFIX, read_vocabulary

MAX_CHARS_PER_WORD = 100  # the nearest the format can say to MAX_BYTES_PER_WORD (module docstring)


def normalizer():
    """`arlm.text.normalize` as a ``Sequence`` of `tokenizers` normalizers, step by step."""
    replace = [{"type": "Replace", "pattern": {"String": source}, "content": target}
               for source, target in (LETTER_MAP | DIGIT_MAP).items()]
    return {"type": "Sequence", "normalizers": [
        {"type": "Lowercase"},
        {"type": "NFKD"},
        {"type": "Replace", "pattern": {"Regex": DROPPED}, "content": ""},
        *replace,
        {"type": "NFC"},
        {"type": "Replace", "pattern": {"Regex": SPACES}, "content": " "},
        {"type": "Strip", "strip_left": True, "strip_right": True},
    ]}


def pre_tokenizer():
    """`arlm.tokenizer.split_words`: split on spaces, then each punctuation character becomes a word."""
    return {"type": "Sequence", "pretokenizers": [
        {"type": "WhitespaceSplit"},
        {"type": "Split", "pattern": {"Regex": f"[{PUNCTUATION}]"}, "behavior": "Isolated", "invert": False},
    ]}


def tokenizer_json(vocab_path, max_seq_length=None):
    """The ``tokenizer.json`` of a vocabulary file, as a dict; `max_seq_length` adds truncation to that length
    (``[CLS]`` and ``[SEP]`` included), as `arlm.preprocessing.encode_texts` cuts."""
    vocab = read_vocabulary(vocab_path)
    cls, sep = SPECIAL_TOKENS[CLS_ID], SPECIAL_TOKENS[SEP_ID]
    truncation = None if max_seq_length is None else {
        "direction": "Right", "max_length": int(max_seq_length), "strategy": "LongestFirst", "stride": 0}
    return {
        "version": "1.0",
        "truncation": truncation,
        "padding": None,
        "added_tokens": [{"id": i, "content": token, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, token in enumerate(SPECIAL_TOKENS)],
        "normalizer": normalizer(),
        "pre_tokenizer": pre_tokenizer(),
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": cls, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": sep, "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": cls, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": sep, "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": sep, "type_id": 1}}],
            "special_tokens": {token: {"id": token, "ids": [SPECIAL_TOKENS.index(token)], "tokens": [token]}
                               for token in (cls, sep)},
        },
        "decoder": {"type": "WordPiece", "prefix": SUFFIX, "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": SPECIAL_TOKENS[1], "continuing_subword_prefix": SUFFIX,
                  "max_input_chars_per_word": MAX_CHARS_PER_WORD,
                  "vocab": {token: i for i, token in enumerate(vocab)}},
    }


def write_tokenizer_json(vocab_path, path, max_seq_length=None):
    """Write `tokenizer_json` of `vocab_path` to `path` (atomically); returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(tokenizer_json(vocab_path, max_seq_length), ensure_ascii=False),
                       encoding="utf-8")
    return path

