"""The classroom kit on this session's tiny run.

Every chapter: the run was made with ``--check-exercises`` (conftest's `book_run`, CI's ``arlm run``), so each
exercise's checks ran in the chapter's own kernel right after its solution: the answer key passes every check of
every autograded exercise and each check file's wrong answer (``refuses``) fails them (`arlm.book.classroom.keycheck`).

The grader, end to end on two chapters that run in seconds at tiny (1 and 3, which reads chapters 1 and 2's
artifacts from the run): the key scores 100%, a submission with one wrong answer per chapter loses exactly those
exercises, the student notebooks as handed out score 0, an answer that raises or kills its kernel scores 0 on
that exercise alone, and bad files get one line each and a zero. One grading run covers them all: each chapter
runs once up to its exercises, the key's answers once, and the wrong submission (the key with its last answer
changed) only that answer."""

import nbformat
import pytest

from arlm.artifacts import CHAPTERS
from arlm.book.classroom import exercises, grading, keycheck, kit

pytestmark = pytest.mark.chapters

# chapter -> (exercise, a wrong answer) of the chapters the grader runs: each is cheap; chapter 3's raises, as a
# student's broken cell does
WRONG = {
    "01_corpus": ("ex-1-5", "answer = {}"),
    "03_knowledge_transfer": ("ex-3-5", 'raise ValueError("a bug in the answer")'),
}
GRADED = tuple(WRONG)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_key_passes_every_check_and_each_wrong_answer_fails(book_run, chapter):
    if keycheck.read(book_run, chapter) is None:
        pytest.fail(f"{book_run} was run without checking the exercises: make it with "
                    "`arlm run --scale tiny --check-exercises`")
    assert keycheck.faults(book_run, chapter) == []


def _with_answer(notebook, label, source):
    """`notebook` with the answer cells of `label` replaced by one cell holding `source`."""
    cells, inside = [], False
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and f":label: {label}" in cell.source:
            inside = True
            cells += [cell, nbformat.v4.new_code_cell(source)]
            continue
        if inside and kit.CHECK_CELL.match(cell.source):
            inside = False
        if not inside:
            cells.append(cell)
    notebook.cells = cells
    return notebook


@pytest.fixture(scope="module")
def graded(book_run, tmp_path_factory):
    import time

    root = tmp_path_factory.mktemp("classroom")
    built = kit.build_kit(root / "kit", log=lambda *a: None)
    subs = root / "submissions"
    for student in ("key", "wrong", "empty", "broken", "crash"):
        (subs / student).mkdir(parents=True)
    for chapter in CHAPTERS:  # the handed-out notebooks of every chapter: none is executed
        (subs / "empty" / f"{chapter}.ipynb").write_bytes((built / "students" / f"{chapter}.ipynb").read_bytes())
    for chapter in GRADED:
        key = nbformat.read(built / "instructor" / f"{chapter}.ipynb", as_version=4)
        nbformat.write(key, subs / "key" / f"{chapter}.ipynb")
        nbformat.write(_with_answer(key, *WRONG[chapter]), subs / "wrong" / f"{chapter}.ipynb")
    # an answer that kills its kernel: that exercise scores 0, a fresh kernel replays the answers before it
    crash = nbformat.read(built / "instructor" / "01_corpus.ipynb", as_version=4)
    nbformat.write(_with_answer(crash, "ex-1-4", "import os\n\nos._exit(1)"), subs / "crash" / "01_corpus.ipynb")
    (subs / "broken" / "02_teacher.ipynb").write_text('{"cells": [', encoding="utf-8")  # cut off mid-file
    (subs / "broken" / "homework.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()), encoding="utf-8")
    start = time.perf_counter()
    table, details, problems = grading.grade(subs, book_run, timeout=900, log=print)
    print(f"graded in {time.perf_counter() - start:.0f} s")
    return table, details, problems


def _labels(chapters):
    return [label for label in grading.autograded() if exercises.chapter_of(label) in chapters]


def test_the_key_scores_100_percent(graded):
    table, details, _ = graded
    failing = {k: v for k, v in details.items() if k.startswith("key/") and v["score"] < 1}
    assert not failing, failing
    assert (table.loc["key", _labels(GRADED)] == 1).all()


def test_one_wrong_answer_per_chapter_loses_exactly_that_exercise(graded):
    table, _, _ = graded
    below = [label for label in _labels(GRADED) if table.loc["wrong", label] < 1]
    assert below == [WRONG[chapter][0] for chapter in GRADED]
    assert table.loc["wrong", "ex-3-5"] == 0  # the answer raised


def test_an_empty_submission_scores_0(graded):
    table, details, _ = graded
    assert table.loc["empty", "total"] == 0 and table.loc["broken", "total"] == 0
    assert all(details[f"empty/{label}"]["error"] == "not answered" for label in grading.autograded())


def test_an_answer_that_kills_its_kernel_scores_0_and_the_others_are_graded(graded):
    table, details, problems = graded
    assert [table.loc["crash", f"ex-1-{i}"] for i in range(1, 6)] == [1, 1, 1, 0, 1]
    assert details["crash/ex-1-4"]["error"] == "the kernel died or ran past the time limit"
    assert any("crash/01_corpus.ipynb, exercise ex-1-4: the kernel died" in p for p in problems), problems


def test_bad_input_gets_one_line_per_file(graded):
    _, _, problems = graded
    assert any("broken/02_teacher.ipynb: not a readable notebook" in p for p in problems), problems
    assert any("broken/homework.ipynb: not a chapter of the book" in p for p in problems), problems
    raised = [p for p in problems if "wrong/03_knowledge_transfer.ipynb, exercise ex-3-5" in p]
    assert len(raised) == 1 and "ValueError: a bug in the answer" in raised[0]
    assert len(problems) == 4, problems
