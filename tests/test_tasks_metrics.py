"""The paper's metrics on hand-made cases: PADT's macro P/R/F1 over 18 ids, official SQuAD v1.1 EM/F1."""

import numpy as np
import pytest

from arlm.tasks import metrics


def test_padt_metric_on_a_hand_made_confusion_matrix():
    # ids: 0 [PAD], 1 ADJ, 2 ADP, 17 [CLS]; padding positions (true 0) are dropped
    y_true = [17, 1, 1, 1, 2, 2, 0, 0]
    y_pred = [17, 1, 1, 2, 2, 1, 5, 0]
    # confusion over kept positions: [CLS]->[CLS]; ADJ: 2 right, 1 as ADP; ADP: 1 right, 1 as ADJ
    # P: ADJ 2/3, ADP 1/2, [CLS] 1; R: ADJ 2/3, ADP 1/2, [CLS] 1; the other 15 ids count 0
    scores = metrics.padt_pos_metrics(y_true, y_pred)
    assert scores["precision"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 18)
    assert scores["recall"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 18)
    assert scores["f1"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 18)
    assert len(scores["per_class_f1"]) == 18


def test_padt_f1_is_the_mean_of_class_f1s_not_the_harmonic_mean_of_p_and_r():
    y_true = np.array([1, 1, 1, 1, 2])
    y_pred = np.array([1, 2, 2, 2, 2])
    scores = metrics.padt_pos_metrics(y_true, y_pred)
    p1, r1 = 1.0, 0.25
    p2 = 0.25
    f = 2 * p1 * r1 / (p1 + r1)
    assert scores["precision"] == pytest.approx((p1 + p2) / 18)
    assert scores["f1"] == pytest.approx(2 * f / 18)
    harmonic = 2 * scores["precision"] * scores["recall"] / (scores["precision"] + scores["recall"])
    assert scores["f1"] != pytest.approx(harmonic)


def test_padt_metric_ignores_sep_predictions():
    # [SEP] = id 18 is outside the 18 scored ids: such positions are dropped, like sklearn's labels=range(18)
    scores = metrics.padt_pos_metrics([1, 1], [1, 18])
    assert scores["precision"] == pytest.approx(1 / 18)


def test_token_scores_count_first_pieces_only():
    scores = metrics.token_scores([[17, 1, 16, 2]], [[17, 1, 3, 5]], [[False, True, False, True]])
    assert scores == {"token_accuracy": 0.5, "micro_f1": 0.5, "tokens": 2}


def test_accuracy_and_macro_f1():
    assert metrics.accuracy([0, 1, 1, 0], [0, 1, 0, 0]) == 0.75
    # class 0: P 2/3 R 1 F 0.8; class 1: P 1 R 1/2 F 2/3
    assert metrics.macro_f1([0, 1, 1, 0], [0, 1, 0, 0]) == pytest.approx((0.8 + 2 / 3) / 2)


@pytest.mark.parametrize(("prediction", "golds", "em", "f1"), [
    ("The Cat!", ["the cat"], 1.0, 1.0),  # case, punctuation and article removal
    ("a cat sat", ["the cat"], 0.0, 2 * (1 / 2) * 1 / (1 / 2 + 1)),
    ("dog", ["cat", "dog"], 1.0, 1.0),  # max over golds
    ("xyz", ["cat"], 0.0, 0.0),
])
def test_official_squad_v11_on_known_cases(prediction, golds, em, f1):
    assert metrics.exact_match(prediction, golds) == em
    assert metrics.squad_f1(prediction, golds) == pytest.approx(f1)


def test_official_squad_leaves_arabic_alone_and_the_variant_does_not():
    prediction, gold = "الرياض،", "رياض"
    official = metrics.squad_scores([prediction], [[gold]])
    arabic = metrics.squad_scores([prediction], [[gold]], arabic=True)
    assert official["exact_match"] == 0.0  # ، and ال are not touched by the official script
    assert arabic["exact_match"] == 100.0
    assert metrics.squad_normalize("أَحمد") == "أَحمد"
    assert metrics.arabic_normalize("أَحمد") == "احمد"


def test_unanswered_questions_count_zero():
    scores = metrics.squad_scores(["cat", None], [["cat"], ["dog"]])
    assert scores["exact_match"] == 50.0 and scores["f1"] == 50.0
