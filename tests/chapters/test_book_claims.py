"""The built book says nothing its own outputs contradict, at whatever scale and data it was run with.

Two mechanisms: no page shows noise a reader cannot act on (absolute temporary paths, Python reprs, warnings),
and sentences known to depend on results (`CLAIMS`) appear only when the run's results.json files bear them
out. Result-dependent prose that a chapter computes from its numbers needs no entry here.
"""

import json
import re

import pytest

from arlm.artifacts import CHAPTERS

pytestmark = pytest.mark.chapters

NOISE = {
    "a temporary path": re.compile(r"/tmp/"),
    "a Path repr": re.compile(r"PosixPath\(|WindowsPath\("),
    "a function repr": re.compile(r"<function [^>]+ at 0x"),
    "a warning": re.compile(r"\b\w*Warning\b: "),
    "an unfilled placeholder": re.compile(r"scale `scale`|\{scale\}"),
}


def _results(book_run, chapter):
    path = book_run / chapter / "results.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _news_share(run):
    rows = _results(run, "01_corpus").get("table1", [])
    news = [r for r in rows if r.get("paper_dataset") == "Billion Words Corpus"]
    return news[0].get("ours_share") or 0 if news else 0


def _teacher_ahead(run):
    """Whether chapter 4's teacher is ahead of the student trained from scratch by more than two standard errors
    (None when not recorded)."""
    from arlm.tasks.evidence import clearly_ahead

    scores = _results(run, "04_distillation").get("masked_lm", {})
    if not {"teacher", "scratch"} <= set(scores):
        return None
    teacher, scratch = scores["teacher"], scores["scratch"]
    return clearly_ahead(teacher["mlm_accuracy"], scratch["mlm_accuracy"], teacher["eval_masked_tokens"])


# (chapter, a phrase a page may contain, the condition on the run under which it is true): sentences a chapter
# once said whatever its numbers were; a page that says one again must be backed by its run
CLAIMS = [
    ("01_corpus", "news dominates", lambda run: _news_share(run) > 50),
    ("01_corpus", "matplotlib does not shape arabic", lambda run: False),
    ("03_knowledge_transfer", "each phase starts high and falls", lambda run: False),
    ("04_distillation", "distillation has nothing to pass on", lambda run: _teacher_ahead(run) is False),
    ("04_distillation", "there is something to distill", lambda run: _teacher_ahead(run) is True),
    ("05_finetuning", "ours are at scale `scale`", lambda run: False),
    ("07_results", "every task is loaded, fine-tuned and scored",
     lambda run: not _results(run, "05_finetuning").get("not_run")),
]


def _text(built_book, chapter):
    html = (built_book / "chapters" / f"{chapter}.html").read_text(encoding="utf-8")
    html = re.sub(r"<script.*?</script>|<style.*?</style>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def _notebook(book_run, chapter):
    return json.loads((book_run / f"{chapter}.ipynb").read_text(encoding="utf-8"))


def _said(cell):
    """The Markdown paragraphs a code cell showed with `arlm.book.prose.say`."""
    return ["".join(output["data"]["text/markdown"]) for output in cell.get("outputs", [])
            if "text/markdown" in output.get("data", {})]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_solution_of_the_run_says_its_computed_answer(book_run, chapter):
    """The tiny run (of the chapters' sources, not the committed edition): each solution cell showed a sentence
    computed from what it printed, and no computed sentence came out empty."""
    cells = _notebook(book_run, chapter)["cells"]
    solutions = [cell for cell in cells if "solution" in cell.get("metadata", {}).get("tags", [])]
    assert all(_said(cell) for cell in solutions), [cell["source"][:2] for cell in solutions if not _said(cell)]
    said = [text for cell in cells if cell["cell_type"] == "code" for text in _said(cell)]
    assert all(text.strip() for text in said)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_page_shows_noise(any_book, chapter):
    text = _text(any_book[1], chapter)
    found = {name: pattern.search(text).group(0) for name, pattern in NOISE.items() if pattern.search(text)}
    assert not found, f"{chapter}: {found}"


@pytest.mark.parametrize(("chapter", "phrase", "holds"), CLAIMS, ids=[c[1][:30] for c in CLAIMS])
def test_result_dependent_sentences_agree_with_the_run(any_book, chapter, phrase, holds):
    run, built = any_book
    if phrase.lower() in _text(built, chapter).lower():
        assert holds(run), f"{chapter} says {phrase!r}, which this run's results contradict"
