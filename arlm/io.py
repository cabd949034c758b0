"""Writing files so that nothing is ever half-written: a temporary name, then an atomic rename."""

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path


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


def save_model(model, path):
    """``model.save(path)`` atomically (a ``.keras`` file; Keras insists on the suffix, so the temporary keeps it)."""
    with atomic_path(path) as tmp:
        staging = tmp.with_name(tmp.name + Path(path).suffix)
        model.save(staging)
        staging.rename(tmp)
    return Path(path)


def save_weights(layer, path):
    """``layer.save_weights(path)`` atomically (a ``.weights.h5`` file)."""
    with atomic_path(path) as tmp:
        staging = tmp.with_name(tmp.name + ".weights.h5")
        layer.save_weights(staging)
        staging.rename(tmp)
    return Path(path)


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
