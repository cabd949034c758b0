"""The exercises of the book, read from the chapters: each ``{exercise}`` directive with its level, title,
label and statement, the ``solution`` code cells that answer it and its ``{solution}`` directive."""

import dataclasses
import functools
import re

from arlm.artifacts import CHAPTERS
from arlm.errors import ArlmError

# an exercise's opening line and its label: ```{exercise} Easy|Medium|Hard: title, then :label: ex-N-M
_OPENING = re.compile(r"^```\{exercise\} (?P<level>Easy|Medium|Hard): (?P<title>.+)\n:label: (?P<label>ex-\d+-\d+)$",
                      re.M)
_SOLUTION = re.compile(r"^```\{solution\} (?P<label>ex-\d+-\d+)$", re.M)


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One exercise of a chapter; `cell` is the index of its statement, `solution_cells` of its solution code
    and `directive` of its ``{solution}`` text in the chapter's notebook."""

    chapter: str
    label: str
    level: str
    title: str
    statement: str
    cell: int
    solution_cells: tuple
    directive: int | None

    @property
    def number(self):
        """'3.2' for ``ex-3-2``: what the book prints ("Exercise 3.2")."""
        return ".".join(self.label.split("-")[1:])


def statement_text(source):
    """The text of an exercise directive, without its fence, title line and options."""
    lines = source.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("```{exercise}"))
    body = [line for line in lines[start + 1:] if not line.startswith(":")]
    end = next((i for i, line in enumerate(body) if line.startswith("```")), len(body))
    return "\n".join(body[:end]).strip()


def is_solution(cell):
    return cell.cell_type == "code" and "solution" in cell.metadata.get("tags", [])


def is_solution_text(cell):
    return cell.cell_type == "markdown" and _SOLUTION.search(cell.source) is not None


def find(notebook, chapter):
    """The exercises of `notebook` (a chapter as nbformat), in order."""
    found = []
    cells = notebook.cells
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown" or "```{exercise}" not in cell.source:
            continue
        match = _OPENING.search(cell.source)
        if match is None:
            raise ArlmError(f"chapter {chapter}, cell {i}: an exercise directive without 'Level: title' and "
                            ":label: ex-N-M")
        solutions, directive = [], None
        for j in range(i + 1, len(cells)):
            if cells[j].cell_type == "markdown" and "```{exercise}" in cells[j].source:
                break
            if is_solution(cells[j]):
                solutions.append(j)
            elif is_solution_text(cells[j]):
                directive = j
                break
        found.append(Exercise(chapter, match["label"], match["level"], match["title"],
                              statement_text(cell.source), i, tuple(solutions), directive))
    return found


@functools.cache
def chapter_exercises(chapter):
    """`find` on the chapter's source (read once per process)."""
    from arlm.book.sources import notebook_of

    return tuple(find(notebook_of(chapter), chapter))


def all_exercises():
    """{chapter: [Exercise, ...]} for every chapter of the book."""
    return {chapter: chapter_exercises(chapter) for chapter in CHAPTERS}


def chapter_of(label):
    """``01_corpus`` for ``ex-1-2``."""
    match = re.fullmatch(r"ex-(\d+)-\d+", label)
    if not match or not 1 <= int(match[1]) <= len(CHAPTERS):
        raise ArlmError(f"{label!r} is not an exercise label of the book (ex-N-M, N = 1..{len(CHAPTERS)})")
    return CHAPTERS[int(match[1]) - 1]
