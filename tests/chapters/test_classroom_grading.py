"""The autograder on this session's tiny run: the instructor key scores 100%, a submission with one wrong
answer per chapter loses exactly those exercises, the student notebooks as handed out score 0, and bad files
get one line each and a zero. One grading run covers them all: each chapter runs once up to its exercises,
the key's answers once, and the wrong submission (the key with its last answer changed) only that answer."""

import nbformat
import pytest

from arlm.artifacts import CHAPTERS
from arlm.classroom import grading, kit

pytestmark = pytest.mark.chapters

# chapter -> (exercise, a wrong answer): each binds the names its checks read, with wrong values, and is cheap;
# chapter 3's raises, as a student's broken cell does
WRONG = {
    "01_corpus": ("ex-1-5", "rows = {}\ncapped = 0"),
    "02_teacher": ("ex-2-5", "short = 300\ncompared = {}"),
    "03_knowledge_transfer": ("ex-3-5", 'raise ValueError("a bug in the answer")'),
    "04_distillation": ("ex-4-5", 'alphas = {"alpha = 1.0": {"mlm_loss": 1.0, "mlm_accuracy": 0.1}}\n'
                                  'best = "alpha = 1.0"'),
    "05_finetuning": ("ex-5-5", 'probe_backbone = None\nprobe = {"accuracy": 0.5}\nfull_ft = {"accuracy": 0.5}'),
    "06_quantization": ("ex-6-4", "import pandas as pd\n\npartial = pd.DataFrame({\n"
                                  '    "FFNs": {"parameters int8": 1, "share": 0.1},\n'
                                  '    "rest": {"parameters int8": 2, "share": 0.2},\n'
                                  '    "all": {"parameters int8": 4, "share": 0.4},\n}).T'),
    "07_results": ("ex-7-4", "half = full_mberta = 1"),
}


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
    for chapter in CHAPTERS:
        key = nbformat.read(built / "instructor" / f"{chapter}.ipynb", as_version=4)
        nbformat.write(key, subs / "key" / f"{chapter}.ipynb")
        nbformat.write(_with_answer(key, *WRONG[chapter]), subs / "wrong" / f"{chapter}.ipynb")
        (subs / "empty" / f"{chapter}.ipynb").write_bytes((built / "students" / f"{chapter}.ipynb").read_bytes())
    # an answer that kills its kernel: that exercise scores 0, a fresh kernel replays the answers before it
    crash = nbformat.read(built / "instructor" / "01_corpus.ipynb", as_version=4)
    nbformat.write(_with_answer(crash, "ex-1-4", "import os\n\nos._exit(1)"), subs / "crash" / "01_corpus.ipynb")
    (subs / "broken" / "02_teacher.ipynb").write_text('{"cells": [', encoding="utf-8")  # cut off mid-file
    (subs / "broken" / "homework.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()), encoding="utf-8")
    start = time.perf_counter()
    table, details, problems = grading.grade(subs, book_run, timeout=900, log=print)
    print(f"graded in {time.perf_counter() - start:.0f} s")
    return table, details, problems


def test_the_key_scores_100_percent(graded):
    table, details, _ = graded
    failing = {k: v for k, v in details.items() if k.startswith("key/") and v["score"] < 1}
    assert not failing, failing
    assert table.loc["key", "percent"] == 100


def test_one_wrong_answer_per_chapter_loses_exactly_that_exercise(graded):
    table, _, _ = graded
    labels = grading.autograded()
    below = [label for label in labels if table.loc["wrong", label] < 1]
    assert below == [WRONG[chapter][0] for chapter in CHAPTERS]
    assert table.loc["wrong", "ex-3-5"] == 0  # the answer raised


def test_an_empty_submission_scores_0(graded):
    table, _, _ = graded
    assert table.loc["empty", "total"] == 0 and table.loc["broken", "total"] == 0


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
