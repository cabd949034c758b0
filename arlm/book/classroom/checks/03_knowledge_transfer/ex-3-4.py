import math

from otter.test_files import test_case

from arlm.book.classroom.checks import need

name = "ex-3-4"
expects = ("mberta_ii: the MBERTA II student after transfer; ii_history: its per-step records (two steps per "
           "layer); answer: one row per student (MBERTA II and the chapter's) with 'parameters', 'last FMT "
           "term' and 'steps'")
refuses = 'answer = answer.assign(parameters=student.backbone.count_params())'  # the chapter's count twice


def _rows(answer):
    need(answer=answer)
    rows = list((answer.T.to_dict() if hasattr(answer, "T") else dict(answer)).values())
    assert len(rows) == 2, "answer should hold two students"
    return rows


@test_case()
def test_mberta_ii_is_smaller(mberta_ii, student):
    need(mberta_ii=mberta_ii)
    assert mberta_ii.backbone.config.num_feedforward_networks == 1, "MBERTA II has one FFN per block"
    assert mberta_ii.backbone.count_params() < student.backbone.count_params(), "MBERTA II should be smaller"


@test_case()
def test_two_steps_per_layer(ii_history, L):
    need(ii_history=ii_history)
    assert len(ii_history) == 2 * L, "two steps for each of the L blocks"
    assert math.isfinite(ii_history[-1]["fmt"]), "the last FMT term is not finite"


@test_case()
def test_the_comparison(answer, mberta_ii, ii_history, student, history):
    rows = sorted(_rows(answer), key=lambda r: r["parameters"])
    assert [r["parameters"] for r in rows] == sorted(
        (mberta_ii.backbone.count_params(), student.backbone.count_params())), "the two students' parameters"
    assert rows[0]["steps"] == len(ii_history) and rows[1]["steps"] == len(history), "each student's steps"
    assert math.isclose(rows[0]["last FMT term"], ii_history[-1]["fmt"], rel_tol=1e-6) and math.isclose(
        rows[1]["last FMT term"], float(history.fmt.iloc[-1]), rel_tol=1e-6), "each student's last FMT term"
