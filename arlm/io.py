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
* `save_model(model, path)` / `load_model(source)`: the one save/load path of every model of the book, as a
  ``.keras`` file or a keras-hub preset folder (`save_preset` / `load_preset`, behind every class's
  ``save_to_preset`` / ``from_preset``); `save_tokenizer` / `load_tokenizer` the same for the vocabulary; a preset
  records its files' digests (`write_digests`), checked on every load (`verify_preset`).
"""

import contextlib
import errno
import fnmatch
import hashlib
import importlib
import json
import math
import os
import secrets
import shutil
import tempfile
import threading
import time
import warnings
import zipfile
from pathlib import Path

from arlm import scratch
from arlm.errors import ArlmError, ArtifactError, DiskFullError, InUseError, ParameterError


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
_INTERRUPTED = threading.Event()  # Ctrl-C inside `interruptible`: no output is put in place after it


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
def interruptible():
    """For the block, Ctrl-C (SIGINT) raises `KeyboardInterrupt` as always and is also remembered: from then on
    no output is put in place (`atomic_path`, `staged_dir`, `move_into` raise `KeyboardInterrupt` instead), so an
    interrupt that a library swallows cannot end in a replaced result. What `arlm.cli.main` runs a command in;
    the main thread only (elsewhere the block runs as it is)."""
    import signal

    def on_interrupt(signum, frame):
        _INTERRUPTED.set()
        raise KeyboardInterrupt

    _INTERRUPTED.clear()
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_interrupt) if main else None
    try:
        yield
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
        _INTERRUPTED.clear()


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


# --- models: one save/load path for every model of the book ------------------------------------------------------

# the modules whose classes (`keras.saving.register_keras_serializable`) a saved model of this book holds: imported
# here, once, before anything is loaded
MODEL_MODULES = ("arlm.mobilebert", "arlm.optimizers")
# presets shipped inside the package: ``arlm/presets/<name>/`` loads as ``from_preset("<name>")``
PRESETS_DIR = Path(__file__).resolve().parent / "presets"
# what a preset folder holds (keras-hub's layout): an existing folder holding anything else is not replaced
PRESET_FILES = ("config.json", "metadata.json", "model.weights.h5", "model_*.weights.h5", "model.weights.json",
                "task.json", "task.weights.h5", "preprocessor.json", "tokenizer.json", "assets", "README.md")
VOCABULARY_FILE = "assets/tokenizer/vocabulary.txt"  # where keras-hub's WordPiece tokenizer keeps its vocabulary


def register_models():
    """Import every module that registers a class of this book's saved models (`MODEL_MODULES`)."""
    for module in MODEL_MODULES:
        importlib.import_module(module)


def save_model(model, path, tokenizer=None, metadata=None):
    """Save any model of this book atomically: a ``.keras`` file when `path` ends in ``.keras``, else a preset folder.

    A ``.keras`` file holds the whole model with its optimizer (Keras insists on the suffix, so the temporary name
    keeps it); a preset folder is keras-hub's (`save_preset`). Both load with `load_model`.

    Args:
        model (keras.Model): a backbone, or a task model with a ``backbone``.
        path (str | os.PathLike): ``*.keras``, or the preset folder.
        tokenizer (str | os.PathLike | arlm.tokenizer.WordPieceTokenizer | None): presets only: a vocabulary.
        metadata (dict | None): presets only: stored under ``"arlm"`` in ``metadata.json``.

    Returns the path.
    """
    path = Path(path)
    if path.suffix != ".keras":
        return save_preset(model, path, tokenizer=tokenizer, metadata=metadata)
    if tokenizer is not None or metadata is not None:
        raise ParameterError(f"{path}: a .keras file holds no tokenizer or metadata; save a preset folder instead")
    with atomic_path(path) as tmp:
        check_space(path.parent, model_bytes(model), path.name)
        staging = tmp.with_name(tmp.name + path.suffix)
        model.save(staging)
        staging.rename(tmp)
    return path


def model_bytes(model, optimizer=True):
    """About the bytes `model`'s weights (and its `optimizer`'s variables, as a ``.keras`` file holds them) take."""
    slots = getattr(getattr(model, "optimizer", None), "variables", None) if optimizer else None
    variables = [*model.weights, *(slots or ())]
    return sum(math.prod(v.shape) * (2 if "16" in str(v.dtype) else 8 if "64" in str(v.dtype) else 4)
               for v in variables)


def load_model(source, compile=True, expect=None, parameter="--model"):
    """Load any saved model of this book, inside `arlm.runtime.scope()` (a TF strategy places the variables).

    Args:
        source (str | os.PathLike): a ``.keras`` file, a preset folder (`save_model`, ``save_to_preset``), a
            keras-hub handle (``hf://user/model``, ``kaggle://user/model/keras/variant``) or the name of a preset
            packaged in ``arlm/presets/``.
        compile (bool): ``.keras`` files: compile the model with its saved optimizer (presets are not compiled).
        expect (type | tuple[type, ...] | None): the class(es) the model must be.
        parameter (str): the flag or argument named in error messages.

    Returns the model: for a preset, the task model of its ``task.json``, else its backbone. A missing, truncated or
    foreign file, an unreachable handle or a model of another class is an `ArtifactError` naming it.

    >>> teacher = load_model("runs/tiny/02_teacher/teacher.keras", compile=False)        # doctest: +SKIP
    >>> backbone = load_model("hf://someone/mberta-arabic")                             # doctest: +SKIP
    """
    text = os.fspath(source)
    if check_model_source(text, parameter) == "keras":
        model = _load_keras_file(text, compile, parameter)
    else:
        model = load_preset(text, parameter=parameter)
    if expect is not None and not isinstance(model, expect):
        wanted = " or ".join(c.__name__ for c in (expect if isinstance(expect, tuple) else (expect,)))
        raise ArtifactError(f"{text}: holds a {type(model).__name__}, expected a {wanted} ({parameter})")
    return model


def check_model_source(source, parameter="--model"):
    """Check, without loading anything, that `source` is something `load_model` reads; ``"keras"`` or ``"preset"``.

    A ``.keras`` file must be a complete archive (`check_keras_file`); a folder must hold a preset's
    ``config.json``; a handle (``scheme://...``) is only reached when loaded. Anything else is an `ArtifactError`
    naming `source` and `parameter`.

    Args:
        source (str | os.PathLike): what a user passed.
        parameter (str): the flag or argument named in the message.
    """
    text = os.fspath(source)
    if text.endswith(".keras") or Path(text).is_file():
        check_keras_file(text, parameter)
        return "keras"
    if is_preset(text):
        return "preset"
    from arlm.mobilebert.config import CONFIGS

    if text in CONFIGS:
        raise ArtifactError(f"{text!r} is one of the paper's configurations, not a saved model: "
                            f"MobileBertBackbone.from_config_name({text!r}) builds it with random weights "
                            f"({parameter})")
    packaged = ", ".join(packaged_presets()) or "none"
    what = "a folder without config.json (not a preset)" if Path(text).is_dir() else "no such file or folder"
    raise ArtifactError(f"{text!r}: {what}; expected a .keras file, a preset folder (save_to_preset), a keras-hub "
                        f"handle (hf://, kaggle://) or a packaged preset (packaged: {packaged}) ({parameter})")


def _load_keras_file(path, compile, parameter):
    import keras

    from arlm import runtime

    register_models()
    with runtime.scope(), _unreadable(path, parameter), _without_optimizer_state(not compile):
        return keras.saving.load_model(path, compile=compile, safe_mode=True)


@contextlib.contextmanager
def _without_optimizer_state(wanted=True):
    """Load a model without the optimizer's state it was saved with, quietly: a keras-hub text classifier compiles
    itself with keras-hub's defaults when built, and Keras would warn that the saved state does not fit that
    optimizer (a preset's ``task.weights.h5`` holds it too)."""
    with warnings.catch_warnings():
        if wanted:
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        yield


@contextlib.contextmanager
def _unreadable(source, parameter):
    """Turn what Keras, h5py and keras-hub raise for a bad or unreachable model into one `ArtifactError` line."""
    try:
        yield
    except ArlmError:
        raise
    except (OSError, ValueError, TypeError, KeyError, ImportError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ArtifactError(f"{source}: cannot load the model ({type(error).__name__}: {first}) ({parameter})") \
            from error


def packaged_presets():
    """``{name: metadata}`` of the presets packaged in ``arlm/presets/`` (each a folder with a ``config.json``);
    the metadata is the folder's ``metadata.json`` plus its ``path``."""
    found = {}
    for folder in sorted(PRESETS_DIR.iterdir()) if PRESETS_DIR.is_dir() else ():
        if (folder / "config.json").is_file():
            meta = folder / "metadata.json"
            found[folder.name] = {**(read_json(meta) if meta.is_file() else {}), "path": str(folder)}
    return found


def is_preset(source):
    """Whether `source` names a preset: a folder holding ``config.json``, a handle (``scheme://...``) or a packaged
    preset's name."""
    text = os.fspath(source)
    return "://" in text or (Path(text) / "config.json").is_file() or text in packaged_presets()


def _handle(preset):
    """What keras-hub resolves: a packaged preset's name becomes its folder; folders and handles stay."""
    text = os.fspath(preset)
    if "://" not in text and not Path(text).exists() and (PRESETS_DIR / text / "config.json").is_file():
        return str(PRESETS_DIR / text)
    return text


def load_preset(preset, cls=None, load_weights=True, parameter="preset", **kwargs):
    """Load a keras-hub preset inside `arlm.runtime.scope()`: what every class's ``from_preset`` calls.

    Args:
        preset (str | os.PathLike): a preset folder, a keras-hub handle or a packaged preset's name.
        cls (type | None): a backbone class (its ``config.json`` is loaded), a task class (``task.json`` when it
            holds that class, else the backbone with a new head built from `kwargs`), or None: what the preset
            holds (``task.json``, else the backbone).
        load_weights (bool): False: the saved configuration with random weights.
        parameter (str): the argument named in error messages.
        **kwargs: constructor arguments (``dtype``; a task's head, e.g. ``num_classes``: a head argument that is
            given, see ``head_arguments``, leaves the saved head out).
    """
    import keras_hub

    from arlm import keras_hub_private as hub
    from arlm import runtime

    register_models()
    text = os.fspath(preset)
    if check_model_source(text, parameter) != "preset":
        raise ArtifactError(f"{text}: a .keras file, not a preset folder: load it with arlm.io.load_model "
                            f"({parameter})")
    handle = _handle(text)
    verify_preset(text, parameter=parameter)
    with runtime.scope(), _unreadable(text, parameter), _without_optimizer_state():
        backbone_cls = hub.backbone_class(handle)
        if cls is None and hub.file_exists(handle, hub.TASK_CONFIG_FILE):
            cls = hub.registered_class(hub.load_json(handle, hub.TASK_CONFIG_FILE))
        cls = cls or backbone_cls
        if issubclass(cls, keras_hub.models.Backbone):
            if not issubclass(backbone_cls, cls):
                raise ArtifactError(f"{text}: holds a {backbone_cls.__name__}, not a {cls.__name__} ({parameter})")
            return hub.load_backbone(handle, backbone_cls, load_weights, **kwargs)
        load_task_weights = not set(kwargs) & set(getattr(cls, "head_arguments", ()))
        if getattr(cls, "preprocessor_cls", None) and not hub.file_exists(handle, hub.TOKENIZER_CONFIG_FILE):
            kwargs.setdefault("preprocessor", None)  # a preset without a tokenizer: the model takes encoded inputs
        return hub.load_task(handle, cls, load_weights, load_task_weights, **kwargs)


def save_preset(model, preset_dir, tokenizer=None, metadata=None, max_shard_size=10):
    """Write `model` as a keras-hub preset folder, atomically (built beside `preset_dir`, swapped in whole).

    The folder holds keras-hub's files: the backbone's ``config.json`` and ``model.weights.h5`` and
    ``metadata.json``; for a task model also ``task.json`` and ``task.weights.h5`` (the weights outside the
    backbone), and its preprocessor's ``preprocessor.json`` when it has one; with `tokenizer` (or the
    preprocessor's), the family's `arlm.mobilebert.MobileBertTokenizer` (``tokenizer.json``,
    ``assets/tokenizer/vocabulary.txt``; `load_tokenizer` reads it back). An existing `preset_dir` holding files
    that are not a preset's is refused (`check_out_dir`).

    Args:
        model (keras.Model): a `keras_hub.models.Backbone`, or a `keras_hub.models.Task` around one.
        preset_dir (str | os.PathLike): the folder.
        tokenizer (str | os.PathLike | arlm.tokenizer.WordPieceTokenizer | MobileBertTokenizer | None): the
            vocabulary to ship.
        metadata (dict | None): JSON-able facts (task, labels, ...) stored under ``"arlm"`` in ``metadata.json``.
        max_shard_size (float): GB per backbone weights file before keras-hub shards them.

    Returns the folder as a `Path`.
    """
    import keras
    import keras_hub

    from arlm import keras_hub_private as hub

    backbone = model if isinstance(model, keras_hub.models.Backbone) else getattr(model, "backbone", None)
    if not isinstance(backbone, keras_hub.models.Backbone):
        raise ParameterError(f"a {type(model).__name__} is neither a keras-hub Backbone nor a model with one: it "
                             "cannot be saved as a preset (save a .keras file)")
    preprocessor = getattr(model, "preprocessor", None)
    tokenizer_layer = _tokenizer_layer(tokenizer)
    target = check_out_dir(preset_dir, PRESET_FILES, parameter="preset_dir")
    with staged_dir(target) as staging:
        check_space(staging, model_bytes(model, optimizer=False), target.name)
        if backbone is not model:
            config = keras.saving.serialize_keras_object(model)
            for key in ("compile_config", "build_config"):  # as keras-hub's saver: an architecture, not a state
                _pop_recursively(config, key)
            (staging / hub.TASK_CONFIG_FILE).write_text(json.dumps(config, indent=4), encoding="utf-8")
            if model.has_task_weights():
                model.save_task_weights(str(staging / hub.TASK_WEIGHTS_FILE))
        hub.save_backbone(staging, backbone, max_shard_size=max_shard_size)
        if preprocessor is not None:
            preprocessor.save_to_preset(str(staging))  # preprocessor.json, and its tokenizer's files
        if tokenizer_layer is not None:  # after the preprocessor's: a tokenizer given explicitly is the one shipped
            tokenizer_layer.save_to_preset(str(staging))
        if metadata:
            meta_path = staging / hub.METADATA_FILE
            meta_path.write_text(json.dumps(_finite({**read_json(meta_path), "arlm": metadata}), indent=4,
                                            default=_jsonable, allow_nan=False), encoding="utf-8")
        write_digests(staging)
    return target


def write_digests(folder, names=None):
    """Record in the preset `folder`'s ``metadata.json`` (under ``"sha256"``) the SHA-256 of its files, which
    `verify_preset` checks on every load: a weights file with flipped bytes loads without a word from Keras and
    trains into NaN. ``metadata.json`` itself and the model card ``README.md`` are left out.

    Args:
        folder (str | os.PathLike): a preset folder holding ``metadata.json``.
        names (list[str] | None): only these files (paths inside the folder), the other digests kept; None: every
            file, and no digest of a file that is gone.
    """
    folder = Path(folder)
    meta_path = folder / "metadata.json"
    meta = read_json(meta_path)
    if names is None:
        names = [p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*"))
                 if p.is_file() and not p.name.startswith(".") and p.name not in ("metadata.json", "README.md")]
        meta["sha256"] = {}
    meta["sha256"] = {**meta.get("sha256", {}), **{name: file_sha256(folder / name) for name in names}}
    with atomic_path(meta_path) as tmp:
        tmp.write_text(json.dumps(meta, indent=4, ensure_ascii=False), encoding="utf-8")


def verify_preset(preset, names=None, parameter="preset"):
    """Check the files of a preset against the digests its ``metadata.json`` records (`write_digests`): a file
    that is missing or changed is an `ArtifactError` naming it. A preset saved without digests is not checked.

    Args:
        preset (str | os.PathLike): a preset folder, a keras-hub handle or a packaged preset's name.
        names (list[str] | None): only these files (those a digest is recorded for, by default).
        parameter (str): the argument named in the message.
    """
    meta_path = preset_file(preset, "metadata.json", parameter)
    digests = (read_json(meta_path).get("sha256") or {}) if meta_path is not None else {}
    for name in names or sorted(digests):
        if name not in digests:
            continue
        path = preset_file(preset, name, parameter)
        if path is None:
            raise ArtifactError(f"{preset}: {name} is missing (its metadata.json lists it); save or download the "
                                f"preset again ({parameter})")
        found = file_sha256(path)
        if found != digests[name]:
            raise ArtifactError(f"{path}: the file is corrupted (sha256 {found[:16]}..., its metadata.json records "
                                f"{digests[name][:16]}...); save or download the preset again ({parameter})")


def save_tokenizer(tokenizer, preset_dir):
    """Write a vocabulary into the preset folder `preset_dir` as the family's `MobileBertTokenizer`
    (``tokenizer.json``, ``assets/tokenizer/vocabulary.txt``): what ``WordPieceTokenizer.save_to_preset`` calls.
    The folder is created if missing; a model's files in it are kept. Both files are written in a staging folder
    beside it and renamed in, the vocabulary before the ``tokenizer.json`` that points to it.

    Args:
        tokenizer (str | os.PathLike | arlm.tokenizer.WordPieceTokenizer | MobileBertTokenizer): the vocabulary
            (checked first).
        preset_dir (str | os.PathLike): the folder.

    Returns the folder as a `Path`; `load_tokenizer` reads it back.
    """
    layer = _tokenizer_layer(tokenizer)
    target = Path(preset_dir)
    if target.exists() and not target.is_dir():
        raise ParameterError(f"{target}: a file, not a preset folder (parameter preset_dir)")
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tokenizer.", dir=target.parent))
    try:
        layer.save_to_preset(str(staging))
        (target / VOCABULARY_FILE).parent.mkdir(parents=True, exist_ok=True)
        move_into([staging / VOCABULARY_FILE], (target / VOCABULARY_FILE).parent)
        move_into([staging / "tokenizer.json"], target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if (target / "metadata.json").is_file():  # a model's preset: its digests cover the new files
        write_digests(target, [VOCABULARY_FILE, "tokenizer.json"])
    return target


def _tokenizer_layer(tokenizer):
    """The `MobileBertTokenizer` that a preset ships for `tokenizer` (a vocabulary file, checked, or an
    `arlm.tokenizer.WordPieceTokenizer`, or already one), or None."""
    if tokenizer is None:
        return None
    from arlm.mobilebert.tokenizer import MobileBertTokenizer
    from arlm.tokenizer import read_vocabulary

    if isinstance(tokenizer, MobileBertTokenizer):
        return tokenizer
    return MobileBertTokenizer(vocabulary=read_vocabulary(getattr(tokenizer, "vocab_path", tokenizer),
                                                          parameter="tokenizer"))


def _pop_recursively(config, key):
    config.pop(key, None)
    for value in config.values():
        if isinstance(value, dict):
            _pop_recursively(value, key)


def preset_file(preset, name, parameter="preset"):
    """The local path of file `name` of a preset (downloaded by keras-hub for a handle), or None without one.

    Args:
        preset (str | os.PathLike): a preset folder, a keras-hub handle or a packaged preset's name.
        name (str): the file's path inside the preset, e.g. ``"metadata.json"``.
        parameter (str): the argument named in error messages (an unreachable handle is an `ArtifactError`).
    """
    from arlm import keras_hub_private as hub

    with _unreadable(os.fspath(preset), parameter):
        handle = _handle(preset)
        return Path(hub.get_file(handle, name)) if hub.file_exists(handle, name) else None


def load_tokenizer(preset, parameter="preset"):
    """The `arlm.tokenizer.WordPieceTokenizer` of a preset saved with a tokenizer (`save_preset`, `save_tokenizer`):
    what ``WordPieceTokenizer.from_preset`` calls.

    Args:
        preset (str | os.PathLike): a preset folder, a keras-hub handle or a packaged preset's name.
        parameter (str): the argument named in error messages (a preset without a vocabulary is an `ArtifactError`).
    """
    from arlm.tokenizer import WordPieceTokenizer

    path = preset_file(preset, VOCABULARY_FILE, parameter)
    verify_preset(preset, [VOCABULARY_FILE, "tokenizer.json"], parameter)
    if path is None:
        raise ArtifactError(f"{preset}: the preset has no vocabulary ({VOCABULARY_FILE}); save it with "
                            f"save_to_preset(..., tokenizer=VOCAB) or pass a vocabulary ({parameter})")
    return WordPieceTokenizer(path)


def preset_metadata(preset, parameter="preset"):
    """What `save_preset` stored under ``"arlm"`` in a preset's ``metadata.json`` ({} when nothing)."""
    path = preset_file(preset, "metadata.json", parameter)
    return dict(read_json(path).get("arlm", {})) if path is not None else {}
