from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-5-1"
expects = ("by_hand: {'precision', 'recall', 'f1'} computed by hand over the paper's 18 labels; answer: {'f1': "
           "the paper's F1, 'token_accuracy': the token accuracy of the three tokens}")
refuses = 'answer = {"f1": (1 + 2 / 3 + 2 / 3) / 3, "token_accuracy": 2 / 3}'  # the mean over the labels present
# [CLS] right; ADJ: P = 1/2, R = 1; ADP: P = 1, R = 1/2; the 15 other labels count 0
EXPECTED = {"precision": 2.5 / 18, "recall": 2.5 / 18, "f1": (1 + 2 / 3 + 2 / 3) / 18}


@test_case()
def test_by_hand(by_hand):
    need(by_hand=by_hand)
    for key, value in EXPECTED.items():
        assert close(by_hand.get(key), value, rel=1e-3), f"by_hand[{key!r}]: average over all 18 labels"


@test_case()
def test_the_library_agrees(by_hand):
    from arlm.tasks import metrics

    need(by_hand=by_hand)
    scores = metrics.padt_pos_metrics([17, 1, 2, 2], [17, 1, 1, 2])
    assert all(close(by_hand.get(k), scores[k], rel=1e-3) for k in EXPECTED), "by hand and the library differ"


@test_case()
def test_f1_and_token_accuracy(answer):
    need(answer=answer)
    assert close(answer.get("f1"), EXPECTED["f1"], rel=1e-3), "answer['f1']: the mean over all 18 labels"
    assert close(answer.get("token_accuracy"), 2 / 3, rel=1e-3), "token_accuracy: two of the three tokens"
