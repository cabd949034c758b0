"""Build the HTML book from executed notebooks (jupyter-book 1.x, no re-execution): by default the committed
`cpu` edition (`arlm.edition`), or any folder `arlm run` wrote."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from arlm.artifacts import CHAPTERS
from arlm.errors import ArlmError
from arlm.runner import REPO, notebook_of

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
    return target


def _tags(cell):
    return cell.metadata.get("tags", [])


def show_run_parameters(notebook):
    """Show the values the run used in the chapter's `parameters` cell: papermill put them in a cell of its own
    after it (`injected-parameters`), which the page drops; each value the run set replaces the default, and a
    comment above says which defaults it replaced."""
    import ast

    cells = notebook.cells
    defaults = next((c for c in cells if c.cell_type == "code" and "parameters" in _tags(c)), None)
    injected = next((c for c in cells if "injected-parameters" in _tags(c)), None)
    if defaults is None or injected is None:
        return
    injected.metadata.tags.append("remove-cell")
    values = {node.targets[0].id: ast.get_source_segment(injected.source, node.value)
              for node in ast.parse(injected.source).body if _assigns_a_name(node)}
    lines, replaced = defaults.source.split("\n"), []
    for node in reversed(ast.parse(defaults.source).body):  # bottom up: earlier line numbers stay valid
        if not _assigns_a_name(node) or node.targets[0].id not in values:
            continue
        name, default = node.targets[0].id, ast.get_source_segment(defaults.source, node.value)
        value = values.pop(name)
        if value != default:
            replaced.insert(0, f"{name} = {' '.join(default.split())}")  # one line in the comment
            # ast's columns count UTF-8 bytes
            head = lines[node.lineno - 1].encode()[: node.value.col_offset].decode()
            tail = lines[node.end_lineno - 1].encode()[node.value.end_col_offset :].decode()
            lines[node.lineno - 1 : node.end_lineno] = [head + value + tail]
    lines += [f"{name} = {value}  # set by the run" for name, value in values.items()]
    if replaced:
        note = ["# The values this run used, set by papermill; the chapter's defaults:"]
        for item in replaced:  # one line per few defaults, 88 columns as the chapters' code
            if len(note) == 1 or len(note[-1]) + len(item) > 86:
                note.append("#   " + item)
            else:
                note[-1] += ", " + item
        lines = [*note, *lines]
    defaults.source = "\n".join(lines)


def _assigns_a_name(node):
    import ast

    return isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)


# a solution's directive (``{solution} ex-1-1``, its options, its text): fences of three or more backticks
_SOLUTION = re.compile(r"\A(`{3,})\{solution\}[ \t]*(\S*)[ \t]*\n((?:[ \t]*:[\w-]+:[^\n]*\n)*)(.*?)\n?\1[ \t]*\Z", re.S)
_EXERCISE_LABEL = re.compile(r"`{3,}\{exercise\}.*?\n[ \t]*:label:[ \t]*(\S+)", re.S)


def hide_solutions(notebook):
    """Put each exercise's solution, its code cells (tagged ``solution``) with their outputs and its
    ``{solution}`` text, into one dropdown that stays closed until the reader opens it (sphinx-exercise's
    gated ``solution-start`` / ``solution-end``). A solution's cells follow their exercise; code cells with no
    ``{solution}`` text belong to the exercise above them."""
    import nbformat

    out, label, group = [], None, []
    for cell in [*notebook.cells, None]:
        if cell is not None and _solution_text(cell) is not False:
            group.append(cell)
            continue
        if group:
            out += _gated(group, label, nbformat)
            group = []
        if cell is not None:
            if cell.cell_type == "markdown":
                label = (_EXERCISE_LABEL.findall(cell.source) or [label])[-1]
            out.append(cell)
    notebook.cells = out


def _solution_text(cell):
    """A solution's directive matched in a markdown cell, None for a solution's code cell, False otherwise."""
    if cell.cell_type == "code":
        return None if "solution" in _tags(cell) else False
    return cell.cell_type == "markdown" and _SOLUTION.match(cell.source.strip()) or False


def _gated(group, label, nbformat):
    texts = [_solution_text(cell) for cell in group]
    label = next((m.group(2) for m in texts if m and m.group(2)), label)
    if label is None:  # a solution with no exercise to belong to: left as the chapter wrote it
        return group
    options = next((m.group(3) for m in texts if m and m.group(3)), ":class: dropdown\n")
    cells = [nbformat.v4.new_markdown_cell(f"```{{solution-start}} {label}\n{options}```")]
    for cell, text in zip(group, texts, strict=True):
        if text:
            cell.source = text.group(4)
        if cell.source.strip():
            cells.append(cell)
    return [*cells, nbformat.v4.new_markdown_cell("```{solution-end}\n```")]


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
    """Stage the executed notebooks of `runs` (default: the committed edition, `arlm.edition.EDITION`) and build
    the HTML into ``<output or book>/_build/html``; returns the path of its index.html."""
    from arlm.edition import EDITION, read_manifest

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
    env = {**os.environ, "ARLM_BOOK_ANNOUNCEMENT": announcement(edition) if edition else ""}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise ArlmError(f"jupyter-book build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    index = Path(output or book) / "_build" / "html" / "index.html"
    log(f"arlm book: open {index}")
    return index
