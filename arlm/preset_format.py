"""The preset format: keras-hub's folder layout with the digests of its files, below the model family.

* `save_preset(model, folder)` / `load_preset(preset, cls)`: what every class's ``save_to_preset`` /
  ``from_preset`` calls (`arlm.mobilebert.preset_methods`): a folder written atomically, loaded inside
  `arlm.runtime.scope()`, bad or unreachable files as one `ArtifactError` line;
* `write_digests` / `verify_preset`: a preset records its files' SHA-256, checked on every load;
* `packaged_presets` (``arlm/presets/<name>/``), `preset_file`, `preset_metadata`, `check_model_source`.

The family's classes are found through Keras' registry, never imported here: `arlm.saving` (above the family)
is the save/load path of any model of the book.
"""

import contextlib
import json
import math
import os
import warnings
from pathlib import Path

from arlm.errors import ArlmError, ArtifactError, ParameterError
from arlm.files import (
    _finite,
    _jsonable,
    atomic_path,
    check_keras_file,
    check_out_dir,
    check_space,
    file_sha256,
    read_json,
    staged_dir,
)

# presets shipped inside the package: ``arlm/presets/<name>/`` loads as ``from_preset("<name>")``
PRESETS_DIR = Path(__file__).resolve().parent / "presets"
# what a preset folder holds (keras-hub's layout): an existing folder holding anything else is not replaced
PRESET_FILES = ("config.json", "metadata.json", "model.weights.h5", "model_*.weights.h5", "model.weights.json",
                "task.json", "task.weights.h5", "preprocessor.json", "tokenizer.json", "assets", "README.md")
VOCABULARY_FILE = "assets/tokenizer/vocabulary.txt"  # where keras-hub's WordPiece tokenizer keeps its vocabulary


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


def model_bytes(model, optimizer=True):
    """About the bytes `model`'s weights (and its `optimizer`'s variables, as a ``.keras`` file holds them) take."""
    slots = getattr(getattr(model, "optimizer", None), "variables", None) if optimizer else None
    variables = [*model.weights, *(slots or ())]
    return sum(math.prod(v.shape) * (2 if "16" in str(v.dtype) else 8 if "64" in str(v.dtype) else 4)
               for v in variables)


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

    text = os.fspath(preset)
    if check_model_source(text, parameter) != "preset":
        raise ArtifactError(f"{text}: a .keras file, not a preset folder: load it with arlm.saving.load_model "
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


def _tokenizer_layer(tokenizer):
    """The `MobileBertTokenizer` that a preset ships for `tokenizer` (a vocabulary file, checked, or an
    `arlm.tokenizer.WordPieceTokenizer`, or already one), or None. The family registers the class with Keras when
    it is imported (a model being saved is one of it; `arlm.saving` imports it), so this module does not import
    the family that imports it."""
    if tokenizer is None:
        return None
    import keras

    from arlm.tokenizer import read_vocabulary

    family = keras.saving.get_registered_object("arlm>MobileBertTokenizer")
    if family is None:
        raise ParameterError("the MobileBERT family is not imported: import arlm.mobilebert before saving a "
                             "tokenizer into a preset")
    if isinstance(tokenizer, family):
        return tokenizer
    return family(vocabulary=read_vocabulary(getattr(tokenizer, "vocab_path", tokenizer), parameter="tokenizer"))


def _pop_recursively(config, key):
    config.pop(key, None)
    for value in config.values():
        if isinstance(value, dict):
            _pop_recursively(value, key)


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


def preset_metadata(preset, parameter="preset"):
    """What `save_preset` stored under ``"arlm"`` in a preset's ``metadata.json`` ({} when nothing)."""
    path = preset_file(preset, "metadata.json", parameter)
    return dict(read_json(path).get("arlm", {})) if path is not None else {}


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
