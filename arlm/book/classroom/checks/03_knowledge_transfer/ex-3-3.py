from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-3-3"
expects = ("answer: {setting: {term: weight x value}} for four settings: block 0 before training (`terms` of "
           "3.2) and the last block at the end of training, each with beta = 5000 (`code`) and 500 (`paper`)")
refuses = "answer = {k: {n: float(terms[n]) for n in v} for k, v in answer.items()}"  # the values, unweighted


def _expected(teacher, student, x, terms, L):
    from arlm.distillation import losses, transfer

    inputs = transfer.backbone_inputs(x)
    final = losses.layer_transfer_terms(teacher.backbone(inputs), student.backbone(inputs), layer=L - 1)
    factors = (losses.DistillationFactors(), losses.DistillationFactors.paper())
    return [{n: w * float(values[n]) for n, w in f.term_weights().items()} for values in (terms, final)
            for f in factors]


def _same(found, expected):
    return set(found) == set(expected) and all(close(found[n], expected[n], rel=1e-3, abs_tol=1e-7)
                                               for n in expected)


@test_case()
def test_four_settings_with_the_same_terms(answer):
    need(answer=answer)
    settings = [dict(terms) for terms in dict(answer).values()]
    assert len(settings) == 4, "answer should hold four settings (two blocks, two values of beta)"
    assert all(set(s) == set(settings[0]) for s in settings), "every setting should weigh the same terms"


@test_case()
def test_the_weighted_terms(answer, teacher, student, x, terms, L):
    need(answer=answer)
    found = [dict(t) for t in dict(answer).values()]
    for expected in _expected(teacher, student, x, terms, L):
        assert any(_same(f, expected) for f in found), (
            "a setting is missing or off: each term times its weight, for block 0 before training and the last "
            "block at the end, with each beta")
