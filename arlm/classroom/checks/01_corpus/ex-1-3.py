from otter.test_files import test_case

from arlm.classroom.checks import close, need

name = "ex-1-3"
expects = ("fullness: mean tokens per example / max_seq_length (a fraction); short: the share of the batches' "
           "examples (`lengths`) shorter than half of max_seq_length")


@test_case()
def test_fullness(fullness, ch):
    from arlm import pretraining_data

    need(fullness=fullness)
    meta = pretraining_data.read_meta(ch.path("pretraining"))
    expected = meta["tokens"] / meta["instances"] / meta["max_seq_length"]
    assert close(fullness, expected), "fullness is not the mean tokens per example over max_seq_length"


@test_case()
def test_short_share(short, lengths, cfg):
    import numpy as np

    need(short=short)
    expected = float(np.mean(np.asarray(lengths) < cfg.max_seq_length / 2))
    assert close(short, expected, abs_tol=1e-6), "short is not the share of examples under half the length"
