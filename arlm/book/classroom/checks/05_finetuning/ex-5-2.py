from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-5-2"
expects = ("answer: {'official': ..., 'arabic': ...}: the SQuAD scores ({'exact_match', 'f1'}, 0 to 100) of "
           "«رياض،» against «الرياض» with the official v1.1 script and with the Arabic-normalised variant")
refuses = 'answer = {"official": answer["arabic"], "arabic": answer["arabic"]}'  # the official one normalising
PREDICTION, GOLD = "رياض،", "الرياض"


@test_case()
def test_the_official_script(answer):
    from arlm.tasks import metrics

    need(answer=answer)
    expected = metrics.squad_scores([PREDICTION], [[GOLD]])
    found = dict(answer.get("official") or {})
    assert all(close(found.get(k), expected[k], abs_tol=1e-6) for k in ("exact_match", "f1")), (
        "the official script's EM and F1: it strips only ASCII punctuation and English articles")


@test_case()
def test_the_arabic_variant(answer):
    from arlm.tasks import metrics

    need(answer=answer)
    expected = metrics.squad_scores([PREDICTION], [[GOLD]], arabic=True)
    found = dict(answer.get("arabic") or {})
    assert all(close(found.get(k), expected[k], abs_tol=1e-6) for k in ("exact_match", "f1")), (
        "the Arabic variant's EM and F1: it strips the Arabic comma and the article")
