"""The saved presets packaged with arlm, registered with keras-hub as a library's own presets are.

A packaged preset is a folder ``arlm/presets/<name>/`` written by ``save_to_preset`` (`arlm.preset_format.PRESETS_DIR`;
the cpu edition writes ``iberta-cpu-edition`` and ``mberta-cpu-edition``). `backbone_presets` describes them in
keras-hub's format (``{name: {"metadata": ..., "kaggle_handle": folder}}``, as ``bert_presets.py`` does for BERT), and
`register` hands them to keras-hub, so that every ``from_preset`` loads them by name (this family's classes and
keras-hub's own, e.g. ``keras_hub.models.TextClassifier.from_preset("mberta-cpu-edition", num_classes=2)``) and
``MobileBertBackbone.presets`` lists them. These are trained weights, unlike the paper's configurations
(`arlm.mobilebert.config.CONFIGS`), which are architectures.
"""

from arlm.preset_format import packaged_presets


def backbone_presets():
    """``{name: {"metadata": {...}, "kaggle_handle": folder}}`` of the presets packaged in ``arlm/presets/``."""
    presets = {}
    for name, metadata in packaged_presets().items():
        facts = metadata.get("arlm", {})
        presets[name] = {"metadata": {"description": facts.get("description", name),
                                      "params": metadata.get("parameter_count"), "path": "mobilebert"},
                         "kaggle_handle": metadata["path"]}
    return presets


def register():
    """Register `backbone_presets` with keras-hub for `MobileBertBackbone` (done by ``import arlm.mobilebert``)."""
    from arlm.keras_hub_private import register_presets
    from arlm.mobilebert.backbone import MobileBertBackbone

    register_presets(backbone_presets(), MobileBertBackbone)
