"""Build the HTML book from executed notebooks (jupyter-book 1.x, no re-execution): by default the committed
`cpu` edition (`arlm.book.edition`), or any folder `arlm run` wrote."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from arlm.artifacts import CHAPTERS
from arlm.book.classroom import pages as classroom_pages
from arlm.book.sources import REPO, notebook_of
from arlm.book.staging import hide_solutions, show_run_parameters
from arlm.errors import ArlmError

BOOK = REPO / "book"
# the chapters' Colab badge, served from the book itself so that pages need no internet
BADGE = ("https://colab.research.google.com/assets/colab-badge.svg", "../_static/colab-badge.svg")
_TITLE_NUMBER = re.compile(r"^# \d+\. ", re.M)


def stage_notebooks(runs, book=BOOK, log=print, edition=None):
    """Copy the executed notebooks of `runs` into `book/chapters/`; a chapter not run is shown unexecuted.
    `edition` (the edition's ``edition.json``) names the pages' banners after the edition."""
    import nbformat

    runs = Path(runs)
    target = book / "chapters"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    missing = []
    for chapter in CHAPTERS:
        executed = runs / f"{chapter}.ipynb"
        if executed.exists():
            notebook = nbformat.read(executed, as_version=4)
            _insert_after_title(notebook, banner(runs / chapter, notebook, edition))
        else:
            missing.append(chapter)
            notebook = notebook_of(chapter)
            note = f"**Not executed in `{runs}`**: run `arlm run --chapters {int(chapter[:2])}` to see its outputs."
            notebook.cells.insert(1, nbformat.v4.new_markdown_cell(f"```{{note}}\n{note}\n```"))
        # the table of contents numbers the chapters (and so their exercises, "Exercise 3.1"): the title's own
        # number would show twice
        notebook.cells[0].source = _TITLE_NUMBER.sub("# ", notebook.cells[0].source, count=1)
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                cell.source = cell.source.replace(*BADGE)
        show_run_parameters(notebook)
        hide_solutions(notebook)
        nbformat.write(notebook, target / f"{chapter}.ipynb")
    if missing:
        log(f"arlm book: not executed in {runs}, shown without outputs: {', '.join(missing)}")
    classroom_pages.stage(book, runs, edition)  # the lecturer's page and the SVG figures
    return target


def banner(chapter_dir, notebook, edition=None):
    """The note at the top of an executed chapter: which run the page shows (scale, overrides, data, date and
    duration, machine, backend, code), from the chapter's ``results.json`` and papermill's record; titled after
    the edition when `edition` (its ``edition.json``) is given."""
    import json

    from arlm.scales import SCALES

    results_path = Path(chapter_dir) / "results.json"
    if not results_path.is_file():
        return "```{warning}\nThis chapter did not finish in this run: it wrote no `results.json`.\n```"
    results = json.loads(results_path.read_text(encoding="utf-8"))
    env, config = results.get("environment", {}), dict(results.get("config", {}))
    scale = config.pop("scale", results.get("scale"))
    preset = SCALES.get(scale, {})
    changed = [f"`{key}={value}`" for key, value in config.items() if preset.get(key, value) != value]
    seconds = notebook.metadata.get("papermill", {}).get("duration")
    machine = env.get("machine", {})
    data = {True: "the data mirror", False: "no data mirror (the embedded hadith corpus and task stand in)",
            None: ""}[env.get("data_mirror")]
    date = env.get("date") or str(notebook.metadata.get("papermill", {}).get("end_time", ""))[:16].replace("T", " ")
    parts = [f"**Scale** `{scale}`" + (" (the paper's settings)" if scale == "full" else
                                         " (the paper's settings are `full`, appendix B.3)"),
             f"**overrides** {', '.join(changed)}" if changed else "",
             f"**data** {data}" if data else "",
             f"**run** {date or 'date not recorded'}" + (f", {seconds:.0f} s" if seconds else "") +
             (f" on {machine['cores']} cores ({machine['cpu']})" if machine else ""),
             f"**runtime** {env.get('runtime') or env.get('backend', '?')}",
             f"**code** arlm {env.get('arlm', '?')}" + (f", commit `{env['commit']}`" if env.get("commit") else "")]
    body = " ·\n".join(part for part in parts if part)
    # no backticks: a backtick fence's info string cannot hold one
    title = f"The {edition['scale']} edition" if edition else "The run on this page"
    return f"```{{admonition}} {title}\n:class: tip\n{body}\n```"


def _insert_after_title(notebook, text):
    """Put ``text`` at the top of the chapter: after its title and Colab badge, before the objectives."""
    first = notebook.cells[0]
    lines = first.source.split("\n")
    at = next((i + 1 for i, line in enumerate(lines) if "colab-badge" in line), 1)
    first.source = "\n".join([*lines[:at], "", text, *lines[at:]])


def announcement(edition):
    """The line at the top of every page of a book built from the edition."""
    chapters = edition["chapters"].values()
    first = min(c["date"] for c in chapters)
    machine = next(iter(chapters))["machine"]
    return (f"The <code>{edition['scale']}</code> edition: every chapter executed at <code>{edition['scale']}</code> "
            f"scale on the data mirror, {first}, {machine['cores']} cores ({machine['cpu']}), "
            f"{edition['total_seconds'] / 60:.0f} min in all; each chapter's banner has its commit and wall time.")


def build_book(runs=None, book=BOOK, output=None, log=print):
    """Stage the executed notebooks of `runs` (default: the committed edition, `arlm.book.edition.EDITION`) and build
    the HTML into ``<output or book>/_build/html``; returns the path of its index.html."""
    from arlm.book.edition import EDITION, read_manifest

    runs = Path(runs) if runs is not None else EDITION
    if not runs.is_dir():
        hint = ("the edition is committed in book/edition/cpu/ (git checkout it, or run `arlm edition`)"
                if runs == EDITION else f"run the book first (arlm run --scale tiny --out {runs.parent})")
        raise ArlmError(f"{runs} does not exist: {hint}")
    edition = read_manifest(runs)
    stage_notebooks(runs, book, log, edition)
    log(f"arlm book: building HTML from {runs} ...")
    command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", str(book),
               "--builder", "html"]
    if output is not None:
        command += ["--path-output", str(output)]
    env = {**os.environ, "ARLM_BOOK_ANNOUNCEMENT": announcement(edition) if edition else "",
           "ARLM_BOOK_RUNS": str(runs)}  # the run whose demo model the live box shows (book/_ext/demo.py)
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise ArlmError(f"jupyter-book build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    index = Path(output or book) / "_build" / "html" / "index.html"
    log(f"arlm book: open {index}")
    return index
