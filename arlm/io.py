"""Writing files so that nothing is ever half-written: a temporary name, fsync, then an atomic rename.

* `atomic_path(path)`: one file (or one folder) appears whole or not at all;
* `staged_dir(target)`: an output folder is built beside `target` and swapped in only when the block succeeds, so
  a failing command leaves the previous result exactly as it was;
* `check_out_dir(target, owned, parameter)`: refuse, before anything is written, an output folder that a
  command could not replace without losing something (a file, a folder holding other files, an unwritable place).
"""

import contextlib
import fnmatch
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from arlm.errors import ArtifactError, ParameterError


def _fsync_tree(path):
    """Flush a file, or every file and folder of a tree, to the disk (a crash then cannot leave empty files)."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        for child in path.iterdir():
            _fsync_tree(child)
    if path.is_file() or path.is_dir():
        _fsync(path)


def _fsync(path):
    """Flush one file, or one folder's entries (after a rename in it), to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a folder; the data itself was flushed
        pass
    finally:
        os.close(fd)


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
    """Yield a temporary path beside `path`; fsync it and rename it onto `path` only if the block succeeds.

    Works for files and folders (a SavedModel, a checkpoint directory). On error the temporary is removed
    and an existing `path` is left untouched. After the rename the parent folder is fsynced too, so a crash
    leaves either the old file or the complete new one, never a renamed-but-empty file. A file never replaces a
    folder (that would delete the folder's contents): that is an `ArtifactError`.

    Args:
        path (str | os.PathLike): the file or folder to write.

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
        old = None
        if path.is_dir() and not path.is_symlink() and not tmp.is_dir():
            raise ArtifactError(f"{path} is a folder: it cannot be replaced by a file (give a file name)")
        _fsync_tree(tmp)
        if path.is_dir() and not path.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.replace(path, old)  # a folder cannot be renamed onto a non-empty folder: move the old one aside
        os.replace(tmp, path)
        _fsync(path.parent)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
    _written(path)


def _written(path):
    for callback in tuple(_AFTER_WRITE):
        callback(path)


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


@contextlib.contextmanager
def staged_dir(target):
    """Yield an empty staging folder beside `target`; on success it becomes `target`, as a whole.

    On success the staging folder is fsynced, the old `target` (if any) is renamed aside, the staging folder is
    renamed to `target` and only then is the old one removed. On any exception the staging folder is removed and
    `target` is left byte for byte as it was. A crash between the two renames leaves the old folder as
    ``.<name>.old-*`` beside `target`; the next `staged_dir(target)` puts it back before it starts (and removes
    leftovers of killed runs), so there is one writer per target at a time.

    Args:
        target (str | os.PathLike): the output folder; it is replaced, not merged into (see `check_out_dir`).

    >>> with staged_dir("out/pretraining") as staging:
    ...     (staging / "meta.json").write_text("{}")
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise ArtifactError(f"{target} is a file: expected a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    _recover(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    try:
        yield staging
        _fsync_tree(staging)
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, old)  # an empty folder is replaced by a rename
        os.replace(staging, target)
        _fsync(target.parent)
        if old is not None:
            shutil.rmtree(old)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _written(target)


def _recover(target):
    """Undo what a killed `staged_dir` left beside `target`: restore the old folder or drop the leftovers."""
    parent = target.parent
    olds = sorted(parent.glob(f".{target.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and not target.exists():
        os.replace(olds.pop(), target)
    for leftover in [*olds, *parent.glob(f".{target.name}.staging-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def move_into(files, folder):
    """Rename each of `files` (complete, in a staging folder on the same file system) into `folder`, in order,
    then fsync `folder`: a set of files that belong together appears at once. Put the file readers open first
    last (a ``.tflite`` after its sidecar).

    Args:
        files (list[str | os.PathLike]): the staged files.
        folder (str | os.PathLike): where they go, under the same names.

    Returns the new paths.
    """
    folder = Path(folder)
    moved = []
    for file in map(Path, files):
        _fsync_tree(file)
        os.replace(file, folder / file.name)
        moved.append(folder / file.name)
    _fsync(folder)
    for path in moved:
        _written(path)
    return moved


def check_out_dir(target, owned, parameter="--out"):
    """Check that `target` can be replaced as a whole by a command that writes the files matching `owned`.

    Refused with a `ParameterError` naming `parameter`: an existing file; a folder holding anything that does not
    match one of the `owned` glob patterns (it would be lost); a place that cannot be created or written.

    Args:
        target (str | os.PathLike): the output folder.
        owned (tuple[str, ...]): glob patterns of the names the command writes, e.g. ``("shard-*.tfrecord",)``.
        parameter (str): the flag or argument named in the message.

    Returns the target as a `Path`.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise ParameterError(f"{parameter} {target}: is a file; expected a folder (new, empty or an earlier output)")
    if target.is_dir():
        foreign = sorted(p.name for p in target.iterdir() if not any(fnmatch.fnmatch(p.name, o) for o in owned))
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise ParameterError(f"{parameter} {target}: the folder holds files this command does not write "
                                 f"({shown}) and it is replaced as a whole; give a new or empty folder")
    check_writable(target.parent, parameter, target)
    return target


def check_writable(folder, parameter, named=None):
    """Check that files can be created in `folder` (created if needed); a `ParameterError` naming `parameter`.

    Args:
        folder (str | os.PathLike): the folder that will hold the output.
        parameter (str): the flag named in the message.
        named (str | os.PathLike | None): the path shown in the message (default `folder`).
    """
    folder = Path(folder)
    named = named or folder
    existing = folder
    while not existing.exists():  # the nearest ancestor that exists decides whether the folders can be made
        existing = existing.parent
    if not existing.is_dir():
        raise ParameterError(f"{parameter} {named}: cannot be created, {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ParameterError(f"{parameter} {named}: cannot write in {existing} (permission denied)")


def check_keras_file(path, parameter="--model"):
    """Check that `path` is a complete ``.keras`` archive before Keras reads it (Keras says "File not found" for a
    truncated one); an `ArtifactError` naming the file and `parameter`.

    Args:
        path (str | os.PathLike): the ``.keras`` file.
        parameter (str): the flag named in the message.
    """
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: {'not a file' if path.exists() else 'no such file'}; expected a .keras file "
                            f"({parameter})")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError) as error:
        raise ArtifactError(f"{path}: not a complete .keras file ({error}; truncated or not saved by Keras?) "
                            f"({parameter})") from None
    if damaged is not None or not {"config.json", "metadata.json"} <= names:
        what = f"member {damaged} is corrupt" if damaged else "config.json or metadata.json is missing"
        raise ArtifactError(f"{path}: not a complete .keras file ({what}) ({parameter})")
    return path


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
