from otter.test_files import test_case

from arlm.book.classroom.checks import need

name = "ex-1-2"
expects = ("answer: {tokens: masked positions} of a full example of 128 tokens with cap 20, of 512 tokens with "
           "cap 20, and of this run's max_seq_length with its max_predictions_per_seq")
refuses = "answer = {128: 19, 512: 77, cfg.max_seq_length: round(0.15 * cfg.max_seq_length)}"  # no cap


def _expected(length, cap):
    # BERT's generator counts the candidates (the length less [CLS] and two [SEP]): either reading is right
    return {min(cap, max(1, round(0.15 * n))) for n in (length, length - 3)}


@test_case()
def test_under_the_cap(answer):
    need(answer=answer)
    assert answer.get(128) in _expected(128, 20), "128 tokens with cap 20: 15% of 128, rounded"


@test_case()
def test_capped(answer):
    need(answer=answer)
    assert answer.get(512) in _expected(512, 20), "512 tokens with cap 20: the cap binds"


@test_case()
def test_this_run(answer, cfg):
    need(answer=answer)
    n, cap = cfg.max_seq_length, cfg.max_predictions_per_seq
    assert answer.get(n) in _expected(n, cap), "this run's max_seq_length with its max_predictions_per_seq"
