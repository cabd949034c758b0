"""QA features on real ARCD examples: windows with stride, max-context, answer positions, answer recovery."""

import numpy as np
import pytest

from arlm.preprocessing import qa
from arlm.preprocessing.qa import QAExample
from arlm.tasks import metrics
from arlm.tasks.loaders import load_task


@pytest.fixture(scope="module")
def arcd(tmp_path_factory):
    import os

    if not os.environ.get("ARLM_DATA_DIR"):
        pytest.skip("the data mirror is not available: set ARLM_DATA_DIR")
    from arlm.tokenizer import WordPieceTokenizer, train_vocabulary

    task = load_task("arcd")
    examples = task.train.examples[:120]
    vocab = tmp_path_factory.mktemp("qa") / "vocab.txt"
    train_vocabulary([e.context for e in examples] + [e.question for e in examples], 2500, vocab)
    return examples, WordPieceTokenizer(vocab)


def _oracle_logits(features):
    start = np.full(features.token_ids.shape, -10.0)
    end = start.copy()
    for row, (s, e) in enumerate(zip(features.start_positions, features.end_positions, strict=True)):
        if s > 0:
            start[row, s], end[row, e] = 10.0, 10.0
    return start, end


def test_windows_layout_and_stride(arcd):
    examples, tok = arcd
    features = qa.build_features(examples, tok, max_seq_length=96, doc_stride=32, training=True)
    assert len(features) > len(examples)  # long contexts are cut into several windows
    for row in range(len(features)):
        ids, segments = features.token_ids[row], features.segment_ids[row]
        n = int(features.padding_mask[row].sum())
        assert ids[0] == tok.cls_id and ids[n - 1] == tok.sep_id and (ids[:n] == tok.sep_id).sum() == 2
        first_sep = int(np.flatnonzero(ids == tok.sep_id)[0])
        assert first_sep <= qa.MAX_QUERY_LENGTH + 1
        assert segments[: first_sep + 1].sum() == 0 and segments[first_sep + 1 : n].all()
    # consecutive windows of one example start doc_stride pieces apart, and every piece is max-context once
    first = [row for row, e in enumerate(features.example_index) if e == features.example_index[0]]
    if len(first) > 1:
        words = [features.token_to_word[row] for row in first]
        assert min(words[1].values()) >= min(words[0].values())
    for index in set(features.example_index):
        rows = [r for r, e in enumerate(features.example_index) if e == index]
        pieces = sum(sum(features.max_context[r].values()) for r in rows)
        distinct = len({(features.token_to_word[r][p], features.tokens[r][p]) for r in rows
                        for p in features.token_to_word[r]})
        assert pieces >= distinct - 1  # each document piece is scored in exactly one window


def test_answer_positions_recover_the_gold_text(arcd):
    examples, tok = arcd
    features = qa.build_features(examples, tok, max_seq_length=256, doc_stride=128, training=True)
    start, end = _oracle_logits(features)
    answers = qa.decode(examples, features, start, end, max_answer_length=512)
    scores = metrics.squad_scores(answers, [e.answers for e in examples])
    assert scores["exact_match"] >= 98.0


def test_window_without_the_answer_points_at_cls(arcd):
    examples, tok = arcd
    features = qa.build_features(examples, tok, max_seq_length=80, doc_stride=24, training=True)
    assert (features.start_positions == 0).any() and (features.start_positions > 0).any()
    both = (features.start_positions == 0) == (features.end_positions == 0)
    assert both.all()


def test_final_text_cuts_split_off_punctuation_and_keeps_diacritics():
    assert qa.final_text("الرياض", "«الرِّيَاضُ»،") == "الرِّيَاضُ"
    assert qa.final_text("غير موجود", "الرياض") == "الرياض"  # unalignable: the whole span


def test_unanswerable_and_too_long_spans_are_skipped(arcd):
    examples, tok = arcd
    example = QAExample("x", "", "سؤال؟", "نص قصير جدا", ["غير موجود"], 0)
    features = qa.build_features([example], tok, 64, 32, training=True)
    assert features.skipped == [0] and len(features) == 0
    features = qa.build_features([example], tok, 64, 32)
    start = np.zeros(features.token_ids.shape)
    end = np.zeros(features.token_ids.shape)
    start[0, 0] = end[0, 0] = 5.0  # only [CLS]: no valid span
    assert qa.decode([example], features, start, end) == [None]
