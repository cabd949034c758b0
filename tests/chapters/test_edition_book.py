"""The site `arlm book` builds by default, from the committed cpu edition: every page says it is the edition, the
Colab badges open notebooks the repository holds, and no page says "not run" for a task the mirror holds.
(The browser and claims tests run on this site too, through the ``any_book`` fixture.)"""

import json
import os
import re
import subprocess

import pytest

from arlm.artifacts import CHAPTERS
from arlm.book.build import BOOK
from arlm.book.edition import EDITION, read_manifest
from arlm.book.sources import REPO

pytestmark = pytest.mark.chapters


def test_every_page_says_it_is_the_cpu_edition(edition_book):
    manifest = read_manifest()
    for page in [edition_book / "intro.html", *(edition_book / f"{p.stem}.html" for p in BOOK.glob("*.md"))]:
        assert "edition: every chapter executed at" in page.read_text(encoding="utf-8"), page.name
    for chapter in CHAPTERS:
        html = (edition_book / "chapters" / f"{chapter}.html").read_text(encoding="utf-8")
        assert "The cpu edition</p>" in html, chapter  # the banner's title
        record = manifest["chapters"][chapter]
        # the banner rounds papermill's duration; edition.json keeps it to 0.1 s (776.508 -> "777 s" and 776.5)
        duration = json.loads((EDITION / f"{chapter}.ipynb").read_text(encoding="utf-8"))["metadata"]["papermill"][
            "duration"]
        assert abs(duration - record["seconds"]) <= 0.05, chapter
        assert record["commit"] in html and f"{duration:.0f} s" in html, chapter


def test_colab_badges_open_notebooks_the_repository_holds(edition_book):
    tracked = set(subprocess.run(["git", "ls-files", "book/edition"], cwd=REPO, capture_output=True, text=True,
                                 check=True).stdout.split())
    for chapter in CHAPTERS:
        html = (edition_book / "chapters" / f"{chapter}.html").read_text(encoding="utf-8")
        targets = set(re.findall(r"colab\.research\.google\.com/github/[^/]+/[^/]+/blob/[^/]+/([^\"' )]+)", html))
        assert targets == {f"book/edition/cpu/{chapter}.ipynb"}, (chapter, targets)
        assert (EDITION / f"{chapter}.ipynb").is_file()
        if tracked:  # a git checkout: the notebook is committed, not only on this disk
            assert f"book/edition/cpu/{chapter}.ipynb" in tracked, chapter


def test_no_page_says_not_run_for_a_task_the_mirror_holds(edition_book):
    from arlm.tasks.experiments import TABLE3
    from arlm.tasks.loaders import available

    if not os.environ.get("ARLM_DATA_DIR"):
        pytest.skip("which tasks the mirror holds needs ARLM_DATA_DIR")
    held = [task for task in ("ajgt", "hard", "arsentd_lev", "labr", "tead", "astd_b", "padt", "arcd")
            if available(task)]
    missing = [name for task in TABLE3 if task not in held for name in (task, TABLE3[task][0])]
    for chapter in ("05_finetuning", "07_results"):
        html = (edition_book / "chapters" / f"{chapter}.html").read_text(encoding="utf-8")
        for row in re.findall(r"<tr.*?</tr>", html, re.S):  # a table row saying "not run" names a missing task
            text = re.sub(r"<[^>]+>", " ", row)
            if "not run" in text:
                assert any(re.search(rf"\b{re.escape(name)}\b", text, re.I) for name in missing), (chapter, text)
