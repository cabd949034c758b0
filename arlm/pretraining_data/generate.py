"""The corpus to TFRecord shards: a pool of processes, one shard of documents each (`arlm.pretraining_data`).

`create_pretraining_data` validates its inputs, streams the corpus into shards of about ``words_per_shard`` words,
has each worker tokenize, build and serialize one shard (`process_shard`), and stages the output folder so that a
failure leaves the previous shards and ``meta.json`` untouched.
"""

import concurrent.futures
import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import os
import random
import signal
import threading
import time
import warnings
from pathlib import Path

from arlm.errors import DatasetError, ParameterError
from arlm.files import check_out_dir, staged_dir, write_json
from arlm.pretraining_data.instances import PretrainingConfig, create_instances
from arlm.pretraining_data.records import ExampleEncoder, write_tfrecords

OUTPUTS = ("shard-*.tfrecord", "meta.json")  # what `create_pretraining_data` writes in its folder
# above this share of [UNK] among the corpus's tokens the vocabulary does not fit the corpus (a Latin-only one on
# Arabic text gives 99%); a vocabulary trained on the corpus itself gives well under 1%
UNK_WARNING_RATE = 0.05


class UnknownTokensWarning(UserWarning):
    """The vocabulary maps more than `UNK_WARNING_RATE` of the corpus's tokens to [UNK]."""



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


def _start_worker(parent, stop):
    """In each worker process: Ctrl-C is for the parent (which stops the pool, and whose terminal would show a
    worker's traceback), and the worker ends as soon as its parent ends, however it ends, or sets `stop`; a
    worker left running would write into a staging folder that nobody will use."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by its parent until now
    threading.Thread(target=_end_with, args=(parent, stop), daemon=True).start()


def _end_with(parent, stop):
    while os.getppid() == parent and not stop.wait(0.2):
        pass
    os._exit(1)


@contextlib.contextmanager
def _sigint_blocked():
    """SIGINT held back (not lost) in this thread for the block: a worker started here inherits the blocked
    signal, so a Ctrl-C during its start-up, before `_start_worker` runs, cannot interrupt it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def create_pretraining_data(documents, vocab_path, out_dir, config=None, workers=None, words_per_shard=200_000,
                            progress=True):
    """Write sharded TFRecords of pretraining instances for `documents`, streaming and in parallel.

    Args:
        documents: iterable of documents (lists of raw lines, or `arlm.corpus.Document`), read lazily.
        vocab_path: WordPiece vocabulary file.
        out_dir: folder for ``shard-00000.tfrecord``... and ``meta.json``. It is built beside and replaces the
            old folder as a whole only when every shard is written (`arlm.files.staged_dir`): a failure leaves the
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
    from arlm.progress import Progress

    totals = {"documents": 0, "empty_documents": 0, "long_lines": 0, "corpus_tokens": 0, "unk_tokens": 0,
              "instances": 0, "random_next": 0, "masked": 0, "tokens": 0}
    files = []
    start = time.perf_counter()
    bar = Progress(desc="pretraining instances", unit="instances", disable=not progress)

    def finish(result):
        index, _, stats = result
        if stats["instances"]:
            files.append(f"shard-{index:05d}.tfrecord")
        for key in totals:
            totals[key] += stats[key]
        bar.update(stats["instances"], shards=len(files))

    shards = iter_shards(documents, words_per_shard)
    if workers == 1:
        for index, shard in enumerate(shards):
            finish(process_shard(index, shard, vocab_path, config, out_dir))
    else:
        context = multiprocessing.get_context("spawn")  # fork after TensorFlow has started threads can deadlock
        stop = context.Event()
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                                    initargs=(os.getpid(), stop)) as pool:
            try:
                pending = set()
                for index, shard in enumerate(shards):
                    with _sigint_blocked():  # a worker is born ignoring Ctrl-C (see _start_worker)
                        pending.add(pool.submit(process_shard, index, shard, vocab_path, config, out_dir))
                    if len(pending) > workers:  # bounded: at most one shard waiting beyond those being processed
                        done, pending = concurrent.futures.wait(pending, return_when="FIRST_COMPLETED")
                        for future in done:
                            finish(future.result())
                for future in concurrent.futures.as_completed(pending):
                    finish(future.result())
            except BaseException:
                stop.set()  # the workers end now, mid-shard, before the staging folder is removed
                pool.shutdown(cancel_futures=True)
                raise
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


def random_next_finding(meta, max_seq_length):
    """A sentence on the share of "random next" pairs in `meta` (of `create_pretraining_data`), with its reason.

    Args:
        meta (dict): the meta record of a pretraining-data folder.
        max_seq_length (int): its sequence length, for the reason.
    """
    ratio = meta["next_sentence_random_ratio"]
    said = f"{ratio:.0%} of the pairs have a random segment B"
    if ratio <= 0.55:
        return f"{said}: about BERT's one half, as most chunks hold several sentences."
    return (f"{said}, more than BERT's one half: a chunk of a single sentence always gets a random B "
            f"({meta['long_lines']:,} lines here are longer than a whole example of {max_seq_length} tokens), "
            "and a random B puts the chunk's unused sentences back, so such chunks make more examples.")


def length_finding(lengths, max_seq_length):
    """A sentence on how full the examples are, from their token counts.

    Args:
        lengths (list[int]): tokens per example (``padding_mask`` sums).
        max_seq_length (int): the examples' length.
    """
    short = sum(length < 0.9 * max_seq_length for length in lengths) / max(1, len(lengths))
    if not short:
        return (f"None of these {len(lengths)} examples is shorter than 90% of `max_seq_length` "
                f"({max_seq_length}): chunks hold whole sentences, and here one sentence already fills even "
                "the short targets that `short_seq_prob` asks for.")
    return (f"{short:.0%} of these examples are shorter than 90% of `max_seq_length` ({max_seq_length}): "
            "the short targets that `short_seq_prob` asks for and the last chunks of documents.")


def fullness_finding(fullness, short_share, max_seq_length, short_seq_prob):
    """A sentence on how full the examples are and which rule of the generator shows, from the numbers.

    Args:
        fullness (float): tokens per example over ``max_seq_length``, averaged over the examples.
        short_share (float): the share of examples shorter than half of ``max_seq_length``.
        max_seq_length (int): the examples' length.
        short_seq_prob (float): the share of chunks given a random shorter target.
    """
    said = (f"The examples are {fullness:.1%} full on average, and {short_share:.1%} of them are shorter than "
            f"{max_seq_length // 2} tokens (`short_seq_prob` asks for a short target in {short_seq_prob:.0%} of "
            "the chunks).")
    if short_share > 2 * short_seq_prob:
        return said + (" More examples are short than the short targets explain: documents end before their chunk "
                       "is full (short documents, or single sentences).")
    if fullness >= 0.95:
        return said + (" Nearly every example is full: sentences are long enough that a chunk overshoots even a "
                       "short target and is then truncated.")
    return said + (" The short targets show, and the last chunks of documents; the other examples are filled by "
                   "whole sentences and truncated.")


def masking_finding(rows, cap, raised):
    """A sentence on what whole-word masking and a 25% rate changed against BERT's masking (`masking_stats` rows).

    Args:
        rows (dict): ``{"bert", "whole_word", "rate_same_cap", "rate_raised_cap"}`` -> `masking_stats` results.
        cap (int): this run's ``max_predictions_per_seq``.
        raised (int): the raised cap of the last variant.
    """
    bert, whole = rows["bert"], rows["whole_word"]
    same, more = rows["rate_same_cap"], rows["rate_raised_cap"]
    said = (f"Whole-word masking takes the share of masked positions in a partly visible word from "
            f"{bert['partial_word_share']:.1%} to {whole['partial_word_share']:.1%}, at "
            f"{whole['masked_per_example']:.1f} masks per example against {bert['masked_per_example']:.1f}. ")
    said += (f"A 25% rate with the cap of {cap} gives {same['masked_per_example']:.1f} masks per example "
             f"({same['masked_share']:.1%} of the tokens)")
    change = same["masked_per_example"] - bert["masked_per_example"]
    if abs(change) < 0.05 * bert["masked_per_example"]:
        said += ", about BERT's: the cap binds on almost every example"
    else:
        said += (f", {change:+.1f} against BERT's: the cap binds only on examples long enough to ask for more than "
                 f"{cap} masks, and shorter ones get their 25%")
    return said + (f"; with the cap raised to {raised}, {more['masked_per_example']:.1f} masks per example, "
                   f"{more['masked_share']:.1%} of the tokens.")


def read_meta(directory):
    from arlm.files import read_json

    path = Path(directory) / "meta.json"
    if not path.exists():
        raise DatasetError(f"{path} is missing: create the pretraining data first (chapter 1)")
    return read_json(path)


# what meta.json records about the run that wrote the data rather than about the data
_RUN_KEYS = ("seconds", "instances_per_second", "workers", "vocab_path")


def fingerprint(directory):
    """A short digest of the pretraining data in `directory`, which the training stages record: a stage
    finished on other data (another corpus, or a vocabulary with other ids) is then refused, not reused.

    It reads ``meta.json`` (without timings and paths) and the size and first MiB of every shard: the counts
    change with the corpus, the bytes with any change of token ids. Cheap at any scale.
    """
    directory = Path(directory)
    meta = read_meta(directory)
    digest = hashlib.sha256(json.dumps({k: v for k, v in meta.items() if k not in _RUN_KEYS},
                                       sort_keys=True).encode("utf-8"))
    for name in meta["files"]:
        path = directory / name
        digest.update(f"{name} {path.stat().st_size}".encode())
        with open(path, "rb") as shard:
            digest.update(shard.read(2**20))
    return digest.hexdigest()[:16]
