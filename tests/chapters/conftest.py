"""Fixtures shared by the chapter and site tests: one executed tiny run and the book built from it."""

import os
from pathlib import Path

import pytest

from arlm.artifacts import CHAPTERS
from arlm.book import BOOK, build_book
from arlm.runner import run_book


@pytest.fixture(scope="session")
def book_run(tmp_path_factory):
    given = os.environ.get("ARLM_TEST_RUNS")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("runs")
    run_book("tiny", out=out)
    return out / "tiny"


@pytest.fixture(scope="session")
def built_book(book_run):
    index = BOOK / "_build" / "html" / "index.html"
    newest_run = max((book_run / f"{chapter}.ipynb").stat().st_mtime for chapter in CHAPTERS)
    if not index.exists() or index.stat().st_mtime < newest_run:
        build_book(book_run)
    return index.parent


