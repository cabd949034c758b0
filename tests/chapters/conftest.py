"""Fixtures shared by the chapter and site tests: one executed tiny run and the book built from it, and the book
built from the committed cpu edition."""

import os
from pathlib import Path

import pytest

from arlm.artifacts import CHAPTERS
from arlm.book.build import BOOK, build_book
from arlm.book.edition import EDITION, read_manifest
from arlm.book.runner import run_book


@pytest.fixture(scope="session")
def book_run(tmp_path_factory):
    given = os.environ.get("ARLM_TEST_RUNS")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("runs")
    run_book("tiny", out=out, check_exercises=True)  # the classroom kit's key checked as it runs
    return out / "tiny"


@pytest.fixture(scope="session")
def built_book(book_run):
    index = BOOK / "_build" / "html" / "index.html"
    newest_run = max((book_run / f"{chapter}.ipynb").stat().st_mtime for chapter in CHAPTERS)
    if not index.exists() or index.stat().st_mtime < newest_run:
        build_book(book_run)
    return index.parent




@pytest.fixture(scope="session")
def edition_book(tmp_path_factory):
    """The site `arlm book` builds by default (the committed edition), built outside the repository."""
    if read_manifest() is None:
        pytest.fail(f"no edition in {EDITION}: run `arlm edition` (README)")
    return build_book(output=tmp_path_factory.mktemp("edition-book")).parent


@pytest.fixture(scope="session", params=["tiny", "edition"])
def any_book(request):
    """``(run folder, built site)``: this session's tiny run, then the committed cpu edition."""
    if request.param == "tiny":
        return request.getfixturevalue("book_run"), request.getfixturevalue("built_book")
    return EDITION, request.getfixturevalue("edition_book")
