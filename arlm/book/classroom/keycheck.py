"""The kit checked on a run as the run executes it (`arlm run --check-exercises`): right after the last cell of
each exercise's solution, in the chapter's own kernel, the exercise's checks run on the chapter's variables (the
answer key must pass them all) and on a copy in which the check file's ``refuses`` answer (a typical wrong one)
has run (they must fail it). Nothing is added to the notebook: the results go to
``<run>/<chapter>/exercise_checks.json``, which `summary` reads. The checks see what a student's answer would
see, at the run's scale, for the price of the checks alone: no chapter runs twice."""

import json
from pathlib import Path

RECORD = "exercise_checks.json"


def watch(chapter):
    """Check `chapter`'s exercises as the calling IPython kernel executes their solutions (a ``post_run_cell``
    hook; called by the kernel's start-up line, see `arlm.book.runner.run_chapter`)."""
    from IPython import get_ipython

    from arlm.book.classroom import exercises
    from arlm.book.sources import notebook_of

    notebook = notebook_of(chapter)
    last_cells = {notebook.cells[e.solution_cells[-1]].source.strip(): e.label
                  for e in exercises.chapter_exercises(chapter)}
    shell = get_ipython()
    record = Path(chapter) / RECORD  # the kernel runs in the run folder
    results = {}

    def after(result):
        label = last_cells.get((result.info.raw_cell or "").strip())
        if label is None or not result.success:
            return
        results[label] = check(label, shell.user_ns)
        _write(record, results)

    shell.events.register("post_run_cell", after)


def check(label, namespace):
    """``{"key": result, "refused": result}`` (`checking.Result.as_dict`) of exercise `label` on the kernel's
    `namespace` and on a copy where its ``refuses`` answer ran (None without one, ``{"raised": error}`` when it
    raised); never raises, prints nothing."""
    import contextlib
    import io
    import warnings

    from arlm.book.classroom import checking

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        key = _checked(label, namespace)
        wrong = checking.metadata(label)["refuses"]
        refused = None
        if wrong and not checking.is_discussion(label):
            copy = dict(namespace)  # shallow: a `refuses` answer binds names, it changes no object in place
            try:
                exec(compile(wrong, f"<{label} refuses>", "exec"), copy)
                refused = _checked(label, copy)
            except Exception as error:  # a refuses answer that cannot run is a fault of the check file
                refused = {"raised": f"{type(error).__name__}: {error}"}
    return {"key": key, "refused": refused}


def _checked(label, namespace):
    from arlm.book.classroom import checking

    try:
        return checking.run_checks(label, namespace).as_dict()
    except Exception as error:  # a check file that does not load: recorded, the run goes on
        return checking.Result(label, 0, 1, [], f"the checks raised {type(error).__name__}: {error}").as_dict()


def _write(path, results):
    from arlm.files import write_json

    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, results)


def read(run_dir, chapter):
    """{label: {"key": ..., "refused": ...}} recorded for `chapter` in `run_dir`, or None when it was run
    without ``--check-exercises``."""
    path = Path(run_dir) / chapter / RECORD
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def faults(run_dir, chapter):
    """What is wrong with `chapter`'s checks in the run: an autograded exercise whose key was not checked or
    fails a check, or whose ``refuses`` answer passes them all; [] when none is."""
    from arlm.book.classroom import checking, exercises

    records = read(run_dir, chapter) or {}
    found = []
    for exercise in exercises.chapter_exercises(chapter):
        label = exercise.label
        if checking.is_discussion(label):
            continue
        record = records.get(label)
        if record is None:
            found.append(f"{label}: not checked (its solution did not run, or the run had no --check-exercises)")
            continue
        key, refused = checking.Result(**_fields(record["key"])), record["refused"]
        if key.score < 1:
            found.append(f"{label}: the answer key fails: {key.summary()}")
        if refused is None:
            found.append(f"{label}: its check file has no refuses answer")
        elif "raised" in refused:
            found.append(f"{label}: its refuses answer raised {refused['raised']}")
        elif checking.Result(**_fields(refused)).score >= 1:
            found.append(f"{label}: the checks accept its refuses answer")
    return found


def _fields(record):
    return {key: value for key, value in record.items() if key != "score"}


def summary(run_dir, chapter):
    """One line on `chapter`'s exercise checks in the run (printed by `arlm run --check-exercises`)."""
    from arlm.book.classroom import checking, exercises

    graded = [e.label for e in exercises.chapter_exercises(chapter) if not checking.is_discussion(e.label)]
    problems = faults(run_dir, chapter)
    if not problems:
        return f"the answer key passes the checks of its {len(graded)} autograded exercise(s), which refuse " \
               "each wrong answer"
    return "exercise checks: " + "; ".join(problems)
