"""The MobileBERT family: config and presets, backbone, heads, pretraining and classification models.

Loaded lazily, so that `arlm.models.config` (and `arlm params`) work without importing Keras.
"""

import importlib

_LAZY = {
    "MobileBertBackbone": "backbone",
    "MobileBertClassifier": "classifier",
    "MobileBertConfig": "config", "PRESETS": "config", "DESCRIPTIONS": "config", "get_preset": "config",
    "preset_at_scale": "config",
    "MaskedLMHead": "heads", "gather_positions": "heads", "nsp_head": "heads",
    "MobileBertPretrainer": "pretraining",
}

__all__ = [*sorted(_LAZY), "load_model", "register_all"]


def register_all():
    """Import every module that registers a serializable class, so `.keras` files of this book load."""
    for module in sorted(set(_LAZY.values())):
        importlib.import_module(f"arlm.models.{module}")
    importlib.import_module("arlm.optimizers")


def load_model(path, safe_mode=True, **kwargs):
    """`keras.saving.load_model` after `register_all` (e.g. chapter 2's ``teacher.keras``), inside the current
    runtime's scope (a TF strategy places the variables)."""
    import keras

    from arlm import runtime

    register_all()
    with runtime.scope():
        return keras.saving.load_model(path, safe_mode=safe_mode, **kwargs)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f"arlm.models.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'arlm.models' has no attribute {name!r}")
