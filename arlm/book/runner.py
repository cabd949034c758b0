"""Run the book: convert the jupytext chapters and execute them in order with papermill.

Each chapter gets the parameters ``scale``, ``run_dir`` and ``overrides`` (its `parameters` cell); the
executed notebook lands at ``runs/<scale>/<chapter>.ipynb`` beside the chapter's folder and ``results.json``.
A ``gs://`` run folder is executed in its local working copy (`arlm.bucket`); the chapters write through to
the bucket themselves, and each executed notebook and its log are uploaded when the chapter ends.
A failing chapter stops the run with the chapter's name, the failing cell and the error; the notebooks of
earlier chapters stay as they were, and the failed one is kept as ``<chapter>.failed.ipynb``.
"""

import contextlib
import os
import re
import sys
import time
from pathlib import Path

from arlm import bucket
from arlm.artifacts import CHAPTERS
from arlm.book.sources import notebook_of
from arlm.errors import ArlmError, ParameterError
from arlm.files import locked
from arlm.scales import check_scale, coerce

# the kernel's inline figures as PNG and SVG (a lecturer's slides take the SVG)
SVG_FIGURES = ("--InlineBackend.figure_formats=png", "--InlineBackend.figure_formats=svg")


class ChapterFailed(ArlmError):
    """A chapter raised during execution."""


def parse_chapters(spec):
    """'1-3,5' -> ['01_corpus', '02_teacher', '03_knowledge_transfer', '05_finetuning']; None or 'all' -> all.

    An empty value or a range that runs backwards is an error naming the flag and the valid form."""
    if spec in (None, "all"):
        return list(CHAPTERS)
    valid = f"expected all, or chapter numbers 1-{len(CHAPTERS)} and ranges such as 1-3,5"
    numbers = set()
    for part in spec.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise ParameterError(f"--chapters {spec!r}: {valid}")
        first, last = int(match[1]), int(match[2] or match[1])
        if first > last:
            raise ParameterError(f"--chapters {spec!r}: the range {first}-{last} runs backwards; write {last}-{first}")
        if not 1 <= first <= last <= len(CHAPTERS):
            raise ParameterError(f"--chapters {spec!r}: chapters are numbered 1-{len(CHAPTERS)}")
        numbers.update(range(first, last + 1))
    return [CHAPTERS[n - 1] for n in sorted(numbers)]


def parse_overrides(pairs):
    """['teacher_steps=100', ...] -> {'teacher_steps': 100}, validated against the scale presets."""
    overrides = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep:
            raise ParameterError(f"-p {pair!r}: expected name=value")
        overrides[name.strip()] = coerce(name.strip(), value.strip())
    return overrides


WATCH = "import arlm.book.figures; arlm.book.figures.watch()"


def _kernel_env():
    # quiet TensorFlow's C++ logs; inherited by the papermill kernel. MPLBACKEND must stay unset there:
    # the kernel's inline backend is what puts figures into the notebook.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.pop("MPLBACKEND", None)


@contextlib.contextmanager
def _stderr_to(path):
    """Send this process's (and the kernel's) low-level stderr to `path`: TensorFlow's C++ start-up lines
    stay out of the terminal and out of the book, and are kept for debugging."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def run_folder(out, scale):
    """``out/<scale>``: a ``gs://`` URL (str) when `out` is one, else a local `Path`."""
    out = bucket.location(out)
    return bucket.join(out, scale) if bucket.is_url(out) else out / scale


def run_chapter(chapter, scale, run_dir, overrides, check_exercises=False):
    """Execute one chapter; returns the executed notebook's (local) path or raises `ChapterFailed`.
    `check_exercises`: each exercise's checks run on its solution as it executes (`arlm.book.classroom.keycheck`)."""
    import nbformat
    import papermill

    given = bucket.location(run_dir)
    mirror = bucket.mirror(given) if bucket.is_url(given) else None
    run_dir = mirror.root if mirror else given.resolve()  # papermill's files stay local
    run_dir.mkdir(parents=True, exist_ok=True)
    source = run_dir / f".{chapter}.source.ipynb"
    nbformat.write(notebook_of(chapter), source)
    target = run_dir / f"{chapter}.ipynb"
    running = run_dir / f".{chapter}.running.ipynb"
    failed = run_dir / f"{chapter}.failed.ipynb"
    log = run_dir / f"{chapter}.log"
    log.unlink(missing_ok=True)
    _kernel_env()
    start_up = WATCH + (f"; import arlm.book.classroom.keycheck; arlm.book.classroom.keycheck.watch({chapter!r})"
                        if check_exercises else "")
    try:
        with _stderr_to(log):
            papermill.execute_notebook(
                str(source), str(running),
                # "." (papermill runs in the run folder): a downloaded notebook carries no path of this machine
                parameters={"scale": scale, "run_dir": given if mirror else ".", "overrides": overrides},
                kernel_name="python3", cwd=str(run_dir), log_output=False,
                progress_bar=sys.stderr.isatty(),  # a bar over the chapter's cells in a terminal, not in logs
                # the kernel's raw stderr goes to the log rather than into the notebook's outputs; every figure
                # is checked for overlapping text when drawn (a warning under it, which the book's tests fail) and
                # kept as SVG beside its PNG (the book's figure folder, arlm.book.classroom.figures)
                extra_arguments=["--IPKernelApp.capture_fd_output=False", f"--IPKernelApp.exec_lines={start_up}",
                                 *SVG_FIGURES],
            )
    except papermill.PapermillExecutionError as error:
        os.replace(running, failed)
        if mirror:  # the traceback can be read from the bucket after the session is gone
            mirror.upload(failed)
            mirror.upload(log)
        raise ChapterFailed(
            f"chapter {chapter} failed in cell {error.cell_index} (execution count {error.exec_count}): "
            f"{error.ename}: {error.evalue}\n  the executed notebook, with the traceback: {failed}; "
            f"kernel log: {log}" + (f" (both also in {given}/)" if mirror else "")
        ) from None
    else:
        os.replace(running, target)  # only a complete run replaces the previous notebook
        failed.unlink(missing_ok=True)
        if mirror:
            mirror.upload(target)
            mirror.upload(log)
            mirror.delete(failed.name)
    finally:
        source.unlink(missing_ok=True)
        running.unlink(missing_ok=True)
    return target


def run_book(scale="tiny", chapters=None, out="runs", overrides=None, log=print, check_exercises=False):
    """Execute `chapters` (ids) in order at `scale`, into ``out/<scale>``; returns {chapter: seconds}.
    `check_exercises`: check the classroom kit's answer key as it runs (`arlm.book.classroom.keycheck`).

    The run folder is locked for the run (`arlm.files.locked`, on the working copy of a ``gs://`` one): a second
    run into it fails at once with an `arlm.errors.InUseError` naming the first.
    """
    check_scale(scale)
    chapters = chapters or list(CHAPTERS)
    run_dir = run_folder(out, scale)
    timings = {}
    local = ""
    if bucket.is_url(run_dir):
        mirror = bucket.mirror(run_dir).check()  # no client, credentials or bucket: fail now, not after chapter 1
        local = f" (working copy {mirror.root})"
    with locked(run_lock_path(run_dir)):
        log(f"arlm run: scale {scale}, {len(chapters)} chapter(s), outputs in {run_dir}/{local}")
        for number, chapter in enumerate(chapters, 1):
            step = f"[{number}/{len(chapters)}] {chapter}"
            log(f"{step}: running")
            start = time.perf_counter()
            try:
                target = run_chapter(chapter, scale, run_dir, overrides or {}, check_exercises)
            except ChapterFailed:
                log(f"{step}: FAILED after {time.perf_counter() - start:.1f} s")
                raise
            timings[chapter] = time.perf_counter() - start
            log(f"{step}: done in {timings[chapter]:.1f} s")
            if check_exercises:
                from arlm.book.classroom import keycheck

                log(f"{step}: {keycheck.summary(target.parent, chapter)}")
    return timings


def run_lock_path(run_dir):
    """What `run_book` locks for the run folder `run_dir`: the folder, or a ``gs://`` one's local working copy."""
    return bucket.mirror(run_dir).root if bucket.is_url(run_dir) else Path(run_dir)
