"""BERT pretraining examples, faithful to `google-research/bert:create_pretraining_data.py` (spec section 4).

Per shard of documents (random seed ``random_seed + shard index``):

1. tokenize every line, drop empty documents, shuffle the documents;
2. ``dupe_factor`` times, for every document: target length ``max_seq_length - 3`` (with probability
   ``short_seq_prob`` a random length in ``[2, target]``); accumulate sentences into a chunk; segment A is the
   first ``a_end`` sentences; segment B is the rest of the chunk (label 0) or, with probability 0.5 or when the
   chunk has one sentence, a random span of another document (label 1), the unused sentences put back;
3. truncate the longer segment from the front or the back at random until ``|A| + |B| <= max_seq_length - 3``;
4. ``[CLS] A [SEP] B [SEP]``, segment ids 0 then 1; mask $n = \\min(P, \\max(1, \\mathrm{round}(p \\cdot |x|)))$
   positions (never [CLS]/[SEP]): 80% ``[MASK]``, 10% kept, 10% a uniformly random vocabulary id;
5. shuffle the shard's instances, write one TFRecord file with BERT's features
   (``input_ids``, ``input_mask``, ``segment_ids`` [L]; ``masked_lm_positions``, ``masked_lm_ids``,
   ``masked_lm_weights`` [P]; ``next_sentence_labels`` [1]).

**Streaming and parallel.** The corpus is cut into shards of about ``words_per_shard`` words; a pool of
processes turns each shard into a TFRecord file (serialized and framed in pure Python and NumPy: no process
imports TensorFlow). At most one shard per worker plus one waiting is in memory, so memory depends on the shard
size, never on the corpus size; the output does not depend on the number of workers. A shard is also the pool
from which "random next" segments are drawn, exactly as when the official script is run once per input file
(the usual practice for large corpora). Masked positions are a random sample of the candidates rather than a
shuffle of all of them, drawn for a whole shard at once with NumPy (`mask_instances`; same distribution, far
fewer Python steps), and the front/back truncation draws one bit per dropped token at once, so outputs are not
bit-identical to the official script's.

>>> config = PretrainingConfig(max_seq_length=128)
>>> meta = create_pretraining_data(documents, "vocab.txt", "out/", config)  # doctest: +SKIP
>>> ds = load_dataset("out/*.tfrecord", batch_size=32, max_seq_length=128, max_predictions_per_seq=20)  # doctest: +SKIP
"""

import concurrent.futures
import dataclasses
import functools
import multiprocessing
import os
import random
import struct
import time
import warnings
from pathlib import Path

from arlm.errors import DatasetError, ParameterError
from arlm.io import atomic_path, check_out_dir, staged_dir, write_json

FEATURES = ("input_ids", "input_mask", "segment_ids", "masked_lm_positions", "masked_lm_ids", "masked_lm_weights",
            "next_sentence_labels")
OUTPUTS = ("shard-*.tfrecord", "meta.json")  # what `create_pretraining_data` writes in its folder
# above this share of [UNK] among the corpus's tokens the vocabulary does not fit the corpus (a Latin-only one on
# Arabic text gives 99%); a vocabulary trained on the corpus itself gives well under 1%
UNK_WARNING_RATE = 0.05


class UnknownTokensWarning(UserWarning):
    """The vocabulary maps more than `UNK_WARNING_RATE` of the corpus's tokens to [UNK]."""


@dataclasses.dataclass(frozen=True)
class PretrainingConfig:
    """The flags of BERT's `create_pretraining_data.py` (same names, same defaults)."""

    max_seq_length: int = 128
    max_predictions_per_seq: int = 20
    masked_lm_prob: float = 0.15
    dupe_factor: int = 10
    short_seq_prob: float = 0.1
    random_seed: int = 12345
    do_whole_word_mask: bool = False
    # not a BERT flag: cut each line into sentences (`arlm.text.split_sentences`); the mirror has a paragraph per
    # line, and BERT's next-sentence task and chunking assume a sentence per line
    split_sentences: bool = True

    def __post_init__(self):
        if self.max_seq_length < 8:
            raise ParameterError(f"max_seq_length must be at least 8, got {self.max_seq_length}")
        if not 1 <= self.max_predictions_per_seq <= self.max_seq_length - 3:
            raise ParameterError(f"max_predictions_per_seq must be in [1, max_seq_length - 3], got "
                                 f"{self.max_predictions_per_seq}")
        if not 0 < self.masked_lm_prob < 1 or not 0 <= self.short_seq_prob <= 1:
            raise ParameterError("masked_lm_prob must be in (0, 1) and short_seq_prob in [0, 1]")
        if self.dupe_factor < 1:
            raise ParameterError(f"dupe_factor must be at least 1, got {self.dupe_factor}")

    @classmethod
    def from_scale(cls, cfg, **changes):
        keys = ("max_seq_length", "max_predictions_per_seq", "masked_lm_prob", "dupe_factor", "short_seq_prob")
        return cls(**{key: getattr(cfg, key) for key in keys}, random_seed=cfg.seed, **changes)


@dataclasses.dataclass
class Instance:
    """One example before padding: token ids, segment ids, NSP label, masked positions and their original ids."""

    tokens: list
    segment_ids: list
    is_random_next: bool
    masked_lm_positions: list
    masked_lm_labels: list


# --- the algorithm (names and control flow follow the official script) -------------------------------------------


def truncated_lengths(len_a, len_b, max_num_tokens):
    """Segment lengths after BERT's truncation, which always shortens the longer segment (B on a tie)."""
    excess = len_a + len_b - max_num_tokens
    if excess <= 0:
        return len_a, len_b
    gap = abs(len_a - len_b)
    if gap >= excess:
        return (len_a - excess, len_b) if len_a > len_b else (len_a, len_b - excess)
    rest = excess - gap  # both equal now; B loses first, then they alternate
    equal = min(len_a, len_b)
    return equal - rest // 2, equal - (rest + 1) // 2


def truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng):
    """Drop tokens from the longer segment, front or back with probability 0.5 each, until the pair fits (in place).

    As the official loop, but in one step: the final lengths do not depend on chance, and the number of tokens
    dropped at the front of a segment is Binomial(dropped, 1/2), one random bit per dropped token.
    """
    for tokens, keep in zip((tokens_a, tokens_b), truncated_lengths(len(tokens_a), len(tokens_b), max_num_tokens),
                            strict=True):
        dropped = len(tokens) - keep
        if dropped:
            front = rng.getrandbits(dropped).bit_count()
            tokens[:] = tokens[front: front + keep]


def _random_order(items, rng):
    """The items in uniformly random order, drawn lazily (Fisher-Yates from the front).

    The official script shuffles every candidate position of every instance; masking needs only the first 20 or so,
    and drawing just those is most of the speed of this module. Same distribution, fewer random draws.
    """
    items = list(items)
    n = len(items)
    for i in range(n):
        j = i + int(rng.random() * (n - i))
        items[i], items[j] = items[j], items[i]
        yield items[i]


def create_whole_word_masks(tokens, masked_lm_prob, max_predictions_per_seq, vocab_size, rng, is_continuation,
                            special_ids=(2, 3), mask_id=4):
    """BERT's whole-word masking: $n = \\min(P, \\max(1, \\mathrm{round}(p\\,|x|)))$ positions, 80% [MASK] / 10% kept /
    10% random, where a word's ``##`` pieces are masked together (``is_continuation[id]``: the id is a ``##`` piece).

    Words are taken in random order, as in the official script, one instance at a time; without whole-word
    masking `mask_instances` masks a whole shard at once. Never [CLS]/[SEP].
    Returns (tokens with replacements, sorted positions, original ids at those positions).
    """
    output_tokens = list(tokens)
    num_to_predict = min(max_predictions_per_seq, max(1, int(round(len(tokens) * masked_lm_prob))))
    cand_indexes = []
    for i, token in enumerate(tokens):
        if token in special_ids:
            continue
        if cand_indexes and is_continuation[token]:
            cand_indexes[-1].append(i)  # a ## piece joins the previous word
        else:
            cand_indexes.append([i])
    chosen = _random_order(cand_indexes, rng)
    masked = []
    covered = set()
    random = rng.random
    for index_set in chosen:
        if len(masked) >= num_to_predict:
            break
        if len(masked) + len(index_set) > num_to_predict or not covered.isdisjoint(index_set):
            continue
        covered.update(index_set)
        for index in index_set:
            if random() < 0.8:
                output_tokens[index] = mask_id
            elif random() >= 0.5:  # else: 10% keep the original
                output_tokens[index] = rng.randint(0, vocab_size - 1)
            masked.append((index, tokens[index]))
    masked.sort()
    return output_tokens, [i for i, _ in masked], [t for _, t in masked]


def create_instances_from_document(all_documents, document_index, config, vocab_size, rng, is_continuation=None,
                                   cls_id=2, sep_id=3, mask_id=4):
    """Instances of one document (a list of sentences, each a list of token ids), as in the official script.

    With whole-word masking (`is_continuation` given) each instance is masked here, as in the official script;
    otherwise instances come back unmasked, for `mask_instances`.
    """
    document = all_documents[document_index]
    max_num_tokens = config.max_seq_length - 3
    target_seq_length = max_num_tokens
    if rng.random() < config.short_seq_prob:
        target_seq_length = rng.randint(2, max_num_tokens)
    instances = []
    current_chunk = []
    current_length = 0
    i = 0
    while i < len(document):
        segment = document[i]
        current_chunk.append(segment)
        current_length += len(segment)
        if i == len(document) - 1 or current_length >= target_seq_length:
            if current_chunk:
                a_end = 1
                if len(current_chunk) >= 2:
                    a_end = rng.randint(1, len(current_chunk) - 1)
                tokens_a = []
                for j in range(a_end):
                    tokens_a.extend(current_chunk[j])
                tokens_b = []
                is_random_next = False
                if len(current_chunk) == 1 or rng.random() < 0.5:
                    is_random_next = True
                    target_b_length = target_seq_length - len(tokens_a)
                    for _ in range(10):
                        random_document_index = rng.randint(0, len(all_documents) - 1)
                        if random_document_index != document_index:
                            break
                    random_document = all_documents[random_document_index]
                    random_start = rng.randint(0, len(random_document) - 1)
                    for j in range(random_start, len(random_document)):
                        tokens_b.extend(random_document[j])
                        if len(tokens_b) >= target_b_length:
                            break
                    num_unused_segments = len(current_chunk) - a_end
                    i -= num_unused_segments  # put the unused sentences back
                else:
                    for j in range(a_end, len(current_chunk)):
                        tokens_b.extend(current_chunk[j])
                truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng)
                assert len(tokens_a) >= 1 and len(tokens_b) >= 1
                tokens = [cls_id, *tokens_a, sep_id, *tokens_b, sep_id]
                segment_ids = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
                positions, labels = [], []  # without whole-word masking, `mask_instances` masks the whole pool
                if is_continuation is not None:
                    tokens, positions, labels = create_whole_word_masks(
                        tokens, config.masked_lm_prob, config.max_predictions_per_seq, vocab_size, rng,
                        is_continuation, (cls_id, sep_id), mask_id)
                instances.append(Instance(tokens, segment_ids, is_random_next, positions, labels))
            current_chunk = []
            current_length = 0
        i += 1
    return instances


def create_instances(all_documents, config, vocab_size, rng, is_continuation=None):
    """All instances of a pool of tokenized documents: shuffle documents, `dupe_factor` passes, shuffle instances.

    Masking draws from a NumPy generator seeded from `rng`, so `rng`'s seed still fixes every output.
    """
    all_documents = [document for document in all_documents if document]
    rng.shuffle(all_documents)
    instances = []
    for _ in range(config.dupe_factor):
        for document_index in range(len(all_documents)):
            instances.extend(
                create_instances_from_document(all_documents, document_index, config, vocab_size, rng, is_continuation))
    rng.shuffle(instances)
    if is_continuation is None:
        mask_instances(instances, config, vocab_size, rng.getrandbits(64))
    return instances


def mask_instances(instances, config, vocab_size, seed, mask_id=4):
    """BERT's per-token masking for every instance at once, in place, drawn with NumPy (not whole-word masking).

    $n = \\min(P, \\max(1, \\mathrm{round}(p\\,|x|)))$ positions per instance, 80% [MASK] / 10% kept / 10% random,
    as the official script. Every position but [CLS] and the two [SEP] gets a uniform random key; the $n$
    smallest keys are a uniformly random subset of $n$ candidates. One more uniform draw per chosen position picks
    [MASK] (< 0.8), the original id (< 0.9) or a random vocabulary id. (A Python loop per instance was most of the
    generator's time.)
    """
    import numpy as np

    if not instances:
        return
    rng = np.random.default_rng(seed)
    width, slots = config.max_seq_length, config.max_predictions_per_seq
    lengths = np.fromiter([len(inst.tokens) for inst in instances], np.int64, len(instances))
    second_sep = lengths - 1 - np.fromiter([sum(inst.segment_ids) for inst in instances], np.int64, len(instances))
    column = np.arange(width)
    special = (column == 0) | (column[None] >= lengths[:, None] - 1) | (column[None] == second_sep[:, None])
    keys = np.where(special, 2.0, rng.random((len(instances), width)))
    counts = np.minimum(slots, np.maximum(1, np.rint(lengths * config.masked_lm_prob).astype(np.int64)))
    counts = np.minimum(counts, lengths - 3)  # never more than the candidates
    chosen = np.arange(slots)[None] < counts[:, None]
    smallest = np.argpartition(keys, slots - 1, axis=1)[:, :slots]  # the `slots` smallest keys, in no order
    smallest = np.take_along_axis(smallest, np.argsort(np.take_along_axis(keys, smallest, axis=1), axis=1), axis=1)
    positions = np.sort(np.where(chosen, smallest, width), axis=1)
    draw = rng.random(positions.shape)
    random_ids = rng.integers(0, vocab_size, positions.shape)
    replacement = np.where(draw < 0.8, mask_id, np.where(draw < 0.9, -1, random_ids))  # -1: keep the original
    for inst, count, position_row, replacement_row in zip(instances, counts.tolist(), positions.tolist(),
                                                          replacement.tolist(), strict=True):
        tokens = inst.tokens
        inst.masked_lm_positions = position_row[:count]
        inst.masked_lm_labels = [tokens[i] for i in inst.masked_lm_positions]
        for i, token in zip(inst.masked_lm_positions, replacement_row[:count], strict=True):
            if token >= 0:
                tokens[i] = token


# --- serialization: tf.train.Example bytes without TensorFlow (workers stay light) -------------------------------


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class ExampleEncoder:
    """Serializes instances as `tf.train.Example` protos (the wire format written by hand; tested against TF).

    Ids are small non-negative ints, so each one's varint comes from a table; the 0/1 features (mask, segments,
    padding) are runs of one byte, and with the weights and the label depend only on lengths: they are cached.
    """

    def __init__(self, max_seq_length, max_predictions_per_seq, vocab_size):
        self.max_seq_length = max_seq_length
        self.max_predictions_per_seq = max_predictions_per_seq
        self._varints = [_varint(i) for i in range(max(vocab_size, 4 * max_seq_length, 1024))]
        self._keys = {name: b"\x0a" + _varint(len(name)) + name.encode() for name in FEATURES}
        self._mask_cache, self._tail_cache = {}, {}  # the features that depend only on lengths and the label

    def _len(self, n):
        return self._varints[n] if n < len(self._varints) else _varint(n)

    def _entry(self, name, feature):
        entry = self._keys[name] + b"\x12" + self._len(len(feature)) + feature
        return b"\x0a" + self._len(len(entry)) + entry

    def _int64s(self, name, packed):
        values_field = b"\x0a" + self._len(len(packed)) + packed
        return self._entry(name, b"\x1a" + self._len(len(values_field)) + values_field)

    def _floats(self, name, values):
        packed = struct.pack(f"<{len(values)}f", *values)
        values_field = b"\x0a" + self._len(len(packed)) + packed
        return self._entry(name, b"\x12" + self._len(len(values_field)) + values_field)

    def _mask_and_segments(self, length, ones):
        key = (length, ones)
        if key not in self._mask_cache:  # at most max_seq_length**2 / 2 keys, and far fewer occur
            pad = self.max_seq_length - length
            self._mask_cache[key] = (
                self._int64s("input_mask", b"\x01" * length + b"\x00" * pad)
                + self._int64s("segment_ids", b"\x00" * (length - ones) + b"\x01" * ones + b"\x00" * pad))
        return self._mask_cache[key]

    def _weights_and_label(self, n, is_random_next):
        key = (n, bool(is_random_next))
        if key not in self._tail_cache:
            self._tail_cache[key] = (
                self._floats("masked_lm_weights", [1.0] * n + [0.0] * (self.max_predictions_per_seq - n))
                + self._int64s("next_sentence_labels", b"\x01" if is_random_next else b"\x00"))
        return self._tail_cache[key]

    def encode(self, instance):
        varint = self._varints.__getitem__
        length = len(instance.tokens)
        n = len(instance.masked_lm_positions)
        pad, pad_p = b"\x00" * (self.max_seq_length - length), b"\x00" * (self.max_predictions_per_seq - n)
        features = b"".join((
            self._int64s("input_ids", b"".join(map(varint, instance.tokens)) + pad),
            self._mask_and_segments(length, sum(instance.segment_ids)),
            self._int64s("masked_lm_positions", b"".join(map(varint, instance.masked_lm_positions)) + pad_p),
            self._int64s("masked_lm_ids", b"".join(map(varint, instance.masked_lm_labels)) + pad_p),
            self._weights_and_label(n, instance.is_random_next),
        ))
        return b"\x0a" + self._len(len(features)) + features


# --- one shard, in a worker process ------------------------------------------------------------------------------

_TOKENIZERS = {}


def _tokenizer(vocab_path):
    if vocab_path not in _TOKENIZERS:
        from arlm.tokenizer import WordPieceTokenizer

        _TOKENIZERS[vocab_path] = WordPieceTokenizer(vocab_path)
    return _TOKENIZERS[vocab_path]


def tokenize_documents(documents, tokenizer, max_num_tokens, sentences=True):
    """Token ids per sentence (or line) per document; returns (documents, empty documents, over-long lines).

    An over-long line is kept (the pair truncation cuts it, as in BERT) and counted.
    """
    from arlm.text import split_sentences

    out, empty, long_lines = [], 0, 0
    for lines in documents:
        document = []
        for line in lines:
            for ids in map(tokenizer.encode, split_sentences(line) if sentences else [line]):
                if ids:
                    long_lines += len(ids) > max_num_tokens
                    document.append(ids)
        if document:
            out.append(document)
        else:
            empty += 1
    return out, empty, long_lines


def process_shard(shard_index, documents, vocab_path, config, out_dir=None):
    """Tokenize, make and serialize the instances of one shard (a list of documents of raw lines).

    With `out_dir`, the shard is written there as ``shard-<index>.tfrecord`` and no records are returned.
    """
    tokenizer = _tokenizer(str(vocab_path))
    rng = random.Random(config.random_seed + shard_index)
    tokenized, empty, long_lines = tokenize_documents(documents, tokenizer, config.max_seq_length - 3,
                                                      config.split_sentences)
    sentences = [ids for document in tokenized for ids in document]
    corpus_tokens, unk_tokens = sum(map(len, sentences)), sum(ids.count(tokenizer.unk_id) for ids in sentences)
    continuation = tokenizer.is_continuation() if config.do_whole_word_mask else None
    instances = create_instances(tokenized, config, tokenizer.vocab_size, rng, continuation)
    encoder = ExampleEncoder(config.max_seq_length, config.max_predictions_per_seq, tokenizer.vocab_size)
    records = [encoder.encode(instance) for instance in instances]
    stats = {"documents": len(tokenized), "empty_documents": empty, "long_lines": long_lines,
             "corpus_tokens": corpus_tokens, "unk_tokens": unk_tokens,
             "instances": len(instances), "random_next": sum(inst.is_random_next for inst in instances),
             "masked": sum(len(inst.masked_lm_positions) for inst in instances),
             "tokens": sum(len(inst.tokens) for inst in instances)}
    if out_dir is not None:
        if records:
            write_tfrecords(Path(out_dir) / f"shard-{shard_index:05d}.tfrecord", records)
        records = None
    return shard_index, records, stats


def iter_shards(documents, words_per_shard):
    """Group documents (lists of raw lines, or `arlm.corpus.Document`) into shards of about `words_per_shard` words."""
    shard, words = [], 0
    for document in documents:
        lines = getattr(document, "lines", document)
        if isinstance(lines, str):
            raise DatasetError("documents must be lists of lines, got a string (wrap each document in a list)")
        shard.append(list(lines))
        words += sum(len(line.split()) for line in lines)
        if words >= words_per_shard:
            yield shard
            shard, words = [], 0
    if shard:
        yield shard


@functools.lru_cache(maxsize=1)
def _crc32c_table():
    import numpy as np

    table = np.zeros(256, np.uint32)
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)  # Castagnoli polynomial, reflected
        table[i] = crc
    return table


def masked_crc32c(records):
    """TFRecord's masked CRC-32C of each of `records` (bytes), computed for all of them at once with NumPy."""
    import numpy as np

    table = _crc32c_table()
    lengths = np.fromiter(map(len, records), np.int64, len(records))
    matrix = np.zeros((len(records), int(lengths.max(initial=0))), np.uint8, order="F")  # columns contiguous
    for row, record in enumerate(records):
        matrix[row, : len(record)] = np.frombuffer(record, np.uint8)
    crc = np.full(len(records), 0xFFFFFFFF, np.uint32)
    for column in range(matrix.shape[1]):  # one byte of every record per step
        step = table[(crc ^ matrix[:, column]) & 0xFF] ^ (crc >> np.uint32(8))
        crc = np.where(lengths > column, step, crc)
    crc ^= np.uint32(0xFFFFFFFF)
    return ((crc >> np.uint32(15)) | (crc << np.uint32(17))) + np.uint32(0xA282EAD8)


def write_tfrecords(path, records, chunk=4096):
    """Write serialized examples as a TFRecord file (length, CRC of length, data, CRC of data) without TensorFlow."""
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        for start in range(0, len(records), chunk):
            part = records[start: start + chunk]
            headers = [struct.pack("<Q", len(record)) for record in part]
            for header, header_crc, record, data_crc in zip(headers, masked_crc32c(headers), part,
                                                            masked_crc32c(part), strict=True):
                out.write(header + struct.pack("<I", header_crc) + record + struct.pack("<I", data_crc))


def create_pretraining_data(documents, vocab_path, out_dir, config=None, workers=None, words_per_shard=200_000,
                            progress=True):
    """Write sharded TFRecords of pretraining instances for `documents`, streaming and in parallel.

    Args:
        documents: iterable of documents (lists of raw lines, or `arlm.corpus.Document`), read lazily.
        vocab_path: WordPiece vocabulary file.
        out_dir: folder for ``shard-00000.tfrecord``... and ``meta.json``. It is built beside and replaces the
            old folder as a whole only when every shard is written (`arlm.io.staged_dir`): a failure leaves the
            previous shards and their ``meta.json`` untouched. It may hold only such files (`OUTPUTS`).
        config: a `PretrainingConfig` (BERT's flags).
        workers: processes (default: CPU count); 1 runs in this process.
        words_per_shard: words per shard, the memory bound and the pool for random-next segments.

    Returns the metadata written to ``meta.json`` (shapes, counts, NSP ratio, the corpus's ``unk_rate``,
    seconds). Warns (`UnknownTokensWarning`) when ``unk_rate`` is above `UNK_WARNING_RATE`.
    """
    config = config or PretrainingConfig()
    if workers is not None and workers < 1:
        raise ParameterError(f"workers must be at least 1, got {workers} (parameter --workers)")
    if words_per_shard < 1:
        raise ParameterError(f"words_per_shard must be at least 1, got {words_per_shard} (parameter --words-per-shard)")
    out_dir = check_out_dir(out_dir, OUTPUTS)
    vocab_path = str(Path(vocab_path).resolve())
    _tokenizer(vocab_path)  # a bad vocabulary fails here, with its message, before any work starts
    with staged_dir(out_dir) as staging:
        meta = _write_shards(documents, vocab_path, staging, config, workers or os.cpu_count() or 1,
                             words_per_shard, progress)
    if meta["unk_rate"] > UNK_WARNING_RATE:
        warnings.warn(f"{meta['unk_rate']:.1%} of the corpus's tokens are [UNK] with the vocabulary {vocab_path} "
                      f"(more than {UNK_WARNING_RATE:.0%}): it does not fit this corpus (another language or "
                      "script?); train one on it with `arlm vocab train`", UnknownTokensWarning, stacklevel=2)
    return meta


def _write_shards(documents, vocab_path, out_dir, config, workers, words_per_shard, progress):
    from tqdm.auto import tqdm

    totals = {"documents": 0, "empty_documents": 0, "long_lines": 0, "corpus_tokens": 0, "unk_tokens": 0,
              "instances": 0, "random_next": 0, "masked": 0, "tokens": 0}
    files = []
    start = time.perf_counter()
    bar = tqdm(desc="pretraining instances", unit="ex", disable=not progress)

    def finish(result):
        index, _, stats = result
        if stats["instances"]:
            files.append(f"shard-{index:05d}.tfrecord")
        for key in totals:
            totals[key] += stats[key]
        bar.update(stats["instances"])

    shards = iter_shards(documents, words_per_shard)
    if workers == 1:
        for index, shard in enumerate(shards):
            finish(process_shard(index, shard, vocab_path, config, out_dir))
    else:
        context = multiprocessing.get_context("spawn")  # fork after TensorFlow has started threads can deadlock
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            pending = set()
            for index, shard in enumerate(shards):
                pending.add(pool.submit(process_shard, index, shard, vocab_path, config, out_dir))
                if len(pending) > workers:  # bounded: at most one shard waiting beyond those being processed
                    done, pending = concurrent.futures.wait(pending, return_when="FIRST_COMPLETED")
                    for future in done:
                        finish(future.result())
            for future in concurrent.futures.as_completed(pending):
                finish(future.result())
    bar.close()
    if not totals["instances"]:
        raise DatasetError(f"the corpus gave no pretraining instances ({totals['documents']} non-empty documents, "
                           f"{totals['empty_documents']} empty); is it empty or is the vocabulary wrong?")
    seconds = time.perf_counter() - start
    meta = {
        **dataclasses.asdict(config), "vocab_path": vocab_path, "files": sorted(files),
        **totals, "next_sentence_random_ratio": totals["random_next"] / totals["instances"],
        "masked_per_instance": totals["masked"] / totals["instances"],
        "unk_rate": totals["unk_tokens"] / max(1, totals["corpus_tokens"]), "seconds": round(seconds, 3),
        "instances_per_second": round(totals["instances"] / seconds, 1), "workers": workers,
        "words_per_shard": words_per_shard,
    }
    write_json(out_dir / "meta.json", meta)
    return meta


# --- reading back: a tf.data pipeline for model.fit ----------------------------------------------------------------


def feature_spec(max_seq_length, max_predictions_per_seq):
    import tensorflow as tf

    ints = lambda n: tf.io.FixedLenFeature([n], tf.int64)  # noqa: E731
    return {
        "input_ids": ints(max_seq_length), "input_mask": ints(max_seq_length), "segment_ids": ints(max_seq_length),
        "masked_lm_positions": ints(max_predictions_per_seq), "masked_lm_ids": ints(max_predictions_per_seq),
        "masked_lm_weights": tf.io.FixedLenFeature([max_predictions_per_seq], tf.float32),
        "next_sentence_labels": ints(1),
    }


def _files(file_pattern_or_list):
    import tensorflow as tf

    patterns = [file_pattern_or_list] if isinstance(file_pattern_or_list, str | os.PathLike) else file_pattern_or_list
    files = []
    for pattern in patterns:
        pattern = str(pattern)
        if os.path.isdir(pattern):
            pattern = os.path.join(pattern, "*.tfrecord")
        files.extend(sorted(tf.io.gfile.glob(pattern)))
    if not files:
        raise DatasetError(f"no TFRecord files match {file_pattern_or_list!r} (run chapter 1 first)")
    return files


def dynamic_mask(token_ids, padding_mask, max_predictions_per_seq, vocab_size, masked_lm_prob=0.15, mask_id=4,
                 special_ids=(0, 2, 3), generator=None):
    """RoBERTa-style masking in the graph (new positions every time a batch is drawn), BERT's counts and 80/10/10.

    Takes unmasked ``token_ids`` [B, L] and returns ``(masked token_ids, mask_positions, masked_lm_ids,
    masked_lm_weights)`` with $n = \\min(P, \\max(1, \\mathrm{round}(p\\,|x|)))$ masked positions per row.
    `generator` is a `tf.random.Generator`; its state lives outside the dataset, so a new iterator (a new epoch)
    continues the random stream instead of replaying it.
    """
    import tensorflow as tf

    generator = generator or tf.random.Generator.from_non_deterministic_state()

    token_ids = tf.convert_to_tensor(token_ids)
    shape = tf.shape(token_ids)
    candidate = tf.cast(padding_mask, tf.bool)
    for special in special_ids:
        candidate &= token_ids != special
    length = tf.reduce_sum(tf.cast(padding_mask, tf.float32), axis=1)
    num = tf.minimum(max_predictions_per_seq, tf.maximum(1, tf.cast(tf.round(length * masked_lm_prob), tf.int32)))
    num = tf.minimum(num, tf.reduce_sum(tf.cast(candidate, tf.int32), axis=1))
    # a random order of the candidates: random scores, non-candidates last
    scores = tf.where(candidate, generator.uniform(tf.shape(token_ids)), -1.0)
    order = tf.math.top_k(scores, k=max_predictions_per_seq).indices
    keep = tf.range(max_predictions_per_seq)[None, :] < num[:, None]
    positions = tf.sort(tf.where(keep, order, shape[1]), axis=1)  # unused slots sort last, then become 0
    keep = positions < shape[1]
    positions = tf.where(keep, positions, 0)
    labels = tf.where(keep, tf.gather(token_ids, positions, batch_dims=1), 0)
    draw = generator.uniform(tf.shape(positions))
    random_ids = generator.uniform(tf.shape(positions), 0, vocab_size, dtype=token_ids.dtype)
    replacement = tf.where(draw < 0.8, tf.cast(mask_id, token_ids.dtype), tf.where(draw < 0.9, labels, random_ids))
    rows = tf.broadcast_to(tf.range(shape[0])[:, None], tf.shape(positions))
    updates = tf.boolean_mask(tf.stack([rows, positions], -1), keep)
    masked = tf.tensor_scatter_nd_update(token_ids, updates, tf.boolean_mask(replacement, keep))
    return masked, positions, labels, tf.cast(keep, tf.float32)


def load_dataset(file_pattern_or_list, batch_size, max_seq_length, max_predictions_per_seq, shuffle=True,
                 repeat=True, dynamic_masking=False, vocab_size=None, masked_lm_prob=0.15, seed=None,
                 shuffle_buffer=10_000, drop_remainder=True):
    """A `tf.data.Dataset` of ``(x, y)`` batches from BERT pretraining TFRecords, ready for ``model.fit``.

    ``x = {"token_ids", "segment_ids", "padding_mask", "mask_positions"}``, all int32 [B, L] / [B, P]
    (``padding_mask`` is int32 1/0); ``y = {"masked_lm_ids": int32 [B, P], "masked_lm_weights": float32 [B, P],
    "next_sentence_labels": int32 [B]}``.

    With ``dynamic_masking=True`` the stored masks are undone and new ones are drawn for every batch
    (RoBERTa-style; needs ``vocab_size``), so each epoch sees different masked positions.
    """
    import tensorflow as tf

    if dynamic_masking and not vocab_size:
        raise ParameterError("load_dataset(dynamic_masking=True) needs vocab_size (for the 10% random tokens)")
    files = _files(file_pattern_or_list)
    spec = feature_spec(max_seq_length, max_predictions_per_seq)
    dataset = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        dataset = dataset.shuffle(len(files), seed=seed)
    # with a seed the stream is repeatable (resume, and equal batches for the chapter 4 control); without one,
    # shards are read in whatever order they arrive
    repeatable = seed is not None or not shuffle
    dataset = dataset.interleave(tf.data.TFRecordDataset, cycle_length=min(len(files), 8),
                                 num_parallel_calls=tf.data.AUTOTUNE, deterministic=repeatable)
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    if dynamic_masking:
        generator = tf.random.Generator.from_seed(seed) if seed is not None else \
            tf.random.Generator.from_non_deterministic_state()

    def parse(records):
        parsed = tf.io.parse_example(records, spec)
        f = {k: tf.cast(v, tf.int32) if v.dtype == tf.int64 else v for k, v in parsed.items()}
        token_ids, positions, labels = f["input_ids"], f["masked_lm_positions"], f["masked_lm_ids"]
        weights = f["masked_lm_weights"]
        if dynamic_masking:
            # put the original tokens back, then mask afresh
            rows = tf.broadcast_to(tf.range(tf.shape(positions)[0])[:, None], tf.shape(positions))
            keep = weights > 0
            updates = tf.boolean_mask(tf.stack([rows, positions], -1), keep)
            token_ids = tf.tensor_scatter_nd_update(token_ids, updates, tf.boolean_mask(labels, keep))
            token_ids, positions, labels, weights = dynamic_mask(
                token_ids, f["input_mask"], max_predictions_per_seq, vocab_size, masked_lm_prob, generator=generator)
        x = {"token_ids": token_ids, "segment_ids": f["segment_ids"], "padding_mask": f["input_mask"],
             "mask_positions": positions}
        y = {"masked_lm_ids": labels, "masked_lm_weights": weights,
             "next_sentence_labels": f["next_sentence_labels"][:, 0]}
        return x, y

    # one stateful generator draws the new masks: parallel calls would take its draws in any order
    parallel = None if dynamic_masking and seed is not None else tf.data.AUTOTUNE
    return dataset.map(parse, num_parallel_calls=parallel).prefetch(tf.data.AUTOTUNE)


def read_meta(directory):
    from arlm.io import read_json

    path = Path(directory) / "meta.json"
    if not path.exists():
        raise DatasetError(f"{path} is missing: create the pretraining data first (chapter 1)")
    return read_json(path)
