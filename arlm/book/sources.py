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
# the first code cell of every chapter's notebook, before its parameters: written here once, not in each chapter
# (`notebook_of` fills in the repository and the commit)
INSTALL_CELL = '''\
# On Colab: install this book's library at the commit this page was run with (with
# the extras a TPU needs) and pick the Keras backend (JAX on a TPU) before Keras is
# imported. Elsewhere this cell does nothing.
import os
import sys

REPOSITORY = "https://github.com/arlm-book/arlm"  # book/_config.yml's repository.url
REVISION = "main"  # the commit it runs with
if "google.colab" in sys.modules:
    import subprocess

    tpu = bool(os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME"))
    tpu = tpu or os.path.exists("/dev/accel0")
    extras = "book,gcs,tpu" if tpu else "book,gcs"
    source = f"arlm[{extras}] @ git+{REPOSITORY}@{REVISION}"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", source], check=True)
    from arlm.runtime import choose_backend

    print("Keras backend:", choose_backend())
'''


def notebook_of(chapter):
    """The chapter's py:percent source as an nbformat notebook, its Colab badge pointing at the book's repository
    (`book_repository`), and `INSTALL_CELL` before its parameters, pinned to that repository and the commit of this
    checkout."""
    import jupytext
    import nbformat

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
    parameters = next((i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])),
                      None)
    if parameters is None:
        raise ArlmError(f"chapter source {source} has no cell tagged parameters (papermill injects after it)")
    install = _INSTALL.sub(lambda m: f'{m.group(1)} = "{values[m.group(1)]}"', INSTALL_CELL.rstrip("\n"))
    notebook.cells.insert(parameters, nbformat.v4.new_code_cell(install))
    return notebook
