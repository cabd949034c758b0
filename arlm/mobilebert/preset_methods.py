"""keras-hub's preset methods (`from_preset`, `save_to_preset`, `presets`) for every model class of the book.

They all go through `arlm.io` (`load_preset`, `save_preset`): the one save/load path, atomic, inside
`arlm.runtime.scope()`, with one registration of the classes.
"""

from keras_hub.src.utils.python_utils import classproperty


class PresetMethods:
    """Mixin of `MobileBertBackbone` and the task models (`arlm.models.task.PresetTask`)."""

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Load a saved model (keras-hub's meaning of ``from_preset``), inside `arlm.runtime.scope()`.

        A backbone class loads the backbone of any preset (of a backbone or of a task model). A task class loads
        the whole model when the preset holds that class (``task.json``); otherwise it loads the backbone and
        builds a new head from `kwargs` (e.g. ``MobileBertClassifier.from_preset(teacher, num_classes=3)``).

        Args:
            preset (str | os.PathLike): a folder written by `save_to_preset`, a keras-hub handle
                (``hf://user/model``, ``kaggle://user/model/keras/variant``), or the name of a preset packaged in
                ``arlm/presets/`` (`presets`).
            load_weights (bool): False builds the saved configuration with random weights.
            **kwargs: constructor arguments, e.g. ``dtype="mixed_bfloat16"``, or a task's head (``num_classes``:
                a head argument that is given leaves the saved head out).

        A preset that cannot be found, reached or read is an `arlm.errors.ArtifactError` naming it. The paper's
        configurations with random weights are `MobileBertBackbone.from_config_name`.
        """
        from arlm.io import load_preset

        return load_preset(preset, cls, load_weights=load_weights, **kwargs)

    def save_to_preset(self, preset_dir, tokenizer=None, metadata=None, max_shard_size=10):
        """Write this model as a keras-hub preset folder, atomically (`arlm.io.save_preset`); returns its path.

        Args:
            preset_dir (str | os.PathLike): the folder (new, or an earlier preset: it is replaced as a whole).
            tokenizer (str | os.PathLike | arlm.tokenizer.WordPieceTokenizer | None): a vocabulary to ship.
            metadata (dict | None): JSON-able facts (task, labels, ...) stored under ``"arlm"`` in ``metadata.json``.
            max_shard_size (float): GB per backbone weights file before keras-hub shards them.
        """
        from arlm.io import save_preset

        return save_preset(self, preset_dir, tokenizer=tokenizer, metadata=metadata, max_shard_size=max_shard_size)

    @classproperty
    def presets(cls):
        """The presets packaged with arlm (``arlm/presets/<name>/``), ``{name: metadata}``."""
        from arlm.io import packaged_presets

        return packaged_presets()
