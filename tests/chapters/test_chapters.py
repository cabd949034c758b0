"""The book executed end to end at tiny scale, and the HTML book built from it.

CI executes the book once (`arlm run --scale tiny`) and points ARLM_TEST_RUNS at it, so these tests check
that run instead of executing every chapter a second time; without it they execute the book themselves.
"""

import json
import re

import nbformat
import pytest

from arlm.artifacts import CHAPTERS
from arlm.book.sources import book_repository, chapters_dir, colab_url

pytestmark = pytest.mark.chapters

# an exercise's opening: ```{exercise} Easy|Medium|Hard: its title, then :label: ex-N-M
EXERCISE = r"^```\{exercise\} (?P<level>Easy|Medium|Hard): .+\n:label: (?P<label>ex-\d+-\d+)$"


def _cells(book_run, chapter):
    return nbformat.read(book_run / f"{chapter}.ipynb", as_version=4).cells


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_executed_without_errors_and_wrote_results(book_run, chapter):
    cells = _cells(book_run, chapter)
    errors = [out for cell in cells for out in cell.get("outputs", []) if out.output_type == "error"]
    assert not errors, errors
    results = json.loads((book_run / chapter / "results.json").read_text(encoding="utf-8"))
    assert results["chapter"] == chapter and results["scale"] == "tiny"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_has_the_books_parts(book_run, chapter):
    source = (chapters_dir() / f"{chapter}.py").read_text(encoding="utf-8")
    assert "Learning objectives" in source
    executed = nbformat.read(book_run / f"{chapter}.ipynb", as_version=4)
    assert colab_url(chapter) in executed.cells[0].source  # the badge opens the edition on the repository setting
    # the first code cell installs the package on Colab, pinned, and picks the backend before Keras is imported;
    # it is shown in the book (no remove tag)
    first_code = next(c for c in executed.cells if c.cell_type == "code")
    url, _ = book_repository()
    assert "pip" in first_code.source and "choose_backend()" in first_code.source
    assert f'REPOSITORY = "{url}"' in first_code.source and "remove-cell" not in first_code.metadata.get("tags", [])
    cells = _cells(book_run, chapter)
    tags = [set(cell.metadata.get("tags", [])) for cell in cells]
    assert any("parameters" in t for t in tags) and any("injected-parameters" in t for t in tags)
    sources = [cell.source for cell in cells]
    assert any(s.startswith("## Summary") for s in sources), f"{chapter} has no Summary"
    _check_exercises(chapter, cells, tags)


def _check_exercises(chapter, cells, tags):
    """sphinx-exercise directives: >= 4 exercises marked Easy/Medium/Hard (>= 1 Hard), each followed by its
    solution code (run, with output, its code hidden) and a hidden ``solution`` directive for its label."""
    exercises = [(i, re.search(EXERCISE, cell.source, re.M)) for i, cell in enumerate(cells)
                 if cell.cell_type == "markdown" and "```{exercise}" in cell.source]
    assert all(match for _, match in exercises), [cells[i].source[:80] for i, m in exercises if not m]
    levels = [match["level"] for _, match in exercises]
    assert len(exercises) >= 4 and "Hard" in levels, f"{chapter}: exercises {levels}"
    for i, match in exercises:
        label = match["label"]
        assert label.startswith(f"ex-{int(chapter[:2])}-"), label
        code, answer = cells[i + 1], cells[i + 2]
        assert code.cell_type == "code" and {"solution", "hide-input"} <= tags[i + 1], f"{label}: no solution code"
        # it ran (papermill executes it with the chapter) and printed or displayed its answer
        assert code.execution_count and code.get("outputs"), f"{label}: the solution printed nothing"
        assert not any(out.output_type == "error" for out in code.outputs)
        assert re.search(rf"^```{{solution}} {label}\n:class: dropdown$", answer.source, re.M), answer.source[:80]


def test_book_index_lists_every_chapter(built_book):
    assert 'url=intro.html' in (built_book / "index.html").read_text(encoding="utf-8")
    index = (built_book / "intro.html").read_text(encoding="utf-8")
    for chapter in CHAPTERS:
        assert f"chapters/{chapter}.html" in index
        assert (built_book / "chapters" / f"{chapter}.html").exists()



@pytest.mark.parametrize("chapter", CHAPTERS)
def test_exercises_render_with_hidden_solutions(book_run, built_book, chapter):
    page = (built_book / "chapters" / f"{chapter}.html").read_text(encoding="utf-8")
    labels = re.findall(r'<div class="exercise admonition" id="(ex-\d+-\d+)">', page)
    assert len(labels) >= 4, f"{chapter}: {len(labels)} exercises rendered"
    # one solution per exercise, collapsed (a dropdown), and each solution's code input hidden
    assert page.count('class="solution dropdown admonition"') == len(labels)
    assert page.count("tag_hide-input") >= len(labels)
    number = int(chapter[:2])  # numbered within the chapter: "Exercise 3.1", not across the book
    assert f"Exercise {number}.1" in page and f"Exercise {number}.{len(labels)}" in page

def test_results_chapter_is_filled_from_the_run(book_run, built_book):
    page = (built_book / "chapters" / "07_results.html").read_text(encoding="utf-8")
    corpus = json.loads((book_run / "01_corpus" / "results.json").read_text(encoding="utf-8"))
    for source in corpus["sources"]:  # Table 1 names this run's corpora
        assert source in page
    assert "Billion Words Corpus" in page and "not run" in page  # paper rows, and the numbers we lack
    assert page.count("<img") >= 4  # the Table 1, Table 3, size and quantization plots
