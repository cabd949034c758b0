"""The MobileBERT family: config and the paper's configurations, backbone, heads, pretraining and classification.

Loaded lazily, so that `arlm.models.config` (and `arlm params`) work without importing Keras. Saved models of
any kind load through `arlm.io.load_model`; the classes' own `from_preset` / `save_to_preset` use the same code.
"""

import importlib

_LAZY = {
    "MobileBertBackbone": "backbone",
    "MobileBertClassifier": "classifier",
    "MobileBertConfig": "config", "PRESETS": "config", "DESCRIPTIONS": "config", "get_preset": "config",
    "preset_at_scale": "config",
    "MaskedLMHead": "heads", "gather_positions": "heads", "nsp_head": "heads",
    "MobileBertPretrainer": "pretraining",
    "PresetTask": "task",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f"arlm.models.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'arlm.models' has no attribute {name!r}")
