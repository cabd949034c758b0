from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-2-3"
expects = ("p: the attention weights of one query over the 512 keys (from arlm.layers.masked_logits); "
           "formula: 412e^-6 / (100 + 412e^-6); answer: the share of attention on padding, from p")
refuses = "answer = 0.0"  # the padded keys taken as removed
SHARE = 412 * 2.718281828459045 ** -6 / (100 + 412 * 2.718281828459045 ** -6)


@test_case()
def test_the_formula(formula):
    need(formula=formula)
    assert close(formula, SHARE), "formula is not 412e^-6 / (100 + 412e^-6)"


@test_case()
def test_the_masked_softmax(p):
    import numpy as np

    need(p=p)
    p = np.asarray(p, dtype="float64").ravel()
    assert p.shape == (512,) and close(p.sum(), 1.0), "p should be 512 weights that sum to 1"
    assert close(p[100:].sum(), SHARE, rel=1e-3), "the weight on the 412 padded keys does not match"


@test_case()
def test_the_share(answer):
    need(answer=answer)
    assert close(answer, SHARE, rel=1e-3), "answer is not the share of attention on the 412 padded keys"
