"""keras-hub's preset methods (`from_preset`, `save_to_preset`) on every model class of the family, through
`arlm.preset_format`.

keras-hub's own versions load outside any distribution scope, raise whatever keras-hub, h5py or the network raised, and
know only ``num_classes`` as an argument that replaces a saved head; these go through `arlm.preset_format.load_preset`
and `arlm.preset_format.save_preset`: the one save/load path, atomic, inside `arlm.runtime.scope()`, errors that name
the preset. The presets packaged with arlm are listed by keras-hub's ``presets`` (`arlm.mobilebert.presets`).
"""


class PresetMethods:
    """Mixin of `MobileBertBackbone` and the task models, before keras-hub's class in the bases.

    Class attribute ``head_arguments`` (task models): constructor arguments that change the head's weights; given to
    `from_preset`, the saved head is not loaded and a new one is initialised (keras-hub does so for
    ``num_classes``).
    """

    head_arguments = ()

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Load a saved model (keras-hub's meaning of ``from_preset``), inside `arlm.runtime.scope()`.

        A backbone class loads the backbone of any preset (of a backbone or of a task model). A task class loads
        the whole model when the preset holds that class (``task.json``); otherwise it loads the backbone and
        builds a new head from `kwargs` (e.g. ``MobileBertTextClassifier.from_preset(teacher, num_classes=3)``),
        with the preset's tokenizer in a preprocessor where the class has one.

        Args:
            preset (str | os.PathLike): a folder written by `save_to_preset`, a keras-hub handle
                (``hf://user/model``, ``kaggle://user/model/keras/variant``), or the name of a preset packaged with
                arlm (``presets``).
            load_weights (bool): False builds the saved configuration with random weights.
            **kwargs: constructor arguments, e.g. ``dtype="mixed_bfloat16"``, or a task's head (``num_classes``:
                a head argument that is given leaves the saved head out).

        A preset that cannot be found, reached or read is an `arlm.errors.ArtifactError` naming it. The paper's
        configurations with random weights are `MobileBertBackbone.from_config_name`.
        """
        from arlm.preset_format import load_preset

        return load_preset(preset, cls, load_weights=load_weights, **kwargs)

    def save_to_preset(self, preset_dir, tokenizer=None, metadata=None, max_shard_size=10):
        """Write this model as a keras-hub preset folder, atomically (`arlm.preset_format.save_preset`); returns
        its path.

        Args:
            preset_dir (str | os.PathLike): the folder (new, or an earlier preset: it is replaced as a whole).
            tokenizer (str | os.PathLike | arlm.tokenizer.WordPieceTokenizer | MobileBertTokenizer | None): a
                vocabulary to ship (a task model with a preprocessor ships its tokenizer anyway).
            metadata (dict | None): JSON-able facts (task, labels, ...) stored under ``"arlm"`` in ``metadata.json``.
            max_shard_size (float): GB per backbone weights file before keras-hub shards them.
        """
        from arlm.preset_format import save_preset

        return save_preset(self, preset_dir, tokenizer=tokenizer, metadata=metadata, max_shard_size=max_shard_size)
