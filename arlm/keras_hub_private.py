"""The private keras-hub API that arlm relies on, in one place (written against keras-hub 0.32).

keras-hub's preset machinery (find a preset's files, read its class, load a backbone or a task with or without
its head, write a backbone's files, list the presets a library ships) lives in `keras_hub.src.utils.preset_utils`,
which has no public name; the special tokens of a tokenizer subclass are declared with a protected method. arlm
uses them for what the public API cannot do: load and save inside `arlm.runtime.scope()` with errors that name
the file (`arlm.preset_format`), and register the packaged presets (`arlm.mobilebert.presets`). Everything else goes
through public names (``save_to_preset``, ``save_task_weights``, ``keras_hub.models.Task``, ...).

`tests/test_keras_hub_private.py` checks every name here against the installed keras-hub, so an upgrade that
changes one fails there, in one place, instead of deep inside a load.
"""

from keras_hub.src.utils import preset_utils as _preset_utils

CONFIG_FILE = _preset_utils.CONFIG_FILE  # "config.json": the backbone
TASK_CONFIG_FILE = _preset_utils.TASK_CONFIG_FILE  # "task.json": a task model's config
TASK_WEIGHTS_FILE = _preset_utils.TASK_WEIGHTS_FILE  # "task.weights.h5": the weights outside the backbone
METADATA_FILE = _preset_utils.METADATA_FILE  # "metadata.json"
PREPROCESSOR_CONFIG_FILE = _preset_utils.PREPROCESSOR_CONFIG_FILE  # "preprocessor.json"
TOKENIZER_CONFIG_FILE = _preset_utils.TOKENIZER_CONFIG_FILE  # "tokenizer.json"


def file_exists(preset, name):
    """Whether the preset (a folder, a handle or a registered name) has the file `name`."""
    return _preset_utils.check_file_exists(preset, name)


def get_file(preset, name):
    """The local path of the preset's file `name` (downloaded first for a handle)."""
    return _preset_utils.get_file(preset, name)


def load_json(preset, name):
    """The preset's JSON file `name`, parsed."""
    return _preset_utils.load_json(preset, name)


def registered_class(config):
    """The class a serialized Keras object (``{"registered_name": ...}``) names; a `ValueError` when none is
    registered."""
    return _preset_utils.check_config_class(config)


def backbone_class(preset):
    """The backbone class of the preset's ``config.json``."""
    return _preset_utils.get_preset_loader(preset).check_backbone_class()


def load_backbone(preset, cls, load_weights=True, **kwargs):
    """The preset's backbone as `cls` (``dtype`` and other constructor arguments in `kwargs`)."""
    return _preset_utils.get_preset_loader(preset).load_backbone(cls, load_weights, **kwargs)


def load_task(preset, cls, load_weights=True, load_task_weights=True, **kwargs):
    """A task model `cls` from the preset: its ``task.json`` when it holds that class, else the backbone with a
    new head built from `kwargs`; ``load_task_weights=False`` leaves the saved head out."""
    return _preset_utils.get_preset_loader(preset).load_task(cls, load_weights, load_task_weights, **kwargs)


def save_backbone(folder, backbone, max_shard_size=10):
    """Write the backbone's ``config.json``, weights and keras-hub's ``metadata.json`` into `folder`."""
    _preset_utils.get_preset_saver(str(folder)).save_backbone(backbone, max_shard_size=max_shard_size)


def register_presets(presets, backbone_cls):
    """Make each ``{name: {"metadata": ..., "kaggle_handle": folder}}`` of `presets` loadable by name by every
    keras-hub ``from_preset``, and listed in ``presets`` of `backbone_cls` and its tasks (as a library's own)."""
    _preset_utils.register_presets(presets, backbone_cls)


def add_special_token(tokenizer, token, attribute):
    """Declare `token` a special token of a keras-hub tokenizer subclass, readable as ``tokenizer.<attribute>``
    and ``<attribute>_id`` (what keras-hub's own model tokenizers do in their constructor)."""
    tokenizer._add_special_token(token, attribute)
