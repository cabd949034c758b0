"""WordPiece: vocabulary files, the Python tokenizer, and the three stages (vocabulary training, pretraining data,
in-graph fine-tuning tokenizer) agreeing id for id on real text and tricky strings."""

import itertools

import pytest

from arlm import corpus
from arlm.errors import DatasetError, ParameterError
from arlm.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer, oov_stats, read_vocabulary, train_vocabulary

TRICKY = [
    "وَأَقُولُ: إِنَّ الـمُـعَلِّمَ فِي ٱلْمَدْرَسَةِ!",
    "سُئِلَ مُؤْمِنٌ عَنْ آيَةٍ؟ قال: «نعم».",
    "BERT و GPT-2 😀👍🏽 #هاشتاق @User ١٢٣ ۴۵ 3.14",
    "ﻻ ﷺ \u200cمرحبا\u00a0عالم\t",
    "ب" * 60,  # 120 UTF-8 bytes: one [UNK] in both tokenizers
    "",
]


# eight short reviews: many pairs of characters tie in count, so the order of the ties decides the pieces
REVIEWS = ["الخدمة ممتازة والموظفين محترمين", "أحببت هذا الفندق كثيرا", "تجربة رائعة وسأعود مرة أخرى",
           "المكان نظيف والطعام لذيذ", "الخدمة سيئة جدا", "لن أعود إلى هذا المطعم", "الغرفة متسخة والموظف وقح",
           "تجربة مخيبة للآمال"]


@pytest.fixture(scope="module")
def texts():
    lines = [line for doc in itertools.islice(corpus.read_hadith(), 12) for line in doc]
    return lines[:1500]


@pytest.fixture(scope="module")
def vocab(tmp_path_factory, texts):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    info = train_vocabulary(texts[:-100], 800, path)
    assert info["vocab_size"] == 800 and info["trainer"] == "hf" and info["seconds"] >= 0
    return path


def test_vocabulary_file_has_special_tokens_first(vocab):
    tokens = read_vocabulary(vocab)
    assert tuple(tokens[:5]) == SPECIAL_TOKENS and len(set(tokens)) == len(tokens) == 800
    tok = WordPieceTokenizer(vocab)
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (0, 1, 2, 3, 4)
    assert tok.vocab_size == 800 and tok.id_to_token(tok.token_to_id("[MASK]")) == "[MASK]"
    assert tok.token_to_id("not-a-token") == tok.unk_id


def test_bad_vocabulary_files_name_the_line(tmp_path):
    bad = tmp_path / "v.txt"
    bad.write_text("\n".join([*SPECIAL_TOKENS, "ا", "ب", "ا"]) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"v.txt:8: token 'ا' repeats line 6"):
        WordPieceTokenizer(bad)
    bad.write_text("[UNK]\n[PAD]\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="first lines must be"):
        WordPieceTokenizer(bad)
    with pytest.raises(DatasetError, match="does not exist"):
        WordPieceTokenizer(tmp_path / "missing.txt")


def test_training_rejects_bad_input(tmp_path):
    with pytest.raises(ParameterError, match="vocab_size"):
        train_vocabulary(["نص"], 3, tmp_path / "v.txt")
    with pytest.raises(DatasetError, match="empty"):
        train_vocabulary(["\u064e\u064f", "   "], 100, tmp_path / "v.txt")  # diacritics only: nothing left


def test_hamza_forms_are_never_in_the_vocabulary(vocab):
    # the corpus is full of أ إ آ ؤ ئ; the one convention removes them before training
    assert not any(set(token) & set("أإآؤئ") for token in read_vocabulary(vocab))


def test_three_stages_agree(vocab, texts):
    import tensorflow as tf
    from tokenizers import BertWordPieceTokenizer

    from arlm.mobilebert import MobileBertTokenizer
    from arlm.pretraining_data import tokenize_documents
    from arlm.text import normalize

    sample = TRICKY + texts[-100:]
    python = WordPieceTokenizer(vocab)
    ids = [python.encode(text) for text in sample]
    # 1. vocabulary training: the trainer's own tokenizer (HF, no normalizer) on normalized text
    hf = BertWordPieceTokenizer(str(vocab), clean_text=False, handle_chinese_chars=False, strip_accents=False,
                                lowercase=False)
    for text, expected in zip(sample, ids, strict=True):
        if len(max(normalize(text).split() or [""], key=len).encode()) <= 100:  # HF counts characters, not bytes
            assert hf.encode(normalize(text), add_special_tokens=False).ids == expected
    # 2. pretraining data
    documents, _, _ = tokenize_documents([[text] for text in sample if normalize(text)], python, 1000, False)
    assert [line for doc in documents for line in doc] == [x for x in ids if x]
    # 3. fine-tuning, inside tf.data
    graph = MobileBertTokenizer(vocabulary=python.vocab)
    dataset = tf.data.Dataset.from_tensor_slices(sample).batch(16).map(graph)
    in_graph = [row for batch in dataset for row in batch.to_list()]
    assert in_graph == ids
    assert ids[TRICKY.index("ب" * 60)] == [python.unk_id]


def test_tokenize_word_pieces_each_whitespace_word(vocab, texts):
    tok = WordPieceTokenizer(vocab)
    for text in [*TRICKY[:4], *texts[:50]]:
        assert [piece for word in text.split() for piece in tok.tokenize_word(word)] == tok.tokenize(text)
    assert tok.tokenize_word("\u064e") == []  # a lone diacritic normalizes to nothing
    pieces = tok.tokenize("الْمُعَلِّمِينَ")
    assert pieces[0] != "[UNK]" and all(p.startswith("##") for p in pieces[1:])
    assert tok.decode(tok.encode("قال رسول الله")) == "قال رسول الله"


def test_larger_vocabulary_gives_fewer_pieces_per_word(tmp_path, vocab, texts):
    small = train_vocabulary(texts[:-100], 300, tmp_path / "small.txt")
    assert small["vocab_size"] == 300
    held_out = texts[-100:]
    big_stats = oov_stats(WordPieceTokenizer(vocab), held_out)
    small_stats = oov_stats(WordPieceTokenizer(tmp_path / "small.txt"), held_out)
    assert small_stats["pieces_per_word"] > big_stats["pieces_per_word"] > 1
    assert 0 <= big_stats["unk_rate"] < 0.01


def test_keras_hub_trainer_writes_a_usable_vocabulary(tmp_path, texts):
    info = train_vocabulary(texts[:60], 300, tmp_path / "kh.txt", trainer="keras_hub")
    assert info["trainer"] == "keras_hub" and 50 < info["vocab_size"] <= 300
    assert WordPieceTokenizer(tmp_path / "kh.txt").encode(texts[0])


def test_a_tokenizer_saved_into_a_preset_loads_back_and_keeps_the_model(tmp_path, vocab, texts):
    import json

    from arlm.saving import VOCABULARY_FILE, load_tokenizer, save_tokenizer

    tokenizer = WordPieceTokenizer(vocab)
    preset = tmp_path / "preset"
    preset.mkdir()
    (preset / "config.json").write_text("{}", encoding="utf-8")  # a model's file: kept
    assert save_tokenizer(tokenizer, preset) == preset
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preset"]  # no staging folder left behind
    assert (preset / "config.json").read_text(encoding="utf-8") == "{}"
    assert (preset / VOCABULARY_FILE).read_bytes() == vocab.read_bytes()
    assert json.loads((preset / "tokenizer.json").read_text(encoding="utf-8"))["class_name"] == "MobileBertTokenizer"
    again = load_tokenizer(preset)
    assert again.vocab == tokenizer.vocab
    assert [again.encode(t) for t in texts[:50] + TRICKY] == [tokenizer.encode(t) for t in texts[:50] + TRICKY]
    with pytest.raises(ParameterError, match="a file, not a preset folder"):
        save_tokenizer(tokenizer, vocab)


def test_a_vocabulary_trained_on_the_same_lines_is_reused_not_trained_again(tmp_path, texts):
    """Chapter 1, rerun after an interruption, keeps its vocabulary without training it again (and a vocabulary
    made by another library version stays the one the later chapters' models were trained on)."""
    path = tmp_path / "vocab.txt"
    first = train_vocabulary(texts, 600, path, reuse=True)
    written, record = path.read_bytes(), (tmp_path / "vocab.training.json").read_bytes()
    again = train_vocabulary(texts, 600, path, reuse=True)
    assert (first["reused"], again["reused"]) == (False, True)
    assert path.read_bytes() == written and again["seconds"] == first["seconds"]
    assert (tmp_path / "vocab.training.json").read_bytes() == record
    for changed in ({"files_or_texts": texts[:-1]}, {"vocab_size": 700}, {"min_frequency": 3}):
        arguments = {"files_or_texts": texts, "vocab_size": 600, **changed}
        assert not train_vocabulary(out_path=path, reuse=True, **arguments)["reused"], changed
    train_vocabulary(texts, 600, path, reuse=True)
    path.write_text(path.read_text(encoding="utf-8") + "زيادة\n", encoding="utf-8")  # edited by hand
    assert not train_vocabulary(texts, 600, path, reuse=True)["reused"]
    assert "زيادة" not in path.read_text(encoding="utf-8")
    (tmp_path / "vocab.training.json").unlink()
    assert not train_vocabulary(texts, 600, path, reuse=True)["reused"]
    plain = tmp_path / "plain.txt"
    train_vocabulary(texts, 600, plain)  # without reuse: trained every time, no record
    assert not train_vocabulary(texts, 600, plain)["reused"] and not (tmp_path / "plain.training.json").exists()


def test_training_is_deterministic_pieces_and_ids(tmp_path, texts):
    """HF's trainer, left alone, numbers the characters in the order of a hash map seeded at random (each training
    in a process too): on `REVIEWS` at 120 pieces, 20 trainings gave 19 different piece sets, and on real text
    the same pieces under other ids. Pinned, every training writes the same file."""
    for lines, size, min_frequency in ((REVIEWS, 120, 1), (REVIEWS, 90, 1), (texts, 800, 2)):
        written = set()
        for attempt in range(6):
            path = tmp_path / f"vocab-{size}-{attempt}.txt"
            train_vocabulary(lines, size, path, min_frequency=min_frequency)
            written.add(path.read_bytes())
        assert len(written) == 1, (size, len(written))


def test_the_alphabet_is_the_most_frequent_characters_ties_by_code_point(tmp_path):
    from collections import Counter

    from arlm.text import normalize

    lines = [normalize(line) for line in REVIEWS]
    counts = Counter(c for line in lines for c in line if c != " ")
    ranked = sorted(counts, key=lambda c: (-counts[c], c))
    path = tmp_path / "vocab.txt"
    train_vocabulary(REVIEWS, 40, path, min_frequency=1, limit_alphabet=12)
    vocab = read_vocabulary(path)
    assert [t for t in vocab if len(t) == 1] == sorted(ranked[:12])
    assert all(t[2:] in ranked[:12] for t in vocab if t.startswith("##") and len(t) == 3)
