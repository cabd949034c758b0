"""The chapters' sources (``chapters/*.py``, jupytext py:percent) as the notebooks a reader opens: `notebook_of`
points each one's Colab badge and install cell at the book's repository (`book_repository`) and this commit. The
runner executes these notebooks; the site, the classroom kit and its grader read them.
"""

import re
from pathlib import Path

from arlm.errors import ArlmError

REPO = Path(__file__).resolve().parents[2]


def chapters_dir():
    """`chapters/` of this checkout, else of the current directory."""
    here = REPO / "chapters"
    return here if here.is_dir() else Path.cwd() / "chapters"


def book_repository():
    """``(url, branch)`` of the book's repository: the one setting (``repository`` in ``book/_config.yml``) that
    the chapters' Colab badges, their install cells and the README use."""
    import yaml

    config = yaml.safe_load((REPO / "book" / "_config.yml").read_text(encoding="utf-8"))
    repository = config.get("repository", {})
    return repository["url"].rstrip("/"), repository.get("branch", "main")


def colab_url(chapter):
    """Where Colab opens `chapter`: the executed `cpu` edition notebook on the repository's branch."""
    url, branch = book_repository()
    owner_repo = url.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/book/edition/cpu/{chapter}.ipynb"


_BADGE_TARGET = re.compile(r"https://colab\.research\.google\.com/github/[^)\s]+?/(\d\d_[a-z_]+)\.ipynb")
_INSTALL = re.compile(r'^(REPOSITORY|REVISION) = "[^"]*"', re.M)


def notebook_of(chapter):
    """The chapter's py:percent source as an nbformat notebook, its Colab badge and install cell pointing at the
    book's repository (`book_repository`) and the commit of this checkout."""
    import jupytext

    from arlm.artifacts import source_commit

    source = chapters_dir() / f"{chapter}.py"
    if not source.exists():
        raise ArlmError(f"chapter source {source} not found")
    notebook = jupytext.read(source)
    notebook.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    url, branch = book_repository()
    commit = source_commit()
    revision = commit if commit and not commit.endswith("+") else branch  # a dirty checkout has no commit to pin
    values = {"REPOSITORY": url, "REVISION": revision}
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = _BADGE_TARGET.sub(lambda m: colab_url(m.group(1)), cell.source)
        elif "google.colab" in cell.source:
            cell.source = _INSTALL.sub(lambda m: f'{m.group(1)} = "{values[m.group(1)]}"', cell.source)
    return notebook
