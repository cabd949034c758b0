"""An exercise's checks: an otter-grader exception-based test file per exercise,
``arlm/book/build/classroom/checks/<chapter>/<label>.py``. Each check is a function whose arguments otter fills from the
notebook's variables by name; it accepts any correct answer (tolerances for numbers, properties rather than
exact strings) and, where the answer depends on the run, computes the expected value from the run's own
outputs. Besides otter's ``name`` and ``points``, a file says what the answer binds (``expects``) and gives a
typical wrong answer (``refuses``: code run after the solution, which the checks must fail;
`arlm.book.classroom.keycheck`); a file with ``discussion`` and no checks marks an exercise that is not graded
automatically."""

import dataclasses
import functools
from pathlib import Path

from arlm.book.classroom.exercises import chapter_of
from arlm.errors import ArlmError

CHECKS = Path(__file__).resolve().parent / "checks"


def check_file(label):
    """The path of exercise `label`'s test file."""
    path = CHECKS / chapter_of(label) / f"{label}.py"
    if not path.is_file():
        raise ArlmError(f"exercise {label} has no checks ({path} is missing)")
    return path


@functools.cache
def metadata(label):
    """``{"expects": ..., "refuses": ..., "discussion": ..., "points": ...}`` of exercise `label`'s test file."""
    namespace = {}
    exec(compile(check_file(label).read_text(encoding="utf-8"), str(check_file(label)), "exec"), namespace)
    return {key: namespace.get(key) for key in ("expects", "refuses", "discussion", "points")}


def is_discussion(label):
    return bool(metadata(label)["discussion"])


@dataclasses.dataclass
class Result:
    """The checks of one exercise on one notebook's variables."""

    label: str
    passed: int
    total: int
    failures: list
    error: str | None = None  # the answer raised, or the submission could not be run

    @property
    def score(self):
        """The share of checks passed, 0 to 1 (0 when the answer raised)."""
        return self.passed / self.total if self.total and self.error is None else 0.0

    def summary(self):
        number = ".".join(self.label.split("-")[1:])
        if self.total == 0:
            return f"Exercise {number}: a discussion exercise, not checked automatically"
        head = f"Exercise {number}: {self.passed} of {self.total} checks pass"
        if self.error:
            return f"{head} ({self.error})"
        return "\n".join([head, *(f"  - {failure}" for failure in self.failures)])

    def as_dict(self):
        return {**dataclasses.asdict(self), "score": self.score}


def run_checks(label, env):
    """Run exercise `label`'s checks on the variables `env` (a notebook's namespace); returns a `Result`."""
    from otter.test_files import ExceptionTestFile

    path = check_file(label)
    if is_discussion(label):
        return Result(label, 0, 0, [])
    tests = ExceptionTestFile.from_file(str(path))
    tests.run(env)
    failures = [_first_line(result) for result in tests.test_case_results if not result.passed]
    return Result(label, sum(r.passed for r in tests.test_case_results), len(tests.test_case_results), failures)


def _first_line(result):
    """A failing check's message: its ``failure_message``, else the assertion's own text."""
    if result.test_case.failure_message:
        return result.test_case.failure_message
    last = result.message.strip().split("\n")[-1]
    return last.removeprefix("AssertionError: ")
