"""Test-wide environment: caches and config folders in a temporary folder, the data mirror beside the repo."""

import os
import tempfile
from pathlib import Path

import pytest

import arlm  # noqa: F401  (before any test imports TensorFlow: its CPU defaults, as a user gets them)

REPO = Path(__file__).resolve().parent.parent
_TMP = Path(tempfile.mkdtemp(prefix="arlm-tests-"))

# Set before any test module imports keras or matplotlib, so nothing is written into the home folder.
for variable, folder in {
    "KERAS_HOME": "keras",
    "MPLCONFIGDIR": "matplotlib",
    "JUPYTER_CONFIG_DIR": "jupyter/config",
    "JUPYTER_DATA_DIR": "jupyter/data",
    "JUPYTER_RUNTIME_DIR": "jupyter/runtime",
    "IPYTHONDIR": "ipython",
    "ARLM_CACHE_DIR": "cache",
}.items():
    os.environ.setdefault(variable, str(_TMP / folder))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if "ARLM_DATA_DIR" not in os.environ and (REPO.parent / "shared" / "data").is_dir():
    os.environ["ARLM_DATA_DIR"] = str(REPO.parent / "shared" / "data")


@pytest.fixture
def mirror():
    """The data mirror; tests that read real data skip with a reason when it is absent."""
    path = os.environ.get("ARLM_DATA_DIR")
    if not path or not Path(path).is_dir():
        pytest.skip("the data mirror is not available: set ARLM_DATA_DIR")
    return Path(path)


# Chapter tests that execute chapters again from a run (not checks of the run): their property does not depend
# on the data the run read.
_RERUNS = {"test_reproducible.py", "test_interrupted.py", "test_moved_run.py"}


def pytest_collection_modifyitems(items):
    """Mark what depends on the data mirror: ``mirror`` (reads it) and ``run`` (checks this session's tiny run,
    which read it where it is). CI runs the whole suite without the mirror, as the README's test command does on a
    fresh machine, and only these again with it (.ci/run)."""
    for item in items:
        if "mirror" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.mirror)
        path = Path(item.fspath)
        edition = "edition" in getattr(getattr(item, "callspec", None), "params", {}).values()
        if path.parent.name == "chapters" and path.name not in _RERUNS and path.name != "test_edition_book.py" \
                and not edition:
            item.add_marker(pytest.mark.run)
