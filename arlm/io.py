"""Writing files so that nothing is ever half-written: a temporary name, then an atomic rename."""

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

_AFTER_WRITE = []  # callbacks given the final path of each completed write


def after_write(callback):
    """Call ``callback(path)`` after every successful `atomic_path` / `write_json` write, with the final path
    (a file or a folder) once it has been renamed into place; returns `callback`. A callback that raises makes
    the write raise (the file stays written). `arlm.bucket` uses this to upload a run folder as it is written.

    Args:
        callback (callable): takes one `pathlib.Path`; registered once however often it is passed.
    """
    if callback not in _AFTER_WRITE:
        _AFTER_WRITE.append(callback)
    return callback


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    Works for files and folders (a SavedModel, a checkpoint directory). On error the temporary is removed
    and an existing `path` is left untouched.

    >>> with atomic_path("out/vocab.txt") as tmp:
    ...     tmp.write_text("[PAD]\\n")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    tmp.unlink()
    try:
        yield tmp
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
    for callback in tuple(_AFTER_WRITE):
        callback(path)


def write_json(path, obj):
    """Write `obj` as indented UTF-8 JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=_jsonable) + "\n", encoding="utf-8")
    return Path(path)


def read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _jsonable(value):
    # numpy scalars and arrays, Paths
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
