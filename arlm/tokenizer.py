"""WordPiece: training a vocabulary and a pure-Python tokenizer (the same ids in-graph: `MobileBertTokenizer`).

Every text goes through `arlm.text.normalize` first, then the BERT pre-tokenizer (split on whitespace, split off
each punctuation character: ASCII symbols and Unicode category P), then WordPiece: greedy longest-match-first
with ``##`` marking word-internal pieces; a word that cannot be covered, or that is longer than 100 UTF-8 bytes,
becomes ``[UNK]`` (the limit of `tf_text.FastWordpieceTokenizer`, which the in-graph tokenizer uses; Google's
Python tokenizer uses 200 characters instead, which never matters for real Arabic words). The tokenizer that
travels with the models, `arlm.mobilebert.MobileBertTokenizer` (keras-hub's WordPiece, inside `tf.data` too), gives
the same ids.

Vocabulary files have one token per line, ``[PAD] [UNK] [CLS] [SEP] [MASK]`` first (ids 0-4), as BERT expects.

>>> tok = WordPieceTokenizer("runs/tiny/01_corpus/vocab.txt")          # doctest: +SKIP
>>> tok.tokenize("وَأَقُولُ: السلام عليكم")                              # doctest: +SKIP
['واقول', ':', 'السلام', 'عليكم']
"""

import hashlib
import os
import time
from pathlib import Path

import regex

from arlm.errors import DatasetError, ParameterError
from arlm.files import atomic_path, file_sha256, read_json, write_json
from arlm.text import normalize

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = range(len(SPECIAL_TOKENS))  # every vocabulary of this book starts so
SUFFIX = "##"
MAX_BYTES_PER_WORD = 100
TRAINERS = ("hf", "keras_hub")


# BERT's _is_punctuation: ASCII symbols (33-47, 58-64, 91-96, 123-126) and Unicode P*, the same classes as
# keras-hub's in-graph splitter. A word is a run of anything that is neither punctuation nor a space.
PUNCTUATION = r"!-/:-@\[-`{-~\p{P}"
_WORDS = regex.compile(f"[{PUNCTUATION}]|[^{PUNCTUATION} ]+")
_PUNCTUATION = regex.compile(f"[{PUNCTUATION}]")


def split_words(normalized_text):
    """BERT's pre-tokenizer on already-normalized text: words and single punctuation characters."""
    return _WORDS.findall(normalized_text)


def read_vocabulary(vocab_path, parameter=None):
    """The tokens of a vocabulary file, checked: UTF-8 (a BOM is dropped), one per line, no duplicates, special
    tokens first. Errors name the file and line, and `parameter` (e.g. ``"--vocab"``) when given."""
    path = Path(vocab_path)
    named = f" (parameter {parameter})" if parameter else ""
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise DatasetError(f"vocabulary file {path} {what}{named} (train one with `arlm vocab train`)")
    raw = path.read_bytes()
    try:
        tokens = raw.decode("utf-8-sig").split("\n")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DatasetError(f"{path}:{line}: not UTF-8 text ({error.reason}); not a vocabulary file?{named}") from None
    if tokens and tokens[-1] == "":
        tokens.pop()
    crlf = " (Windows line endings: save the file with \\n line endings)" if tokens and tokens[0].endswith("\r") else ""
    if tuple(tokens[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
        raise DatasetError(f"{path}: the first lines must be {' '.join(SPECIAL_TOKENS)}, got {tokens[:5]}"
                           f"{crlf}{named}")
    seen = {}
    for line, token in enumerate(tokens, 1):
        if not token or token != token.strip():
            raise DatasetError(f"{path}:{line}: empty token or token with surrounding whitespace: {token!r}{named}")
        if token in seen:
            raise DatasetError(f"{path}:{line}: token {token!r} repeats line {seen[token]}{named}")
        seen[token] = line
    return tokens


class WordPieceTokenizer:
    """BERT WordPiece over `arlm.text.normalize`, in pure Python (no TensorFlow).

    Saved and loaded as the models are, inside a keras-hub preset folder (the family's tokenizer files):
    `arlm.saving.save_tokenizer` and `arlm.saving.load_tokenizer` (this module stays below saving).

    Args:
        vocab_path (str | os.PathLike): a vocabulary file (one token per line, ``[PAD] [UNK] [CLS] [SEP] [MASK]``
            first).

    Attributes: ``vocab`` (list of tokens, index = id), ``vocab_size``, ``pad_id`` 0, ``unk_id`` 1, ``cls_id`` 2,
    ``sep_id`` 3, ``mask_id`` 4.

    >>> tok = WordPieceTokenizer("vocab.txt")                     # doctest: +SKIP
    >>> tok.tokenize_word("«بالمدرسة»،")                            # doctest: +SKIP
    ['«', 'بال', '##مدرسة', '»', '،']
    """

    def __init__(self, vocab_path):
        self.vocab_path = Path(vocab_path)
        self.vocab = read_vocabulary(vocab_path)
        self._ids = {token: i for i, token in enumerate(self.vocab)}
        self.vocab_size = len(self.vocab)
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID
        self._cache = {}

    def token_to_id(self, token):
        """The id of `token`, or `unk_id` when it is not in the vocabulary."""
        return self._ids.get(token, self.unk_id)

    def id_to_token(self, i):
        return self.vocab[i]

    def is_continuation(self):
        """One bool per id: the token continues a word (``##...``); used by whole-word masking."""
        return [token.startswith(SUFFIX) for token in self.vocab]

    def wordpiece_ids(self, word):
        """Greedy longest-match-first WordPiece of one normalized, pre-split word, as ids (cached)."""
        ids = self._cache.get(word)
        if ids is not None:
            return ids
        if len(word.encode("utf-8")) > MAX_BYTES_PER_WORD:
            ids = [self.unk_id]
        else:
            ids, start = [], 0
            while start < len(word):
                end = len(word)
                while end > start:
                    piece = word[start:end] if start == 0 else SUFFIX + word[start:end]
                    found = self._ids.get(piece)
                    if found is not None:
                        break
                    end -= 1
                if found is None:
                    ids = [self.unk_id]
                    break
                ids.append(found)
                start = end
        if len(self._cache) > 200_000:  # bounded memory on endless corpora (the frequent words come back first)
            self._cache.clear()
        self._cache[word] = ids
        return ids

    def encode(self, text):
        """Ids of `text` (normalized, pre-tokenized, WordPiece), without [CLS]/[SEP]."""
        out, cache = [], self._cache
        for word in split_words(normalize(text)):
            ids = cache.get(word)  # inlined cache hit: most words repeat, and this runs per word of a corpus
            out += self.wordpiece_ids(word) if ids is None else ids
        return out

    def tokenize(self, text):
        """Tokens of `text`: ``normalize`` then pre-tokenize then WordPiece."""
        return [self.vocab[i] for i in self.encode(text)]

    def tokenize_word(self, word):
        """Tokens of one whitespace-delimited word of raw text (what a QA feature builder needs).

        Equal to ``tokenize(word)``; a word that normalizes to nothing (a lone diacritic) gives ``[]``.
        """
        return self.tokenize(word)

    def words_and_pieces(self, text):
        """(normalized words after pre-tokenization, their piece ids), for OOV and pieces-per-word statistics."""
        words = split_words(normalize(text))
        return words, [self.wordpiece_ids(w) for w in words]

    def decode(self, ids):
        """Readable text from ids: pieces joined, ``##`` glued to the previous piece, padding dropped."""
        text = " ".join(self.vocab[i] for i in ids if i != self.pad_id)
        return text.replace(" " + SUFFIX, "")


def _iter_lines(files_or_texts):
    """Lines from files (paths: plain or .gz, blank lines skipped), from documents (lists of lines) or strings."""
    from arlm.corpus import read_lines

    for item in files_or_texts:
        if isinstance(item, os.PathLike) or (isinstance(item, str) and "\n" not in item and os.path.isfile(item)):
            yield from (line for line in read_lines(item) if line)
        elif isinstance(item, str):
            yield item
        else:  # a document: its lines
            yield from getattr(item, "lines", item)


def train_vocabulary(files_or_texts, vocab_size, out_path, trainer="hf", min_frequency=2, limit_alphabet=1000,
                     reuse=False):
    """Train a WordPiece vocabulary on normalized text and write it (special tokens first); returns a summary.

    Training is deterministic: the same lines and settings give the same file, byte for byte, in any process
    (`_hf_vocabulary` says how HF's trainer is made so). With ``reuse=True`` a vocabulary already at `out_path`
    that was trained on the same lines with the same settings (recorded beside it, in ``<name>.training.json``)
    is kept without training again: a rerun of chapter 1 after an interruption costs no time there, and a
    vocabulary made by another library version stays the one the run's models were trained with.

    Args:
        files_or_texts: corpus files (paths), documents (lists of lines) or strings; raw text (normalized here).
        vocab_size: target size, special tokens included. A small corpus may give fewer tokens (reported).
        out_path: the vocabulary file to write.
        trainer: ``"hf"`` (HF `tokenizers`, the authors' `train_bert_tokenizer.py`: min_frequency 2, alphabet
            1000) or ``"keras_hub"`` (`keras_hub.tokenizers.compute_word_piece_vocabulary`, tf-text's trainer).
        reuse: keep a vocabulary at `out_path` trained on the same lines with the same settings.

    Returns a dict: ``path``, ``trainer``, ``vocab_size`` (actual), ``requested``, ``seconds`` (of the training
    that made the file), ``lines``, and ``reused`` (whether `out_path` was kept).
    """
    if trainer not in TRAINERS:
        raise ParameterError(f"unknown vocabulary trainer {trainer!r}; trainers are: {', '.join(TRAINERS)}")
    if vocab_size <= len(SPECIAL_TOKENS):
        raise ParameterError(f"vocab_size must exceed the {len(SPECIAL_TOKENS)} special tokens, got {vocab_size}")
    lines = [text for text in (normalize(line) for line in _iter_lines(files_or_texts)) if text]
    if not lines:
        raise DatasetError("the corpus for vocabulary training is empty (no non-blank line after normalization)")
    out_path = Path(out_path)
    record_path = out_path.with_name(out_path.stem + ".training.json")
    digest = hashlib.sha256("\n".join(lines).encode("utf-8"))
    digest.update(repr((trainer, vocab_size, min_frequency, limit_alphabet)).encode())
    inputs = digest.hexdigest()
    if reuse and out_path.is_file() and record_path.is_file():
        record = read_json(record_path)
        if record.get("inputs") == inputs and record.get("vocab_sha256") == file_sha256(out_path):
            return {**record["summary"], "path": str(out_path), "reused": True}
    record_path.unlink(missing_ok=True)  # never a record beside a vocabulary it does not describe
    start = time.perf_counter()
    if trainer == "hf":
        vocab = _hf_vocabulary(lines, vocab_size, min_frequency, limit_alphabet)
    else:
        import keras_hub
        import tensorflow as tf

        vocab = keras_hub.tokenizers.compute_word_piece_vocabulary(
            tf.data.Dataset.from_tensor_slices(lines).batch(1000), vocab_size, lowercase=False,
            strip_accents=False, split=True, split_on_cjk=False, suffix_indicator=SUFFIX,
            reserved_tokens=list(SPECIAL_TOKENS),
        )
    seconds = time.perf_counter() - start
    if tuple(vocab[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
        raise DatasetError(f"trainer {trainer!r} did not put the special tokens first: {vocab[:5]}")
    # tokens with whitespace cannot live in a one-token-per-line file; pre-tokenization never makes them
    vocab = [t for t in vocab if t and t == t.strip() and "\n" not in t]
    with atomic_path(out_path) as tmp:
        tmp.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    summary = {"path": str(out_path), "trainer": trainer, "vocab_size": len(vocab), "requested": vocab_size,
               "seconds": round(seconds, 3), "lines": len(lines)}
    if reuse:
        write_json(record_path, {"inputs": inputs, "vocab_sha256": file_sha256(out_path), "summary": summary})
    return {**summary, "reused": False}


def _hf_vocabulary(lines, vocab_size, min_frequency, limit_alphabet):
    """HF `tokenizers`' WordPiece trainer on normalized `lines`, made deterministic.

    Left alone, the trainer numbers the word-internal characters (``##c``) in the order of a hash map seeded
    at random in every process, and breaks ties between equally frequent pairs by those numbers: each training
    gives the pieces in another order and, on small corpora, other pieces. Here every character of its alphabet
    and every ``##c`` are passed as special tokens, in code-point order, so they get the same numbers in every
    process (the special tokens are numbered first, in the order given), and the alphabet is chosen here (the
    `limit_alphabet` most frequent characters, ties by code point) rather than by the trainer's unstable sort.
    The merges are HF's own, ties broken by code point. DEVELOPERS.md has the measurements behind this choice.
    """
    from tokenizers import BertWordPieceTokenizer

    alphabet, inner = _initial_pieces(lines, limit_alphabet)
    hf = BertWordPieceTokenizer(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=False)
    hf.train_from_iterator(
        lines, vocab_size=vocab_size, min_frequency=min_frequency, limit_alphabet=len(alphabet),
        initial_alphabet=alphabet, special_tokens=[*SPECIAL_TOKENS, *alphabet, *inner], show_progress=False,
        wordpieces_prefix=SUFFIX,
    )
    return [token for token, _ in sorted(hf.get_vocab().items(), key=lambda item: item[1])]


def _initial_pieces(lines, limit_alphabet, chunk=20_000):
    """What HF's trainer starts from, in code-point order: the alphabet (the `limit_alphabet` most frequent
    characters, ties by code point) and its word-internal pieces ``##c`` (a character that follows another
    character of a word, after BERT's pre-tokenizer). Counted with NumPy, `chunk` lines at a time."""
    import numpy as np

    counts = np.zeros(0x110000, np.int64)
    follows = np.zeros(0x110000, bool)  # follows another character of its word somewhere
    in_word = np.zeros(0x110000, bool)  # neither punctuation nor a space (known for the characters seen so far)
    for start in range(0, len(lines), chunk):
        codes = np.frombuffer(" ".join(lines[start:start + chunk]).encode("utf-32-le"), np.uint32)
        chunk_counts = np.bincount(codes, minlength=len(counts))
        new = np.flatnonzero((chunk_counts > 0) & (counts == 0))
        in_word[new] = [not (chr(c).isspace() or _PUNCTUATION.fullmatch(chr(c))) for c in new]
        counts += chunk_counts
        word = in_word[codes]
        follows[codes[1:][word[1:] & word[:-1]]] = True
    seen = [int(c) for c in np.flatnonzero(counts) if not chr(c).isspace()]
    alphabet = sorted(sorted(seen, key=lambda c: (-counts[c], c))[:limit_alphabet])
    return [chr(c) for c in alphabet], [SUFFIX + chr(c) for c in alphabet if follows[c]]


def oov_stats(tokenizer, texts):
    """[UNK] rate and average pieces per word of `tokenizer` on `texts` (the paper's case for a 50K vocabulary).

    Returns ``words``, ``pieces``, ``unk_words`` (words mapped to [UNK]), ``unk_rate`` (their share),
    ``pieces_per_word``, and ``split_rate`` (share of words cut into two or more pieces).
    """
    words = pieces = unk = split = 0
    for text in texts:
        _, ids = tokenizer.words_and_pieces(text)
        words += len(ids)
        for word_ids in ids:
            pieces += len(word_ids)
            unk += word_ids == [tokenizer.unk_id]
            split += len(word_ids) > 1
    if not words:
        raise DatasetError("oov_stats got no words")
    return {"words": words, "pieces": pieces, "unk_words": unk, "unk_rate": unk / words,
            "pieces_per_word": pieces / words, "split_rate": split / words}
