"""`pip install arlm` is the library alone: the core requirements pull in none of the book's packages, the MobileBERT
family fine-tunes on raw Arabic strings and every library module imports where those packages cannot be imported,
and a book command then says to install the ``book`` extra."""

import os
import subprocess
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from arlm.book import MODULES as BOOK_MODULES

ROOT = Path(__file__).resolve().parents[1]
# what only the book needs (the `book` extra): running notebooks, Jupyter, the site, the classroom kit, seaborn
BOOK_PACKAGES = ("papermill", "jupytext", "nbformat", "nbclient", "ipykernel", "ipython", "jupyter-client",
                 "jupyter-core", "jupyter-book", "notebook", "jupyterlab", "seaborn", "otter-grader", "jupyterquiz")


def core_requirements():
    """The distributions `pip install .` (no extras) installs: pyproject's dependencies and, transitively, theirs,
    as the installed distributions declare them, with markers evaluated for this platform and the extras asked."""
    pending = [(Requirement(line), "") for line in
               tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    found = {}
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        extras = set(requirement.extras) - found.get(name, set())
        if name in found and not extras:
            continue
        found[name] = found.get(name, set()) | extras
        for line in metadata.requires(name) or ():  # PackageNotFoundError: a core requirement is not installed
            for asked in {"", *extras}:
                pending.append((Requirement(line), asked))
    return set(found)


def test_the_core_requirements_pull_in_none_of_the_books_packages():
    core = core_requirements()
    assert {"keras", "keras-hub", "tensorflow", "filelock", "matplotlib"} <= core
    assert core.isdisjoint(BOOK_PACKAGES), sorted(core & set(BOOK_PACKAGES))
    book = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["book"]
    assert {"papermill", "jupytext", "ipykernel", "nbformat", "seaborn"} <= {Requirement(line).name for line in book}


BLOCKER = """
import importlib.abc
import sys

BLOCKED = {blocked!r}


class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (a book-only package)", name=name)


sys.meta_path.insert(0, Blocker())
"""

FINE_TUNE = """
import keras
import numpy as np

import arlm.mobilebert
from arlm.mobilebert import MobileBertTextClassifier

try:
    import papermill  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("the blocker let papermill in")
keras.utils.set_random_seed(0)
classifier = MobileBertTextClassifier.from_preset("mberta-cpu-edition", num_classes=2)
classifier.preprocessor.sequence_length = 16
classifier.compile(optimizer=keras.optimizers.Adam(1e-4), jit_compile=False)
texts = ["الخدمة مُمتازة جداً!", "سيئ، سيئ جدا", "أحمد سأل عن المدرسة", "رائع رائع"]
history = classifier.fit(texts, np.array([1, 0, 0, 1]), batch_size=4, epochs=1, verbose=0).history
assert np.isfinite(history["loss"][0]), history
assert classifier.predict(texts[:2], verbose=0).shape == (2, 2)
print("fine-tuned", history["loss"][0])

# every module of the library imports (only arlm.book and the CLI's book commands need the book's packages)
import importlib
import pkgutil

import arlm
from arlm.cli import main

for module in pkgutil.walk_packages(arlm.__path__, "arlm."):
    if not module.name.startswith(("arlm.book.", "arlm.__main__")):
        importlib.import_module(module.name)
loaded = sorted(name for name in sys.modules if name.partition(".")[0] in {blocked!r})
assert not loaded, loaded
assert main(["run", "--scale", "tiny", "--chapters", "1", "--out", sys.argv[1]]) == 2
"""


def test_the_family_fine_tunes_on_raw_strings_without_the_books_packages(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER.format(blocked=set(BOOK_MODULES)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    script = "import sys\n" + textwrap.dedent(FINE_TUNE).format(blocked=set(BOOK_MODULES))
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "runs")], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "fine-tuned" in result.stdout
    # the book's command says what to install, in one line
    assert result.stderr.strip().splitlines()[-1].endswith("this command needs the book's packages "
                                                           "(pip install 'arlm[book]')"), result.stderr[-3000:]
