"""`arlm classroom grade SUBMISSIONS/`: grade every student's notebooks into a score table.

A submission folder holds one folder per student with their notebooks (any names; a notebook is matched to its
chapter by the kit's metadata, else by its file name). Each chapter is graded in one kernel, started in the
run folder given (a finished run of the book, e.g. ``runs/tiny``): the chapter's own cells up to its
exercises run once, then each student's answers run on a copy of that state, each followed by its checks
(`arlm.book.classroom.checking`). Students whose first answers are the same share their execution; a notebook
with no answer at all is not executed. A file that cannot be read, a notebook that is not a chapter, an answer
that raises or a kernel that dies gets one line naming the file (and exercise) and a zero, and grading goes on.
"""

import dataclasses
import hashlib
import json
import re
from pathlib import Path

from arlm.artifacts import CHAPTERS
from arlm.book.classroom import checking, exercises
from arlm.book.classroom.kit import CHECK_CELL
from arlm.errors import ArlmError, ParameterError

_LABEL = re.compile(r"^:label: (ex-\d+-\d+)$", re.M)
_MARK = "\x1farlm-check "


@dataclasses.dataclass
class Submission:
    """One student's notebook for one chapter: the code cells of each exercise's answer, in order."""

    student: str
    path: Path
    chapter: str
    answers: dict

    def is_empty(self):
        return not any(answered(sources) for sources in self.answers.values())


def answered(sources):
    """Whether an answer's cells hold any code (the kit's empty answer is comments and ``...``)."""
    code = [line for source in sources for line in source.split("\n")
            if line.strip() and not line.strip().startswith("#")]
    return any(line.strip() != "..." for line in code)


def read_submission(path, student, problems):
    """A `Submission` from the notebook at `path`, or None after adding its problem to `problems`."""
    import nbformat

    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises JSON, validation and encoding errors of many kinds
        problems.append(f"{path}: not a readable notebook ({type(error).__name__}: {_short(error)})")
        return None
    chapter = notebook.metadata.get("arlm", {}).get("chapter") or (path.stem if path.stem in CHAPTERS else None)
    if chapter not in CHAPTERS:
        problems.append(f"{path}: not a chapter of the book (no arlm chapter in its metadata and its name is not "
                        f"one of {', '.join(CHAPTERS)}); submit the notebooks `arlm classroom` wrote")
        return None
    answers, current = {}, None
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and "```{exercise}" in cell.source:
            match = _LABEL.search(cell.source)
            current = match[1] if match else None
            if current:
                answers[current] = []
        elif cell.cell_type == "code" and CHECK_CELL.match(cell.source):
            current = None
        elif cell.cell_type == "code" and current:
            answers[current].append(cell.source)
    return Submission(student, path, chapter, answers)


def collect(folder):
    """(submissions, problems) of the folder `folder`: ``<student>/<notebook>.ipynb``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ParameterError(f"SUBMISSIONS {folder}: not a folder; expected one folder per student")
    submissions, problems = [], []
    for path in sorted(folder.rglob("*.ipynb")):
        relative = path.relative_to(folder)
        if ".ipynb_checkpoints" in relative.parts:
            continue
        if len(relative.parts) < 2:
            problems.append(f"{path}: not in a student's folder (expected SUBMISSIONS/<student>/<chapter>.ipynb)")
            continue
        submission = read_submission(path, relative.parts[0], problems)
        if submission is not None:
            submissions.append(submission)
    students = sorted({p.relative_to(folder).parts[0] for p in folder.iterdir() if p.is_dir()})
    return submissions, problems, students


class ChapterKernel:
    """A kernel in the run folder that has run `chapter`'s cells before its exercises."""

    def __init__(self, chapter, run_dir, timeout, stderr=None):
        import nbformat
        from nbclient import NotebookClient

        self.chapter = chapter
        self.notebook = nbformat.v4.new_notebook()
        self.notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        self.client = NotebookClient(self.notebook, timeout=timeout, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(run_dir)}})
        self.client.create_kernel_manager()
        self.client.start_new_kernel(stderr=stderr)  # TensorFlow's start-up lines go to the kernel log
        self.client.start_new_kernel_client()
        for source in context_cells(chapter, run_dir):
            error, _ = self.run(source)
            if error:
                self.close()
                raise ArlmError(f"chapter {chapter} does not run in {run_dir} ({error}): grade against a finished "
                                "run of the book (arlm run --scale tiny)")
        self.save(_digest([]))

    def run(self, source):
        """Execute `source`; returns (the error line or None, what it printed)."""
        import nbformat

        cell = nbformat.v4.new_code_cell(source)
        self.notebook.cells.append(cell)
        self.client.execute_cell(cell, len(self.notebook.cells) - 1)
        self.notebook.cells.pop()
        printed = "".join(out.get("text", "") for out in cell.outputs
                          if out.output_type == "stream" and out.get("name") == "stdout")
        errors = [out for out in cell.outputs if out.output_type == "error"]
        if errors:
            return f"{errors[0].ename}: {_short(errors[0].evalue)}", printed
        return None, printed

    def save(self, key):
        self._session(f"save({key!r}, globals())")

    def restore(self, key):
        """The namespace as it was saved under `key` ('': after the chapter's own cells)."""
        self._session(f"restore({key!r}, globals())")

    def _session(self, call):
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        try:
            error, _ = self.run(f"import arlm.book.classroom.session as __arlm_session\n__arlm_session.{call}")
        except (CellTimeoutError, DeadKernelError) as died:
            error = type(died).__name__
        if error:
            raise ArlmError(f"the grading kernel of {self.chapter} failed ({error})")

    def checks(self, label):
        """Run `label`'s checks in the kernel; a `checking.Result`."""
        error, printed = self.run(
            "from arlm.book.classroom.checking import run_checks as __arlm_checks\n"
            f"print({_MARK!r} + __import__('json').dumps(__arlm_checks({label!r}, globals()).as_dict()))")
        if error or _MARK not in printed:
            raise ArlmError(f"the checks of {label} did not run ({error or 'they printed no result'})")
        record = json.loads(printed.rsplit(_MARK, 1)[1].split("\n", 1)[0])
        record.pop("score")
        return checking.Result(**record)

    def close(self):
        try:
            self.client._cleanup_kernel()
        except Exception:  # a dead kernel has nothing left to clean up
            pass


def context_cells(chapter, run_dir):
    """The code of `chapter` before its first exercise, with its parameters set to the run's."""
    from arlm.book.sources import notebook_of

    notebook = notebook_of(chapter)
    first = exercises.find(notebook, chapter)[0].cell
    scale, overrides = run_parameters(run_dir)
    cells = []
    for cell in notebook.cells[:first]:
        if cell.cell_type != "code":
            continue
        cells.append(cell.source)
        if "parameters" in cell.metadata.get("tags", []):
            cells.append(f"scale = {scale!r}\nrun_dir = '.'\noverrides = {overrides!r}")
    return cells


def run_parameters(run_dir):
    """(scale, overrides) of the run in `run_dir`, from its first chapter's ``results.json``."""
    from arlm.scales import SCALES

    path = Path(run_dir) / CHAPTERS[0] / "results.json"
    if not path.is_file():
        raise ParameterError(f"--runs {run_dir}: no {CHAPTERS[0]}/results.json there; grade against a finished "
                             "run of the book (arlm run --scale tiny)")
    results = json.loads(path.read_text(encoding="utf-8"))
    config = dict(results.get("config", {}))
    scale = config.pop("scale", results.get("scale"))
    preset = SCALES[scale]
    return scale, {key: value for key, value in config.items() if key in preset and preset[key] != value}


def _short(error):
    text = str(error).strip().split("\n")[-1]
    return text if len(text) < 200 else text[:197] + "..."


def _digest(answers):
    return hashlib.sha256(json.dumps(answers).encode()).hexdigest()


def grade_chapter(chapter, submissions, run_dir, timeout, problems, log, stderr=None):
    """{(student, label): Result} for `submissions` of `chapter`; problems are appended to `problems`."""
    labels = [e.label for e in exercises.chapter_exercises(chapter) if not checking.is_discussion(e.label)]
    results, kernel, done = {}, None, {}  # done: digest of the answers so far -> their results

    def start_kernel():
        log(f"arlm classroom grade: {chapter}: running the chapter up to its exercises in {run_dir} ...")
        return ChapterKernel(chapter, run_dir, timeout, stderr)

    for index, submission in enumerate(submissions):
        name = f"{submission.path}"
        for label in labels:
            if label not in submission.answers:
                problems.append(f"{name}: exercise {label} is missing from the notebook")
        if submission.is_empty():
            for label in labels:
                results[submission.student, label] = checking.Result(label, 0, 1, [], "not answered")
            continue
        answers = [submission.answers.get(label, []) for label in labels]
        try:
            if kernel is None:
                kernel, done = start_kernel(), {_digest([]): []}
            first = max(k for k in range(len(labels) + 1) if _digest(answers[:k]) in done)
            kernel.restore(_digest(answers[:first]))
        except ArlmError as error:  # the run cannot host this chapter: every answer to it gets a zero
            problems.append(f"{chapter}: {error}; its exercises score 0")
            for late in submissions[index:]:
                for label in labels:
                    results[late.student, label] = checking.Result(label, 0, 1, [], "the chapter did not run")
            return results
        so_far, caching = list(done[_digest(answers[:first])]), True
        for k in range(first, len(labels)):
            where = f"{name}, exercise {labels[k]}"
            result = _grade_answer(kernel, labels[k], answers[k], where, problems)
            if result is None:  # the kernel died or hung: a fresh one replays the earlier answers, and goes on
                result = checking.Result(labels[k], 0, 1, [], "the kernel died or ran past the time limit")
                caching = False  # its state lacks this answer: not one to share with other submissions
                kernel.close()
                kernel = _restart(start_kernel, [s for answer in answers[:k] for s in answer], problems, chapter)
                done = {_digest([]): []}
            so_far.append(result)
            if kernel is None:  # no fresh kernel: the rest of this submission scores 0
                so_far += [checking.Result(label, 0, 1, [], "the chapter did not run") for label in labels[k + 1:]]
                break
            if caching:
                digest = _digest(answers[:k + 1])
                kernel.save(digest)
                done[digest] = list(so_far)
        for label, result in zip(labels, so_far, strict=True):
            results[submission.student, label] = result
    if kernel is not None:
        kernel.close()
    return results


def _restart(start_kernel, replay, problems, chapter):
    """A fresh kernel that has run the chapter and then the code `replay` (errors ignored: they were graded
    already); None when it cannot be had."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    try:
        kernel = start_kernel()
        for source in replay:
            kernel.run(source)
        return kernel
    except (ArlmError, CellTimeoutError, DeadKernelError) as error:
        problems.append(f"{chapter}: no fresh kernel after one died ({type(error).__name__}: {_short(error)})")
        return None


def _grade_answer(kernel, label, sources, where, problems):
    """Run one answer and its checks; None when the kernel died."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    if not answered(sources):
        return checking.Result(label, 0, 1, [], "not answered")
    try:
        for source in sources:
            error, _ = kernel.run(source)
            if error:
                problems.append(f"{where}: the answer raised {error}")
                return checking.Result(label, 0, 1, [], f"the answer raised {error}")
        return kernel.checks(label)
    except ArlmError as error:  # the answer left the kernel in a state the checks cannot run in
        problems.append(f"{where}: {error}")
        return checking.Result(label, 0, 1, [], str(error))
    except CellTimeoutError:
        problems.append(f"{where}: the answer ran past the time limit")
        return None
    except DeadKernelError:
        problems.append(f"{where}: the kernel died running the answer")
        return None


def grade(folder, run_dir, timeout=600, log=print, kernel_log=None):
    """Grade the submissions in `folder` against the run in `run_dir`; returns (table, details, problems):
    `table` a DataFrame (one row per student, one column per autograded exercise, 0 to 1, and the total).
    The kernels' own output (TensorFlow's start-up lines) goes to the file `kernel_log` (default: nowhere)."""
    import os

    import pandas as pd

    run_dir = Path(run_dir)
    submissions, problems, students = collect(folder)
    run_parameters(run_dir)  # a folder that is not a finished run: refused before any kernel starts
    results = {}
    for chapter in CHAPTERS:
        mine = [s for s in submissions if s.chapter == chapter]
        seen = set()
        for submission in mine:
            if submission.student in seen:
                problems.append(f"{submission.path}: a second notebook for {chapter} from {submission.student}; "
                                "graded once, the first by name")
        mine = [s for s in mine if not (s.student in seen or seen.add(s.student))]
        if mine:
            with open(kernel_log or os.devnull, "a", encoding="utf-8") as stderr:
                results.update(grade_chapter(chapter, mine, run_dir, timeout, problems, log, stderr))
    labels = autograded()
    table = pd.DataFrame(
        [{"student": student, **{label: results[student, label].score if (student, label) in results else 0.0
                                 for label in labels}} for student in students],
        columns=["student", *labels]).set_index("student")
    table["total"] = table[labels].sum(axis=1)
    table["percent"] = (100 * table["total"] / len(labels)).round(1)
    details = {f"{student}/{label}": result.as_dict() for (student, label), result in results.items()}
    for line in problems:
        log(f"arlm classroom grade: {line}")
    return table, details, problems


def autograded():
    """The labels of every exercise with automatic checks, in book order."""
    return [e.label for chapter in CHAPTERS for e in exercises.chapter_exercises(chapter)
            if not checking.is_discussion(e.label)]


def write_table(table, details, problems, out):
    """Write the score table (CSV) and, beside it, its details (JSON: each check's result and each problem)."""
    from arlm.files import atomic_path, write_json

    out = Path(out)
    with atomic_path(out) as tmp:
        table.to_csv(tmp)
    write_json(out.with_suffix(".json"), {"scores": details, "problems": problems})
    return out
