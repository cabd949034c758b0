"""One save/load path for every model of the book, above the family (`arlm.preset_format` below it).

* `save_model(model, path)` / `load_model(source)`: a ``.keras`` file or a keras-hub preset folder; the modules
  whose classes a saved model holds are imported first (`register_models`);
* `save_tokenizer` / `load_tokenizer`: a vocabulary in a preset folder, as the family's `MobileBertTokenizer`.
"""

import importlib
import os
import shutil
import tempfile
from pathlib import Path

from arlm.errors import ArtifactError, ParameterError
from arlm.files import atomic_path, check_space, move_into
from arlm.preset_format import (
    VOCABULARY_FILE,
    _tokenizer_layer,
    _unreadable,
    _without_optimizer_state,
    check_model_source,
    load_preset,
    model_bytes,
    preset_file,
    save_preset,
    verify_preset,
    write_digests,
)

# the modules whose classes (`keras.saving.register_keras_serializable`) a saved model of this book holds: imported
# here, once, before anything is loaded
MODEL_MODULES = ("arlm.mobilebert", "arlm.optimizers")


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


def _load_keras_file(path, compile, parameter):
    import keras

    from arlm import runtime

    register_models()
    with runtime.scope(), _unreadable(path, parameter), _without_optimizer_state(not compile):
        return keras.saving.load_model(path, compile=compile, safe_mode=True)


def save_tokenizer(tokenizer, preset_dir):
    """Write a vocabulary into the preset folder `preset_dir` as the family's `MobileBertTokenizer`
    (``tokenizer.json``, ``assets/tokenizer/vocabulary.txt``). The folder is created if missing; a model's files
    in it are kept. Both files are written in a staging folder beside it and renamed in, the vocabulary before
    the ``tokenizer.json`` that points to it.

    Args:
        tokenizer (str | os.PathLike | arlm.tokenizer.WordPieceTokenizer | MobileBertTokenizer): the vocabulary
            (checked first).
        preset_dir (str | os.PathLike): the folder.

    Returns the folder as a `Path`; `load_tokenizer` reads it back.
    """
    register_models()
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


def load_tokenizer(preset, parameter="preset"):
    """The `arlm.tokenizer.WordPieceTokenizer` of a preset saved with a tokenizer (`save_preset`, `save_tokenizer`).

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
