"""Writing files so that nothing is ever half-written: a temporary name, fsync, then an atomic rename.

* `atomic_path(path)`: one file (or one folder) appears whole or not at all;
* `staged_dir(target)`: an output folder is built beside `target` and swapped in only when the block succeeds, so
  a failing command leaves the previous result exactly as it was;
* `locked(target)`: one writer per output folder, file or run folder at a time (a `filelock` beside it, which a
  killed writer's successor takes over); `staging_beside(target)`: that lock, a staging folder beside `target`, and
  what killed writers left there removed; a full disk there is one `DiskFullError` naming the folder and the bytes;
* `interruptible()`: Ctrl-C raises as always, and no output is put in place after it;
* `check_out_dir(target, owned, parameter)`: refuse, before anything is written, an output folder that a
  command could not replace without losing something (a file, a folder holding other files, an unwritable place);
* `write_json` / `read_json` / `file_sha256`: JSON files and digests.

The bottom layer of the library: it imports nothing of `arlm` but its errors. Presets are `arlm.preset_format`,
models `arlm.saving`.
"""

import contextlib
import errno
import fnmatch
import hashlib
import json
import math
import os
import secrets
import shutil
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from arlm import scratch
from arlm.errors import ArtifactError, DiskFullError, InUseError, ParameterError


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
_PLACED = []  # the completed writes of the running or last `interruptible` block (`placed`)
_RECORDING = threading.Event()  # inside `interruptible`: `_written` records into `_PLACED`
_INTERRUPTED = threading.Event()  # Ctrl-C inside `interruptible`: no output is put in place after it


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
    and an existing `path` is left untouched; a temporary that a killed process left goes at the next write of
    `path` (`arlm.scratch`). After the rename the parent folder is fsynced too, so a crash leaves either the old
    file or the complete new one, never a renamed-but-empty file. A file never replaces a
    folder (that would delete the folder's contents): that is an `ArtifactError`.

    Args:
        path (str | os.PathLike): the file or folder to write.

    >>> with atomic_path("out/vocab.txt") as tmp:
    ...     tmp.write_text("[PAD]\\n")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch.remove_dead(path.parent, path.name, ".tmp")  # what a killed writer of `path` left
    fd, tmp = tempfile.mkstemp(prefix=scratch.prefix(path.name), suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    tmp.unlink()
    try:
        yield tmp
        old = None
        if path.is_dir() and not path.is_symlink() and not tmp.is_dir():
            raise ArtifactError(f"{path} is a folder: it cannot be replaced by a file (give a file name)")
        _fsync_tree(tmp)
        check_not_interrupted()
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
    if _RECORDING.is_set():
        _PLACED.append(Path(path))
    for callback in tuple(_AFTER_WRITE):
        callback(path)


@contextlib.contextmanager
def staged_dir(target):
    """Yield an empty staging folder beside `target`; on success it becomes `target`, as a whole.

    On success the staging folder is fsynced, the old `target` (if any) is renamed aside, the staging folder is
    renamed to `target` and only then is the old one removed. On any exception the staging folder is removed and
    `target` is left byte for byte as it was. The whole block holds `target`'s lock (`staging_beside`): a second
    writer of the same folder is refused while this one lives. A crash between the two renames leaves the old
    folder as ``.<name>.old-*`` beside `target`; the next `staged_dir(target)` puts it back before it starts. A
    `target` that is a symbolic link is resolved first: the folder it points to is replaced.

    Args:
        target (str | os.PathLike): the output folder; it is replaced, not merged into (see `check_out_dir`).

    >>> with staged_dir("out/pretraining") as staging:
    ...     (staging / "meta.json").write_text("{}")
    """
    target = resolve_link(target)
    if target.exists() and not target.is_dir():
        raise ArtifactError(f"{target} is a file: expected a folder")
    with staging_beside(target) as staging:
        yield staging
        _fsync_tree(staging)
        check_not_interrupted()
        old = None
        if target.exists():
            old = _new_folder(target.parent, f".{target.name}.old-")
            os.replace(target, old)  # an empty folder is replaced by a rename
        os.replace(staging, target)
        _fsync(target.parent)
        if old is not None:
            shutil.rmtree(old)
    _written(target)


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
    check_not_interrupted()
    moved = []
    for file in map(Path, files):
        _fsync_tree(file)
        os.replace(file, folder / file.name)
        moved.append(folder / file.name)
    _fsync(folder)
    for path in moved:
        _written(path)
    return moved


# --- one writer per output, and what a killed or interrupted writer leaves -----------------------------------------

_LOCKS = {}  # lock file -> the `filelock.FileLock` this process holds on it (entered again, never taken twice)


def resolve_link(path):
    """`path` as a `Path`, with a last component that is a symbolic link resolved: an output given as a link is
    written where the link points (renaming a staged result onto the link would replace the link itself)."""
    path = Path(path)
    return path.resolve() if path.is_symlink() else path


@contextlib.contextmanager
def locked(target):
    """Hold the lock of the output `target` (a folder or a file) for the block, as one writer at a time.

    The lock is ``.<name>.lock`` beside `target`, held with `filelock` (an ``flock``): the kernel releases it when
    the process ends, however it ends, so the lock of a killed writer is taken over by the next one. The file
    records the holder (its process id and since when) for the message a second writer gets, an `InUseError`
    "TARGET is in use by process N since T". The same process may enter the lock again (a command that stages a
    folder inside a locked run folder); the file is removed when the lock is released.

    Args:
        target (str | os.PathLike): the output.
    """
    import filelock

    target = Path(target)
    lock_path = target.parent / f".{target.name}.lock"
    key = os.path.abspath(lock_path)
    lock = _LOCKS.get(key)
    if lock is None:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = _LOCKS[key] = filelock.FileLock(lock_path, thread_local=False)
    first = not lock.is_locked
    try:
        lock.acquire(timeout=1)  # a second is enough to ride out a lock file that its holder just removed
    except filelock.Timeout:
        raise InUseError(f"{target} is in use by {_holder(lock_path)}: wait until it ends, or write elsewhere") \
            from None
    try:
        if first:
            lock_path.write_text(f"{os.getpid()} {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n", encoding="utf-8")
        yield target
    finally:
        if first:
            lock_path.unlink(missing_ok=True)  # while still held: a waiter on this inode retries on a new one
        lock.release()


def _holder(lock_path):
    try:
        pid, since = lock_path.read_text(encoding="utf-8").split(" ", 1)
        return f"process {int(pid)} since {since.strip()}"
    except (OSError, ValueError):  # just released, or not yet written by its new holder
        return "another process"


@contextlib.contextmanager
def staging_beside(target):
    """Lock `target` (`locked`), undo what killed writers left beside it, and yield a new empty staging folder
    ``.<name>.staging-*`` beside it (the same file system, so what is staged can be renamed into place). The
    folder is removed when the block ends; a full disk inside the block is a `DiskFullError` naming `target`'s
    folder and the bytes needed. `staged_dir` swaps the folder in; `arlm export` moves files out of it.

    Args:
        target (str | os.PathLike): the output folder or file.
    """
    target = Path(target).absolute()  # what it is given to (worker processes) does not depend on their folder
    with locked(target):
        _recover(target)
        staging = _new_folder(target.parent, f".{target.name}.staging-")
        try:
            with _reporting_full_disk(target, staging):
                yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _new_folder(parent, prefix):
    """A new empty folder ``<prefix><random>`` in `parent`, with the mode any new folder gets (``mkdtemp`` makes
    it private, and a staged folder keeps its mode when it becomes the output)."""
    while True:
        path = Path(parent) / f"{prefix}{secrets.token_hex(4)}"
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue


def _recover(target):
    """Undo what a killed writer of `target` left beside it (called under its lock, so no live writer's files):
    put an old folder moved aside back, and remove staging folders."""
    parent = target.parent
    olds = sorted(parent.glob(f".{target.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and not target.exists():
        os.replace(olds.pop(), target)
    for leftover in [*olds, *parent.glob(f".{target.name}.staging-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def interruptible(then_ignore=False):
    """For the block, Ctrl-C (SIGINT) raises `KeyboardInterrupt` as always and is also remembered: from then on
    no output is put in place (`atomic_path`, `staged_dir`, `move_into` raise `KeyboardInterrupt` instead), so an
    interrupt that a library swallows cannot end in a replaced result, and one that it turns into an error of its
    own still ends the block as `KeyboardInterrupt`. What `arlm.cli.main` runs a command in;
    the main thread only (elsewhere the block runs as it is). `placed()` lists what the block put in place.

    Args:
        then_ignore (bool): ignore Ctrl-C after the block instead of restoring the earlier handler: for a process
            that only exits afterwards, where a Ctrl-C during TensorFlow's seconds-long shutdown would otherwise
            end a finished command with a traceback or a signal's exit status.
    """
    import signal

    def on_interrupt(signum, frame):
        _INTERRUPTED.set()
        raise KeyboardInterrupt

    _INTERRUPTED.clear()
    _PLACED.clear()
    _RECORDING.set()
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_interrupt) if main else None
    try:
        yield
    except Exception as error:
        if _INTERRUPTED.is_set():  # a library that turned the Ctrl-C into an error of its own
            raise KeyboardInterrupt from error
        raise
    finally:
        if main:
            signal.signal(signal.SIGINT, signal.SIG_IGN if then_ignore else previous)
        _INTERRUPTED.clear()
        _RECORDING.clear()


def placed():
    """The outputs the running or last `interruptible` block put in place, in order (what an interrupted command
    had already finished)."""
    return list(_PLACED)


def check_not_interrupted():
    """Raise `KeyboardInterrupt` if Ctrl-C was pressed inside `interruptible`: what every swap of an output
    checks first."""
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt


def check_space(folder, needed, what):
    """Refuse, before writing, `what` (e.g. ``"model.keras"``) of about `needed` bytes in `folder` when its disk
    has less free: an ``OSError`` ENOSPC that `staging_beside` reports as a `DiskFullError`.

    Args:
        folder (str | os.PathLike): where it will be written.
        needed (int): its size in bytes.
        what (str): the file, for the message.
    """
    free = shutil.disk_usage(folder).free
    if needed > free:
        error = OSError(errno.ENOSPC, f"{what} needs about {_bytes(needed)}, {_bytes(free)} free", str(folder))
        error.needed = needed
        raise error


def no_space(error):
    """Whether `error` says that a disk is full (an ``OSError`` ENOSPC, or a library's message saying so)."""
    return isinstance(error, OSError) and error.errno == errno.ENOSPC or "No space left on device" in str(error)


@contextlib.contextmanager
def _reporting_full_disk(target, staging):
    try:
        yield
    except Exception as error:
        if not no_space(error):
            raise
        free, written = shutil.disk_usage(staging).free, folder_bytes(staging)
        needed = getattr(error, "needed", None)  # known when `check_space` refused the write beforehand
        if needed:
            said = f"about {_bytes(needed)} more are needed and {_bytes(free)} are free there"
        else:
            said = (f"it needs more than the {_bytes(free + written)} that were free there ({_bytes(written)} were "
                    "written when it filled)")
        raise DiskFullError(f"{target.parent}: no space left on the device for {target.name}: {said}; free some "
                            "space or write elsewhere") from None


def folder_bytes(folder):
    """The bytes of the files under `folder`."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def _bytes(count):
    return f"{count:,} bytes ({count / 2**20:.1f} MiB)"


def check_out_dir(target, owned, parameter="--out"):
    """Check that `target` can be replaced as a whole by a command that writes the files matching `owned`.

    Refused with a `ParameterError` naming `parameter`: an existing file; a folder holding anything that does not
    match one of the `owned` glob patterns (it would be lost); a place that cannot be created or written.

    Args:
        target (str | os.PathLike): the output folder.
        owned (tuple[str, ...]): glob patterns of the names the command writes, e.g. ``("shard-*.tfrecord",)``.
        parameter (str): the flag or argument named in the message.

    Returns the target as a `Path`, a symbolic link resolved (`resolve_link`).
    """
    target = resolve_link(target)
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
    """Write `obj` as indented UTF-8 JSON, atomically. A float that is not finite (pandas' NaN for an empty table
    cell) is written as ``null``: Python would write ``NaN``, which is not JSON and which strict readers reject."""
    text = json.dumps(_finite(obj), indent=2, ensure_ascii=False, default=_jsonable, allow_nan=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return Path(path)


def read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def file_sha256(path):
    """The SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _finite(value):
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy scalars and arrays
        return _finite(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _jsonable(value):
    # what `_finite` leaves: Paths
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
