"""The BERT data generator: statistics on a real corpus sample, document boundaries, determinism, the TFRecord
format, the tf.data reader and dynamic masking, and malformed input."""

import random
import re

import numpy as np
import pytest

from arlm import corpus
from arlm.errors import DatasetError, ParameterError
from arlm.pretraining_data import (
    ExampleEncoder,
    Instance,
    PretrainingConfig,
    create_instances,
    create_pretraining_data,
    create_whole_word_masks,
    fingerprint,
    load_dataset,
    mask_instances,
    masking_stats,
    read_meta,
    tokenize_documents,
    truncate_seq_pair,
    truncated_lengths,
    write_tfrecords,
)
from arlm.tokenizer import WordPieceTokenizer, train_vocabulary

CONFIG = PretrainingConfig(max_seq_length=64, max_predictions_per_seq=8, dupe_factor=2)


@pytest.fixture(scope="module")
def documents():
    """About 60K words of real news (mirror) or hadith (embedded corpus), as documents of raw lines."""
    sources = corpus.default_sources().sources[:1]
    return [d.lines for d in corpus.iter_corpus(sources, max_words=60_000)]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory, documents):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    train_vocabulary(documents, 1500, path)
    return WordPieceTokenizer(path)


@pytest.fixture(scope="module")
def instances(documents, tokenizer):
    tokenized, _, _ = tokenize_documents(documents, tokenizer, CONFIG.max_seq_length - 3)
    return create_instances(tokenized, CONFIG, tokenizer.vocab_size, random.Random(1))


def test_instance_layout_and_segment_ids(instances, tokenizer):
    assert len(instances) > 1000
    for inst in instances:
        tokens, segments = inst.tokens, inst.segment_ids
        assert len(tokens) == len(segments) <= CONFIG.max_seq_length
        assert tokens[0] == tokenizer.cls_id
        seps = [i for i, s in enumerate(segments) if i and segments[i - 1] == 0 and s == 1]
        assert len(seps) == 1  # segment ids: 0 for [CLS] A [SEP], then 1 for B [SEP]
        boundary = seps[0]
        original = list(tokens)
        for position, label in zip(inst.masked_lm_positions, inst.masked_lm_labels, strict=True):
            original[position] = label
        assert original[boundary - 1] == tokenizer.sep_id and original[-1] == tokenizer.sep_id
        assert tokenizer.sep_id not in original[1: boundary - 1] + original[boundary:-1]


def test_masked_counts_and_80_10_10(instances, tokenizer):
    replaced = kept = random_token = 0
    for inst in instances:
        expected = min(CONFIG.max_predictions_per_seq, max(1, round(CONFIG.masked_lm_prob * len(inst.tokens))))
        assert len(inst.masked_lm_positions) == expected
        assert inst.masked_lm_positions == sorted(set(inst.masked_lm_positions))
        assert 0 not in inst.masked_lm_positions  # never [CLS] ...
        for position, label in zip(inst.masked_lm_positions, inst.masked_lm_labels, strict=True):
            assert label not in (tokenizer.cls_id, tokenizer.sep_id)  # ... nor [SEP]
            token = inst.tokens[position]
            replaced += token == tokenizer.mask_id
            kept += token == label
            random_token += token not in (tokenizer.mask_id, label)
    total = replaced + kept + random_token
    assert abs(replaced / total - 0.8) < 0.02
    assert abs(kept / total - 0.1) < 0.02
    assert abs(random_token / total - 0.1) < 0.02


def test_masked_positions_are_uniform_over_candidates():
    # [CLS] 10 x A [SEP] 20 x B [SEP]: 30 candidates, round(0.15 * 33) = 5 masked per instance
    tokens = [2, *range(10, 20), 3, *range(20, 40), 3]
    segments = [0] * 12 + [1] * 21
    pool = [Instance(list(tokens), segments, False, [], []) for _ in range(6000)]
    mask_instances(pool, CONFIG, 1000, seed=0)
    hits = np.zeros(len(tokens))
    for inst in pool:
        assert len(inst.masked_lm_positions) == 5
        assert inst.masked_lm_labels == [tokens[i] for i in inst.masked_lm_positions]
        hits[inst.masked_lm_positions] += 1
    assert hits[[0, 11, 32]].sum() == 0  # never [CLS] / [SEP]
    expected = 6000 * 5 / 30
    assert np.all(np.abs(np.delete(hits, [0, 11, 32]) - expected) < 0.1 * expected)


def test_whole_word_masking_masks_every_piece_of_a_word():
    is_continuation = [False] * 50 + [True] * 50  # ids 50-99 are ## pieces
    rng = random.Random(0)
    for _ in range(200):
        words = [[rng.randrange(5, 50)] + [rng.randrange(50, 100) for _ in range(rng.randint(0, 2))] for _ in range(20)]
        tokens = [2, *[t for w in words[:8] for t in w], 3, *[t for w in words[8:] for t in w], 3]
        _, positions, labels = create_whole_word_masks(tokens, 0.15, 10, 100, rng, is_continuation)
        assert 1 <= len(positions) <= min(10, round(0.15 * len(tokens)))
        assert labels == [tokens[i] for i in positions] and tokens[0] == 2 and 3 not in labels
        start = 0
        for word in words:
            while tokens[start] in (2, 3):
                start += 1
            span = set(range(start, start + len(word)))
            assert span <= set(positions) or not span & set(positions)  # a word is masked whole or not at all
            start += len(word)


class _CountingRandom(random.Random):
    """Counts ``random()`` draws: in BERT's algorithm one per document pass (``short_seq_prob``) and one per
    chunk of two or more sentences (the 50% coin); single-sentence chunks draw no coin."""

    draws = 0

    def random(self):
        self.draws += 1
        return super().random()

    def getrandbits(self, k):  # defined too, so that randint/shuffle keep drawing bits, not random()
        return super().getrandbits(k)


def test_next_sentence_ratio(documents, tokenizer):
    # a chunk of one sentence always gets a random next segment, any other one with probability 1/2, so the share of
    # label 1 depends on the corpus (news: long sentences that often fill a chunk; hadith: short documents). Derive
    # the expectation from the chunks this corpus produced and check the coin against it.
    tokenized, _, _ = tokenize_documents(documents, tokenizer, CONFIG.max_seq_length - 3)
    rng = _CountingRandom(1)
    instances = create_instances(tokenized, CONFIG, tokenizer.vocab_size, rng)
    passes = CONFIG.dupe_factor * sum(1 for document in tokenized if document)
    coins = rng.draws - passes  # chunks of two or more sentences
    single = len(instances) - coins
    random_next = sum(inst.is_random_next for inst in instances)
    assert 0 < coins <= len(instances)
    assert single <= random_next <= len(instances)
    # the coin's share among multi-sentence chunks: 1/2 within 4 standard deviations
    assert abs((random_next - single) / coins - 0.5) < 4 * (0.25 / coins) ** 0.5
    # with short sentences the coin decides (p = 0.5); random-next chunks put their unused sentences back and so
    # produce more instances per document: the official script's share of label 1 is a little above one half
    rng = random.Random(0)
    documents = [[[rng.randrange(5, 900) for _ in range(rng.randint(4, 9))] for _ in range(30)] for _ in range(40)]
    synthetic = create_instances(documents, CONFIG, 1000, random.Random(2))
    assert 0.5 < sum(inst.is_random_next for inst in synthetic) / len(synthetic) < 0.65


def test_documents_are_never_mixed_inside_a_segment():
    # synthetic documents whose ids say which document they come from: doc d uses ids 100*d .. 100*d+99
    rng = random.Random(0)
    documents = [[[100 * d + rng.randrange(100) for _ in range(rng.randint(3, 30))] for _ in range(rng.randint(1, 8))]
                 for d in range(1, 40)]
    config = PretrainingConfig(max_seq_length=48, max_predictions_per_seq=5, dupe_factor=3, masked_lm_prob=0.1)
    for inst in create_instances(documents, config, 5000, random.Random(3)):
        tokens = list(inst.tokens)
        for position, label in zip(inst.masked_lm_positions, inst.masked_lm_labels, strict=True):
            tokens[position] = label
        boundary = inst.segment_ids.index(1)
        doc_a = {t // 100 for t in tokens[1: boundary - 1]}
        doc_b = {t // 100 for t in tokens[boundary:-1]}
        assert len(doc_a) == 1 and len(doc_b) == 1
        assert (doc_a == doc_b) != inst.is_random_next or len(documents) == 1


def test_truncation_matches_the_official_loop():
    rng = random.Random(0)
    for _ in range(2000):
        len_a, len_b, limit = rng.randint(1, 300), rng.randint(1, 300), rng.randint(2, 200)
        a, b = len_a, len_b
        while a + b > limit:  # the official loop, lengths only
            if a > b:
                a -= 1
            else:
                b -= 1
        assert truncated_lengths(len_a, len_b, limit) == (a, b)
    tokens_a, tokens_b = list(range(100)), list(range(100, 110))
    truncate_seq_pair(tokens_a, tokens_b, 50, random.Random(1))
    assert len(tokens_a) == 40 and tokens_a == list(range(tokens_a[0], tokens_a[0] + 40)) and len(tokens_b) == 10


def test_seed_determinism(documents, tokenizer):
    tokenized, _, _ = tokenize_documents(documents[:40], tokenizer, 61)
    first = create_instances(tokenized, CONFIG, tokenizer.vocab_size, random.Random(7))
    again = create_instances(tokenized, CONFIG, tokenizer.vocab_size, random.Random(7))
    other = create_instances(tokenized, CONFIG, tokenizer.vocab_size, random.Random(8))
    assert first == again and first != other


def test_records_parse_as_tf_train_example(instances, tokenizer):
    import tensorflow as tf
    encoder = ExampleEncoder(CONFIG.max_seq_length, CONFIG.max_predictions_per_seq, tokenizer.vocab_size)
    inst = instances[0]
    features = tf.train.Example.FromString(encoder.encode(inst)).features.feature
    pad = CONFIG.max_seq_length - len(inst.tokens)
    n = len(inst.masked_lm_positions)
    assert list(features["input_ids"].int64_list.value) == inst.tokens + [0] * pad
    assert list(features["input_mask"].int64_list.value) == [1] * len(inst.tokens) + [0] * pad
    assert list(features["segment_ids"].int64_list.value) == inst.segment_ids + [0] * pad
    assert list(features["masked_lm_positions"].int64_list.value)[:n] == inst.masked_lm_positions
    assert list(features["masked_lm_ids"].int64_list.value)[:n] == inst.masked_lm_labels
    assert list(features["masked_lm_weights"].float_list.value) == [1.0] * n + [0.0] * (8 - n)
    assert list(features["next_sentence_labels"].int64_list.value) == [int(inst.is_random_next)]


def test_tfrecord_framing_matches_tensorflow(tmp_path, instances, tokenizer):
    import tensorflow as tf
    encoder = ExampleEncoder(CONFIG.max_seq_length, CONFIG.max_predictions_per_seq, tokenizer.vocab_size)
    records = [encoder.encode(inst) for inst in instances[:50]] + [b"", b"x" * 3000]
    write_tfrecords(tmp_path / "ours.tfrecord", records, chunk=16)
    with tf.io.TFRecordWriter(str(tmp_path / "tf.tfrecord")) as writer:
        for record in records:
            writer.write(record)
    assert (tmp_path / "ours.tfrecord").read_bytes() == (tmp_path / "tf.tfrecord").read_bytes()


def test_sharded_files_workers_and_tf_data(tmp_path, documents, tokenizer):
    import tensorflow as tf
    docs = documents[:150]
    one = create_pretraining_data(docs, tokenizer.vocab_path, tmp_path / "one", CONFIG, workers=1,
                                  words_per_shard=8000, progress=False)
    two = create_pretraining_data(docs, tokenizer.vocab_path, tmp_path / "two", CONFIG, workers=2,
                                  words_per_shard=8000, progress=False)
    assert len(one["files"]) > 1 and one["files"] == two["files"] and one["instances"] == two["instances"]
    for name in one["files"]:  # the same bytes whatever the number of processes
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    count = sum(1 for _ in tf.data.TFRecordDataset([str(tmp_path / "one" / f) for f in one["files"]]))
    assert count == one["instances"]

    x, y = next(iter(load_dataset(tmp_path / "one", 8, 64, 8, shuffle=False)))
    assert {k: (v.shape.as_list(), v.dtype.name) for k, v in x.items()} == {
        "token_ids": ([8, 64], "int32"), "segment_ids": ([8, 64], "int32"), "padding_mask": ([8, 64], "int32"),
        "mask_positions": ([8, 8], "int32")}
    assert {k: (v.shape.as_list(), v.dtype.name) for k, v in y.items()} == {
        "masked_lm_ids": ([8, 8], "int32"), "masked_lm_weights": ([8, 8], "float32"),
        "next_sentence_labels": ([8], "int32")}

    # dynamic masking: same sequences, fresh masks, BERT's counts, originals restored elsewhere
    static = next(iter(load_dataset(tmp_path / "one", 32, 64, 8, shuffle=False, repeat=False)))
    dynamic = load_dataset(tmp_path / "one", 32, 64, 8, shuffle=False, repeat=False, dynamic_masking=True,
                           vocab_size=tokenizer.vocab_size, seed=1)
    first, second = next(iter(dynamic)), next(iter(dynamic))
    assert (first[0]["mask_positions"].numpy() != second[0]["mask_positions"].numpy()).any()
    original = static[0]["token_ids"].numpy().copy()
    positions, labels = static[0]["mask_positions"].numpy(), static[1]["masked_lm_ids"].numpy()
    weights = static[1]["masked_lm_weights"].numpy()
    for row in range(32):
        for slot in range(8):
            if weights[row, slot]:
                original[row, positions[row, slot]] = labels[row, slot]
    x, y = first
    assert (y["masked_lm_weights"].numpy().sum(1) == weights.sum(1)).all()
    restored = x["token_ids"].numpy().copy()
    for row in range(32):
        for slot in range(8):
            if y["masked_lm_weights"][row, slot]:
                assert y["masked_lm_ids"][row, slot] == original[row, x["mask_positions"][row, slot]]
                restored[row, x["mask_positions"][row, slot]] = y["masked_lm_ids"][row, slot]
    assert (restored == original).all()

    # a seeded stream, shuffled and re-masked, is the same batches every time (resume; the chapter 4 control)
    def stream():
        dataset = load_dataset(tmp_path / "one", 8, 64, 8, dynamic_masking=True, vocab_size=tokenizer.vocab_size,
                               seed=7)
        return [np.concatenate([x["token_ids"].numpy(), x["mask_positions"].numpy()], 1) for x, _ in dataset.take(4)]

    assert all((a == b).all() for a, b in zip(stream(), stream(), strict=True))


def test_malformed_input(tmp_path, tokenizer):
    with pytest.raises(DatasetError, match="no pretraining instances"):
        create_pretraining_data([], tokenizer.vocab_path, tmp_path / "empty", CONFIG, workers=1, progress=False)
    with pytest.raises(DatasetError, match="lists of lines"):
        create_pretraining_data(["a string"], tokenizer.vocab_path, tmp_path / "s", CONFIG, workers=1, progress=False)
    with pytest.raises(ParameterError, match="max_predictions_per_seq"):
        PretrainingConfig(max_seq_length=16, max_predictions_per_seq=20)
    long_line = " ".join(["قال رسول الله"] * 100)  # 300 words: longer than a sequence, no sentence end
    docs = [["\u064e\u064f"], [long_line], ["سطر قصير", long_line]]  # an empty (diacritics-only) document
    meta = create_pretraining_data(docs, tokenizer.vocab_path, tmp_path / "m", CONFIG, workers=1, progress=False)
    assert meta["empty_documents"] == 1 and meta["long_lines"] == 2 and meta["instances"] >= 2


def test_cli_with_bert_flag_names(tmp_path, documents):
    from test_corpus import run_cli

    text = "\n\n".join("\n".join(doc) for doc in documents[:60]) + "\n"
    corpus_file = tmp_path / "corpus.txt"
    corpus_file.write_text(text, encoding="utf-8")
    vocab = tmp_path / "vocab.txt"
    assert run_cli(["vocab", "train", "--corpus", str(corpus_file), "--vocab-size", "600", "--out", str(vocab)]) == 0
    assert WordPieceTokenizer(vocab).vocab_size == 600
    argv = ["pretraining-data", "--corpus", str(corpus_file), "--vocab", str(vocab), "--out", str(tmp_path / "out"),
            "--max_seq_length", "32", "--max-predictions-per-seq", "5", "--masked_lm_prob", "0.15",
            "--dupe_factor", "1", "--short-seq-prob", "0.1", "--random_seed", "3", "--workers", "1"]
    assert run_cli(argv) == 0
    meta = read_meta(tmp_path / "out")
    assert meta["max_seq_length"] == 32 and meta["random_seed"] == 3 and meta["instances"] > 0


def test_unk_rate_is_reported_and_a_vocabulary_of_another_script_warned(tmp_path, documents, tokenizer, capsys):
    from test_corpus import run_cli

    from arlm.pretraining_data import UNK_WARNING_RATE, UnknownTokensWarning

    docs = documents[:40]
    meta = create_pretraining_data(docs, tokenizer.vocab_path, tmp_path / "ok", CONFIG, workers=1, progress=False)
    assert 0 <= meta["unk_rate"] < UNK_WARNING_RATE and meta["corpus_tokens"] > meta["unk_tokens"]
    assert read_meta(tmp_path / "ok")["unk_rate"] == meta["unk_rate"]
    latin = tmp_path / "latin.txt"
    train_vocabulary(["the cat sat on the mat", "a dog ran in the park", "hello world again"], 60, latin,
                     min_frequency=1)
    with pytest.warns(UnknownTokensWarning, match=r"\d+\.\d% of the corpus's tokens are \[UNK\]"):
        meta = create_pretraining_data(docs, latin, tmp_path / "latin", CONFIG, workers=1, progress=False)
    assert meta["unk_rate"] > 0.9

    corpus_file = tmp_path / "corpus.txt"
    corpus_file.write_text("\n\n".join("\n".join(doc) for doc in docs) + "\n", encoding="utf-8")
    argv = ["pretraining-data", "--corpus", str(corpus_file), "--vocab", str(latin), "--out", str(tmp_path / "cli"),
            "--max-seq-length", "32", "--dupe-factor", "1", "--workers", "1"]
    assert run_cli(argv) == 0
    captured = capsys.readouterr()
    assert re.search(r"\[UNK\] (9\d|100)\.\d\d% of the corpus's tokens", captured.out)
    assert re.search(r"arlm pretraining-data: warning: (9\d|100)\.\d% of the corpus's tokens", captured.err)
    assert "UserWarning" not in captured.err  # said once, in the command's words


def test_a_rerun_replaces_the_folder_only_when_it_succeeds(tmp_path, documents, tokenizer):
    out = tmp_path / "data"
    first = create_pretraining_data(documents[:40], tokenizer.vocab_path, out, CONFIG, workers=1,
                                    words_per_shard=2000, progress=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert len(first["files"]) > 1 and set(before) == {*first["files"], "meta.json"}
    with pytest.raises(DatasetError, match="lists of lines"):  # fails after the first shard
        create_pretraining_data([*documents[:40], "a string"], tokenizer.vocab_path, out, CONFIG, workers=1,
                                words_per_shard=2000, progress=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    second = create_pretraining_data(documents[:10], tokenizer.vocab_path, out, CONFIG, workers=1, progress=False)
    assert sorted(p.name for p in out.iterdir()) == sorted([*second["files"], "meta.json"])  # no stale shard
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_masking_stats_counts_masks_and_whole_word_masking_leaves_no_piece_visible(tmp_path, documents, tokenizer):
    docs = documents[:80]
    stats = {}
    for wwm in (False, True):
        config = PretrainingConfig(max_seq_length=64, max_predictions_per_seq=8, dupe_factor=1,
                                   do_whole_word_mask=wwm)
        meta = create_pretraining_data(docs, tokenizer.vocab_path, tmp_path / str(wwm), config, workers=1,
                                       progress=False)
        dataset = load_dataset(tmp_path / str(wwm), 16, 64, 8, shuffle=False, repeat=False, drop_remainder=False)
        stats[wwm] = masking_stats(dataset, tokenizer.is_continuation())
        assert stats[wwm]["examples"] == meta["instances"] and stats[wwm]["masked"] == meta["masked"]
        assert stats[wwm]["tokens"] == meta["tokens"]
        assert stats[wwm]["masked_per_example"] == pytest.approx(meta["masked_per_instance"])
    # both mask ## pieces; per-token masking leaves other pieces of a masked word visible, whole-word masking never
    assert 0 < stats[False]["continuation_share"] < 1 and 0 < stats[True]["continuation_share"] < 1
    assert stats[False]["partial_word_share"] > 0.05 and stats[True]["partial_word_share"] == 0
    one = masking_stats(load_dataset(tmp_path / "False", 16, 64, 8, shuffle=False), tokenizer.is_continuation(),
                        batches=2)
    assert one["examples"] == 32


def test_the_fingerprint_follows_the_data_not_the_run_that_wrote_it(tmp_path, documents, tokenizer):
    """The training stages record it: data made again from the same documents and vocabulary keeps it (a stage
    finished on it is reused), another corpus or the same pieces under other ids change it (the stage is
    refused, not silently reused with the wrong ids)."""
    from arlm.fitting import Stage

    def make(folder, docs, vocab_path, workers):
        create_pretraining_data(docs, vocab_path, tmp_path / folder, CONFIG, workers=workers, words_per_shard=2000,
                                progress=False)
        return fingerprint(tmp_path / folder)

    first = make("a", documents[:40], tokenizer.vocab_path, 1)
    assert make("b", documents[:40], tokenizer.vocab_path, 2) == first
    assert make("c", documents[:39], tokenizer.vocab_path, 1) != first
    pieces = tokenizer.vocab
    reordered = tmp_path / "reordered.txt"  # the same set of pieces, two ids swapped (as HF's trainer may do)
    reordered.write_text("\n".join([*pieces[:5], pieces[6], pieces[5], *pieces[7:]]) + "\n", encoding="utf-8")
    other_ids = make("d", documents[:40], reordered, 1)
    assert other_ids != first
    Stage(tmp_path / "stage", {"steps": 10, "data": first})
    with pytest.raises(ParameterError, match="data"):
        Stage(tmp_path / "stage", {"steps": 10, "data": other_ids})


def test_dynamic_masking_covers_more_tokens_over_the_epochs_than_static(tmp_path, documents, tokenizer):
    from arlm.pretraining_data import masked_coverage

    create_pretraining_data(documents[:80], tokenizer.vocab_path, tmp_path, CONFIG, workers=1, progress=False)
    sizes = dict(batch_size=8, max_seq_length=64, max_predictions_per_seq=8, vocab_size=tokenizer.vocab_size, seed=1)
    static = masked_coverage(tmp_path, False, epochs=3, batches=2, **sizes)
    dynamic = masked_coverage(tmp_path, True, epochs=3, batches=2, **sizes)
    assert len(static) == len(dynamic) == 3 and 0 < static[0] < 0.3
    assert static == [static[0]] * 3  # the masks written once: nothing new after the first pass
    assert dynamic[0] < dynamic[1] < dynamic[2] and dynamic[2] > static[2]
