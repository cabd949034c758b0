"""The private keras-hub API arlm uses (`arlm.keras_hub_private`), checked against the installed keras-hub: a
keras-hub release that renames or changes any of it fails here."""

import inspect

import pytest
from helpers import tiny_config

from arlm import keras_hub_private as hub


def test_the_private_names_are_there_with_the_arguments_arlm_passes():
    from keras_hub.src.tokenizers.tokenizer import Tokenizer
    from keras_hub.src.utils import preset_utils

    expected = {"check_file_exists": ["preset", "path"], "get_file": ["preset", "path"],
                "load_json": ["preset", "config_file"], "check_config_class": ["config"],
                "get_preset_loader": ["preset"], "get_preset_saver": ["preset"],
                "register_presets": ["presets", "backbone_cls"]}
    for name, parameters in expected.items():
        assert list(inspect.signature(getattr(preset_utils, name)).parameters) == parameters, name
    loader = preset_utils.KerasPresetLoader
    assert list(inspect.signature(loader.load_backbone).parameters) == ["self", "cls", "load_weights", "kwargs"]
    assert list(inspect.signature(loader.load_task).parameters) == [
        "self", "cls", "load_weights", "load_task_weights", "kwargs"]
    saver = preset_utils.KerasPresetSaver
    assert list(inspect.signature(saver.save_backbone).parameters) == ["self", "backbone", "max_shard_size"]
    assert list(inspect.signature(Tokenizer._add_special_token).parameters) == ["self", "token", "name"]
    assert (hub.CONFIG_FILE, hub.TASK_CONFIG_FILE, hub.TASK_WEIGHTS_FILE, hub.METADATA_FILE,
            hub.PREPROCESSOR_CONFIG_FILE, hub.TOKENIZER_CONFIG_FILE) == (
        "config.json", "task.json", "task.weights.h5", "metadata.json", "preprocessor.json", "tokenizer.json")


@pytest.mark.backend
def test_each_adapter_function_does_what_arlm_relies_on(tmp_path, monkeypatch):
    import collections

    from keras_hub.src.utils import preset_utils

    from arlm.mobilebert import MobileBertBackbone, MobileBertTextClassifier, MobileBertTokenizer

    # keras-hub's registry of presets, restored after the test
    monkeypatch.setattr(preset_utils, "BUILTIN_PRESETS", dict(preset_utils.BUILTIN_PRESETS))
    monkeypatch.setattr(preset_utils, "BUILTIN_PRESETS_FOR_BACKBONE", collections.defaultdict(
        dict, {cls: dict(presets) for cls, presets in preset_utils.BUILTIN_PRESETS_FOR_BACKBONE.items()}))

    backbone = MobileBertBackbone.from_mobilebert_config(tiny_config("mberta"))
    folder = tmp_path / "preset"
    hub.save_backbone(folder, backbone)
    assert hub.file_exists(str(folder), hub.CONFIG_FILE) and not hub.file_exists(str(folder), hub.TASK_CONFIG_FILE)
    assert hub.get_file(str(folder), hub.METADATA_FILE) == str(folder / hub.METADATA_FILE)
    assert hub.registered_class(hub.load_json(str(folder), hub.CONFIG_FILE)) is MobileBertBackbone
    assert hub.backbone_class(str(folder)) is MobileBertBackbone
    assert hub.load_backbone(str(folder), MobileBertBackbone).config == backbone.config
    # a task built on the saved backbone with a new head, no preprocessor
    classifier = hub.load_task(str(folder), MobileBertTextClassifier, load_task_weights=False, num_classes=3,
                               preprocessor=None)
    assert classifier.num_classes == 3 and classifier.backbone.config == backbone.config
    # a registered name resolves to its folder for every keras-hub loader
    hub.register_presets({"arlm-private-api-test": {"metadata": {"description": "test"},
                                                    "kaggle_handle": str(folder)}}, MobileBertBackbone)
    assert "arlm-private-api-test" in MobileBertBackbone.presets
    assert hub.backbone_class("arlm-private-api-test") is MobileBertBackbone
    tokenizer = MobileBertTokenizer()  # special tokens declared before any vocabulary
    assert tokenizer.cls_token == "[CLS]" and tokenizer.cls_token_id is None
    tokenizer.set_vocabulary(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    assert (tokenizer.start_token_id, tokenizer.end_token_id, tokenizer.pad_token_id) == (2, 3, 0)
