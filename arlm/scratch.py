"""Temporary files and folders beside an output, named after the process that writes them, so that a later run
removes what a killed one left behind (a ``finally`` never runs after ``kill -9``) and never what a live one uses.

A name holds the writer's process id: ``.<stem>.<pid>.<random><suffix>``. `remove_dead` deletes the entries of
that shape whose process no longer runs; a process id reused by another live process only delays the clean-up.

>>> with scratch_dir("out", "savedmodel") as work:
...     _ = (work / "model.pb").write_bytes(b"")
"""

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path


def alive(pid):
    """Whether a process with id `pid` runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def prefix(stem):
    """The name prefix of this process's temporaries for `stem`."""
    return f".{stem}.{os.getpid()}."


def remove_dead(parent, stem, suffix=""):
    """Delete the temporaries of `stem` in `parent` whose writer no longer runs."""
    shape = re.compile(rf"\.{re.escape(stem)}\.(\d+)\.[^/]*{re.escape(suffix)}")
    parent = Path(parent)
    if not parent.is_dir():
        return
    for entry in parent.iterdir():
        found = shape.fullmatch(entry.name)
        if found and not alive(int(found.group(1))):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


@contextlib.contextmanager
def scratch_dir(parent, stem):
    """Yield a new empty folder in `parent` (created if needed), removed after the block, and remove the ones a
    killed process left there.

    Args:
        parent (str | os.PathLike): where the output goes (the same disk, and cleaned with it).
        stem (str): what the folder holds, e.g. ``"savedmodel"``.
    """
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    remove_dead(parent, stem)
    work = Path(tempfile.mkdtemp(prefix=prefix(stem), dir=parent))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)
