"""The classroom's pages of the built book, written when `arlm book` stages the notebooks:

- ``classroom/lecturer.md``: a seven-week plan, one chapter a week, with the time each chapter takes to read
  and to run (at `tiny` from a tiny run's wall times, at `cpu` from the edition's), its prerequisites, which
  exercises are autograded (and which, if any, are only discussed), what its Hard exercise asks, and how
  students run it;
- ``figures/``: every figure of the notebooks the book is built from as an SVG file, with an ``index.html``
  (copied into the site by ``html_extra_path``).
"""

import functools
import html
import json
import re
import shutil
from pathlib import Path

from arlm.artifacts import CHAPTERS
from arlm.book.classroom import checking, exercises, quizzes

READING_WORDS_PER_MINUTE = 120  # technical prose with code, read to understand rather than skimmed
TINY_RECORD = Path(__file__).resolve().parents[3] / "book" / "edition" / "tiny.json"
# what a chapter needs to have run before it, and what a student should know first (how_to_use.md)
PREREQUISITES = {
    "01_corpus": ("none", "Python and NumPy; BERT's masked-LM and next-sentence objectives"),
    "02_teacher": ("chapter 1", "the Transformer and BERT; layer normalization and Adam"),
    "03_knowledge_transfer": ("chapters 1-2", "softmax, cross-entropy and KL divergence; attention maps"),
    "04_distillation": ("chapters 1-3", "knowledge distillation with soft labels"),
    "05_finetuning": ("chapters 1-4 (it runs alone with a stand-in model)",
                      "fine-tuning BERT; precision, recall and F1"),
    "06_quantization": ("chapter 5", "floating point and integer formats"),
    "07_results": ("any chapters (it reads every results.json)", "the paper's Tables 3 and 4"),
}


def run_seconds(runs):
    """{chapter: wall seconds} of the executed notebooks in `runs` (papermill's record)."""
    import nbformat

    seconds = {}
    for chapter in CHAPTERS:
        path = Path(runs) / f"{chapter}.ipynb"
        if path.is_file():
            duration = nbformat.read(path, as_version=4).metadata.get("papermill", {}).get("duration")
            if duration:
                seconds[chapter] = float(duration)
    return seconds


def record_tiny(runs, path=TINY_RECORD, conditions=None):
    """Write the wall times of the tiny run `runs` (every chapter executed) as the book's tiny record;
    `conditions` says what the lecturer's page should add about them (e.g. that other jobs shared the machine)."""
    from arlm.book.edition import chapter_record
    from arlm.errors import ArlmError
    from arlm.files import write_json

    missing = [c for c in CHAPTERS if not (Path(runs) / f"{c}.ipynb").is_file()]
    if missing:
        raise ArlmError(f"{runs}: not a complete run (no executed {', '.join(missing)})")
    record = {"scale": "tiny", **({"conditions": conditions} if conditions else {}),
              "chapters": {c: chapter_record(runs, c) for c in CHAPTERS}}
    write_json(path, record)
    return path


@functools.cache
def _source(chapter):
    from arlm.book.sources import notebook_of

    return notebook_of(chapter)


def reading_minutes(chapter):
    """Minutes to read `chapter`'s prose and code at `READING_WORDS_PER_MINUTE`."""
    words = sum(len(cell.source.split()) for cell in _source(chapter).cells)
    return words / READING_WORDS_PER_MINUTE


def _minutes(seconds):
    return "–" if seconds is None else (f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s")


def _title(chapter):
    first = _source(chapter).cells[0].source.split("\n")[0]
    return re.sub(r"^# (\d+\. )?", "", first)


def lecturer_page(tiny, tiny_source, edition):
    """The lecturer's page (MyST markdown). `tiny`: {chapter: seconds} at tiny, measured as `tiny_source`
    says; `edition`: the cpu edition's ``edition.json`` (or None)."""
    cpu = {c: r["seconds"] for c, r in (edition or {}).get("chapters", {}).items()}
    machine = next(iter(edition["chapters"].values()))["machine"] if edition else None
    edition_line = (f"the cpu edition, {edition['published'][:10]}, {machine['cores']} cores ({machine['cpu']})"
                    if edition else "no cpu edition")
    found = exercises.all_exercises()
    rows = ["| week | chapter | reading | tiny | cpu |", "|---|---|---|---|---|"]
    for week, chapter in enumerate(CHAPTERS, 1):
        rows.append(f"| {week} | {{doc}}`{int(chapter[:2])}. {_short_title(chapter)} <../chapters/{chapter}>` | "
                    f"{reading_minutes(chapter):.0f} min | {_minutes(tiny.get(chapter))} | "
                    f"{_minutes(cpu.get(chapter))} |")
    parts = [
        "(lecturer)=",
        "# For lecturers: a seven-week module",
        "",
        "The book makes a module of seven weeks, one chapter a week. `arlm classroom --out classroom` writes "
        "the kit for it: the student notebooks (each chapter without its solutions, with an answer cell and a "
        "check cell after every exercise), the instructor notebooks (the answer key) and the autograder's "
        "checks. `arlm classroom grade SUBMISSIONS/ --runs runs/tiny` grades a folder of submissions (one "
        "folder per student) against a finished run of the book and writes the score table: one row per "
        "student, one column per autograded exercise. Every chapter page ends with a concept quiz a "
        "student answers in the page. Every figure of the book is also an SVG file for slides: "
        '<a href="../figures/index.html">the figures</a>.',
        "",
        "## The plan",
        "",
        f"Reading: the chapter's words at {READING_WORDS_PER_MINUTE} a minute. Running: the wall time of the "
        f"whole chapter at `tiny` ({tiny_source}) and at `cpu` ({edition_line}), on the machine named; a "
        "chapter run again against a finished run folder reuses its trained stages and takes less.",
        "",
        *rows,
        "",
    ]
    for week, chapter in enumerate(CHAPTERS, 1):
        parts += _week(week, chapter, found[chapter])
    parts += _running()
    return "\n".join(parts) + "\n"


def _short_title(chapter):
    return _title(chapter).split(":")[0]


def _week(week, chapter, chapter_exercises):
    done, needs = PREREQUISITES[chapter]
    graded = [e for e in chapter_exercises if not checking.is_discussion(e.label)]
    discussed = [e for e in chapter_exercises if checking.is_discussion(e.label)]
    hard = [e for e in chapter_exercises if e.level == "Hard"]
    objectives = sorted({q["objective"] for q in quizzes.questions(chapter)})
    lines = [f"### Week {week}: {_title(chapter)}", "",
             f"- **Runs after** {done}. **Students should know** {needs}.",
             "- **Autograded** (the computed answer; the question it raises is for class): " + (", ".join(
                 f"{e.number} ({e.level.lower()}, {_plain(e.title)})" for e in graded) or "none") + ".",
             *(["- **Not autograded** (discussed in class): " + ", ".join(
                 f"{e.number} ({_plain(checking.metadata(e.label)['discussion'])})" for e in discussed) + "."]
               if discussed else []),
             f"- **Quiz**: {len(quizzes.questions(chapter))} questions, on objectives "
             f"{', '.join(map(str, objectives))} of the chapter's list."]
    for exercise in hard:
        lines += ["", f"**The Hard exercise ({exercise.number}, {_plain(exercise.title)})** asks a strong "
                  "student to:", "", *(f"> {line}" for line in exercise.statement.split("\n"))]
    return [*lines, ""]


def _plain(text):
    return text.replace("$", "")


def _running():
    return [
        "## How students run the chapters",
        "",
        "- **Colab**: each chapter's *Open in Colab* badge opens the cpu edition's notebook; its first cell "
        "installs `arlm`. A chapter reads what the chapters before it wrote into its run folder, so a student "
        "runs the earlier chapters first in the same session (at `tiny` that takes minutes), or keeps the run "
        "folder on a mounted drive.",
        "- **A lab machine**: `pip install \"arlm[book]\"`, then `arlm run --scale tiny` once (every chapter, "
        "into `runs/tiny`); students open their notebooks from the kit with `run_dir` pointing at that folder.",
        "- **Scale**: `tiny` (the times above) shows that every step runs and is what the autograder grades "
        "against; `cpu` shows pretraining and distillation begin to work and suits homework. A check whose "
        "answer depends on the run computes it from the run the student (or the grader) runs against.",
        "",
        "## Grading",
        "",
        "The student notebook says, in each answer cell, which variables the checks read; its check cell "
        "prints how many of them pass (\"Exercise 3.2: 2 of 3 checks pass\"). The grader runs each chapter "
        "once up to its exercises, then every student's answers on a copy of that state, and scores each "
        "exercise by the share of its checks that pass. A file that is not a notebook or not a chapter, an "
        "answer that raises or runs too long gets one line in the grader's report and a zero for that "
        "exercise; the others are graded as usual.",
    ]


def figures(runs):
    """[(chapter, number, section heading, svg text)] of every SVG figure in the notebooks of `runs`."""
    import nbformat

    found = []
    for chapter in CHAPTERS:
        path = Path(runs) / f"{chapter}.ipynb"
        if not path.is_file():
            continue
        heading = _title(chapter)
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                heads = re.findall(r"^#{1,3} (.+)$", cell.source, re.M)
                heading = heads[-1] if heads else heading
            for output in cell.get("outputs", []):
                svg = output.get("data", {}).get("image/svg+xml")
                if svg:
                    found.append((chapter, len([f for f in found if f[0] == chapter]) + 1, heading,
                                  svg if isinstance(svg, str) else "".join(svg)))
    return found


def figures_index(listed, runs_label):
    """The standalone ``figures/index.html``: every figure, its chapter and section, and its file."""
    items = [f'<figure><img src="{name}" alt="{html.escape(caption)}">'
             f'<figcaption><a href="{name}">{name}</a>: {html.escape(caption)}</figcaption></figure>'
             for name, caption in listed]
    empty = ("<p>The notebooks this book was built from hold no SVG figures (they were executed before the "
             "runner kept them): run the book again (<code>arlm run</code>, or <code>arlm edition</code>).</p>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Figures of the book</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}}
img{{max-width:100%;border:1px solid #ddd}}figure{{margin:0 0 2em}}</style></head>
<body><h1>Figures of the book</h1>
<p>Every figure of {html.escape(runs_label)} as an SVG file, for slides. <a href="../classroom/lecturer.html">
The lecturer's page</a>.</p>
{chr(10).join(items) if items else empty}
</body></html>
"""


def stage(book, runs, edition=None, tiny_record=TINY_RECORD):
    """Write the lecturer's page into ``book/classroom/`` and the figures into ``book/classroom/site/figures``
    (the site's ``figures/``), from the notebooks of `runs` and the cpu edition's ``edition.json``; the tiny
    times come from `runs` when it is a complete tiny run, else from `tiny_record` (`record_tiny`)."""
    target = Path(book) / "classroom"
    shutil.rmtree(target, ignore_errors=True)
    folder = target / "site" / "figures"
    folder.mkdir(parents=True)
    listed = []
    for chapter, number, heading, svg in figures(runs):
        name = f"{chapter}-{number}.svg"
        (folder / name).write_text(svg, encoding="utf-8")
        listed.append((name, f"chapter {int(chapter[:2])}, {_plain(heading)}"))
    label = f"the {edition['scale']} edition" if edition else f"this book's {_scale_of(runs) or ''} run"
    (folder / "index.html").write_text(figures_index(listed, label), encoding="utf-8")
    measured = run_seconds(runs)
    built_from_edition = edition is not None
    if edition is None:  # a book built from another run still plans with the committed edition's cpu times
        from arlm.book.edition import read_manifest

        edition = read_manifest()
    if not built_from_edition and len(measured) == len(CHAPTERS) and _scale_of(runs) == "tiny":
        from arlm.book.edition import chapter_record

        tiny, source = measured, "this book's run" + _measured_on(chapter_record(runs, CHAPTERS[-1]))
    elif Path(tiny_record).is_file():
        record = json.loads(Path(tiny_record).read_text(encoding="utf-8"))
        tiny = {c: r["seconds"] for c, r in record["chapters"].items()}
        source = "a tiny run" + _measured_on(record["chapters"][CHAPTERS[-1]]) + (
            f", {record['conditions']}" if record.get("conditions") else "")
    else:
        tiny, source = {}, "no tiny run recorded"
    (target / "lecturer.md").write_text(lecturer_page(tiny, source, edition), encoding="utf-8")
    return target


def _measured_on(record):
    """', 2026-12-06, 2 cores (AMD EPYC)' of a chapter's record (`arlm.book.edition.chapter_record`)."""
    machine = record.get("machine") or {}
    date = (record.get("date") or "")[:10]
    return (f", {date}" if date else "") + (f", {machine['cores']} cores ({machine['cpu']})" if machine else "")


def _scale_of(runs):
    path = Path(runs) / CHAPTERS[0] / "results.json"
    return json.loads(path.read_text(encoding="utf-8")).get("scale") if path.is_file() else None
