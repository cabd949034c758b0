from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-1-3"
expects = ("answer: {'fullness': mean tokens per example / max_seq_length (a fraction), 'short_share': the share "
           "of the batches' examples (`lengths`) shorter than half of max_seq_length}")
refuses = 'answer = {"fullness": m["tokens"] / m["instances"], "short_share": 0.5}'  # tokens, not a fraction


@test_case()
def test_fullness(answer, ch):
    from arlm import pretraining_data

    need(answer=answer)
    meta = pretraining_data.read_meta(ch.path("pretraining"))
    expected = meta["tokens"] / meta["instances"] / meta["max_seq_length"]
    assert close(answer.get("fullness"), expected), "fullness is not the mean tokens per example over max_seq_length"


@test_case()
def test_short_share(answer, lengths, cfg):
    import numpy as np

    need(answer=answer)
    expected = float(np.mean(np.asarray(lengths) < cfg.max_seq_length / 2))
    assert close(answer.get("short_share"), expected, abs_tol=1e-6), (
        "short_share is not the share of examples under half the length")
