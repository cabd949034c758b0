"""`arlm classroom --out DIR`: the student notebooks, the instructor key and the autograder's checks.

- ``students/<chapter>.ipynb``: the chapter without its solutions (code, outputs and ``{solution}`` text); in
  each exercise's place an answer cell that says what the checks read, then a check cell
  (``arlm.book.classroom.check("ex-3-2")`` prints "Exercise 3.2: 2 of 3 checks pass").
- ``instructor/<chapter>.ipynb``: the chapter with its solutions and the same check cells: the answer key.
- ``autograder/tests/<label>.py``: each exercise's otter-grader test file (`arlm.book.classroom.checking`);
  ``arlm classroom grade SUBMISSIONS/`` grades with them.
"""

import re
import shutil

from arlm.artifacts import CHAPTERS
from arlm.book.classroom import checking, exercises

STUDENT, KEY = "student", "key"
_CHECK_CALL = 'arlm.book.classroom.check("{label}")'
CHECK_CELL = re.compile(r'^\s*arlm\.book\.classroom\.check\(["\'](?P<label>ex-\d+-\d+)["\']\)\s*$')


def answer_stub(exercise):
    """The empty answer cell of a student notebook: which variables the checks read."""
    meta = checking.metadata(exercise.label)
    lines = [f"# Exercise {exercise.number}: your answer."]
    if meta["discussion"]:
        lines.append(f"# Discussed in class, not checked automatically: {meta['discussion']}.")
    else:
        lines.append("# The checks below read:")
    lines += [f"#   {line}" for line in _wrap(meta["expects"] or "", 82)]
    return "\n".join([*lines, "..."])


def _wrap(text, width):
    import textwrap

    return textwrap.wrap(text, width) or [""]


def build_notebook(chapter, kind):
    """The chapter as a student notebook (`kind` ``"student"``) or as the answer key (``"key"``), unexecuted."""
    import nbformat

    from arlm.book.sources import notebook_of

    notebook = notebook_of(chapter)
    found = exercises.find(notebook, chapter)
    by_statement = {exercise.cell: exercise for exercise in found}
    moved = {i for e in found for i in (*e.solution_cells, e.directive) if i is not None}
    cells = []
    for i, cell in enumerate(notebook.cells):
        if i in moved:  # placed with their exercise below
            continue
        cells.append(cell)
        exercise = by_statement.get(i)
        if exercise is None:
            continue
        if kind == STUDENT:
            cells.append(nbformat.v4.new_code_cell(answer_stub(exercise)))
        else:
            cells += [notebook.cells[j] for j in exercise.solution_cells]
        check = nbformat.v4.new_code_cell(_CHECK_CALL.format(label=exercise.label))
        check.metadata["tags"] = ["arlm-check"]
        cells.append(check)
        if kind == KEY and exercise.directive is not None:
            cells.append(notebook.cells[exercise.directive])
    for cell in cells:
        if cell.cell_type == "code":
            cell.update(outputs=[], execution_count=None)
    notebook.cells = cells
    notebook.metadata["arlm"] = {"chapter": chapter, "kit": kind}
    return notebook


def build_kit(out, log=print):
    """Write the kit into the folder `out` (replaced as a whole); returns its path."""
    import nbformat

    from arlm.files import check_out_dir, staged_dir

    out = check_out_dir(out, ("students", "instructor", "autograder", "README.md"))
    with staged_dir(out) as staging:
        for kind, folder in ((STUDENT, "students"), (KEY, "instructor")):
            (staging / folder).mkdir()
            for chapter in CHAPTERS:
                nbformat.write(build_notebook(chapter, kind), staging / folder / f"{chapter}.ipynb")
        tests = staging / "autograder" / "tests"
        tests.mkdir(parents=True)
        labels = [e.label for chapter_exercises in exercises.all_exercises().values() for e in chapter_exercises]
        for label in labels:
            shutil.copy(checking.check_file(label), tests / f"{label}.py")
        (staging / "README.md").write_text(readme(labels), encoding="utf-8")
    log(f"arlm classroom: {len(CHAPTERS)} student notebooks, the instructor key and the checks of "
        f"{len(labels)} exercises in {out}/")
    return out


def readme(labels):
    """The kit's README: what each folder is and how to grade."""
    discussion = [label for label in labels if checking.is_discussion(label)]
    return f"""# The arlm classroom kit

- `students/`: one notebook per chapter, without solutions. After each exercise an answer cell says which
  variables the checks read, and a check cell prints how many of them pass ("Exercise 3.2: 2 of 3 checks
  pass"). Students run a chapter at `tiny` (minutes on a laptop or Colab) or `cpu` scale: its
  `parameters` cell sets `scale`.
- `instructor/`: the same notebooks with the solutions: the answer key.
- `autograder/tests/`: the checks of the {len(labels)} exercises, otter-grader test files.

Grade a folder that holds one folder per student with their notebooks (`SUBMISSIONS/<student>/<chapter>.ipynb`),
against a finished run of the book at the scale the class uses (`arlm run --scale tiny` writes `runs/tiny`):

    arlm classroom grade SUBMISSIONS/ --runs runs/tiny --out scores.csv

Not graded automatically (discussed in class): {", ".join(discussion) or "none"}.
"""
