import pytest

from arlm import scales
from arlm.errors import ParameterError


def test_every_scale_has_the_same_keys_and_types():
    reference = scales.SCALES["tiny"]
    for name, values in scales.SCALES.items():
        assert values.keys() == reference.keys(), name
        for key, value in values.items():
            if key == "mixed_precision":
                coerced = scales.coerce(key, value)
                assert value in ("auto", True, False) and coerced == value and type(coerced) is type(value), name
            else:
                assert type(value) is type(reference[key]), (name, key)


@pytest.mark.parametrize(("given", "expected"), [("auto", "auto"), ("AUTO", "auto"), ("true", True), ("False", False),
                                                 (True, True), (False, False)])
def test_mixed_precision_is_auto_true_or_false_from_the_command_line_or_papermill(given, expected):
    value = scales.resolve("tiny", mixed_precision=given).mixed_precision
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("given", ["yes", 1, 0.5, None])
def test_mixed_precision_rejects_anything_else_naming_the_choices(given):
    with pytest.raises(ParameterError, match=r"'mixed_precision' must be one of auto, true, false, got"):
        scales.resolve("tiny", mixed_precision=given)


def test_tiny_trains_in_float32_and_the_other_scales_choose():
    # tiny: CI's numbers must not depend on the CPU; cpu: bfloat16 where the CPU has bfloat16 units (issue 28)
    assert scales.SCALES["tiny"]["mixed_precision"] is False
    assert {scales.SCALES[name]["mixed_precision"] for name in ("cpu", "gpu", "full")} == {"auto"}


def test_scales_grow_from_tiny_to_full():
    for key in ("teacher_steps", "distill_steps", "vocab_size", "max_seq_length", "num_layers"):
        sizes = [scales.SCALES[name][key] for name in scales.SCALE_NAMES]
        assert sizes == sorted(sizes), key
    full = scales.SCALES["full"]
    # the paper's settings (spec sections 3.1 and 4)
    assert (full["vocab_size"], full["max_seq_length"], full["batch_size"]) == (50000, 512, 256)
    assert full["teacher_steps"] == 2_000_000
    assert (full["max_predictions_per_seq"], full["dupe_factor"], full["num_layers"]) == (20, 5, 24)


def test_resolve_applies_and_coerces_overrides():
    cfg = scales.resolve("cpu", teacher_steps="250", teacher_learning_rate=1, jit_compile="false")
    assert (cfg.name, cfg.teacher_steps, cfg.teacher_learning_rate, cfg.jit_compile) == ("cpu", 250, 1.0, False)
    assert cfg.vocab_size == scales.SCALES["cpu"]["vocab_size"]
    assert cfg.as_dict()["scale"] == "cpu"


def test_unknown_scale_lists_the_valid_ones():
    with pytest.raises(ParameterError, match="unknown scale 'huge'.*tiny, cpu, gpu, full"):
        scales.resolve("huge")


def test_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(ParameterError, match="unknown parameter 'teacher_stepz'.*teacher_steps"):
        scales.resolve("tiny", teacher_stepz=3)
    with pytest.raises(AttributeError, match="valid parameters are"):
        _ = scales.resolve("tiny").no_such_key


def test_wrong_type_is_an_error_naming_the_parameter():
    with pytest.raises(ParameterError, match="'teacher_steps' expects a int, got 'many'"):
        scales.resolve("tiny", teacher_steps="many")
    with pytest.raises(ParameterError, match="'batch_size' expects a int"):
        scales.resolve("tiny", batch_size=2.5)


def test_ranges_are_checked_with_the_key_named():
    with pytest.raises(ParameterError, match="'checkpoint_every' must be at least 1, got 0"):
        scales.resolve("tiny", checkpoint_every=0)
    with pytest.raises(ParameterError, match="'finetune_batch_size' must be at least 1, got -2"):
        scales.resolve("tiny", finetune_batch_size="-2")
    with pytest.raises(ParameterError, match="'teacher_learning_rate' must be greater than 0"):
        scales.resolve("tiny", teacher_learning_rate=0)
    with pytest.raises(ParameterError, match="'masked_lm_prob' must be between 0.0 and 1.0, got 1.5"):
        scales.coerce("masked_lm_prob", "1.5")
    with pytest.raises(ParameterError, match="'short_seq_prob' must be a finite number"):
        scales.coerce("short_seq_prob", "NaN")
    assert scales.resolve("tiny", warmup_steps=0, finetune_max_train_examples=0).warmup_steps == 0


def test_every_preset_is_within_its_own_ranges():
    for name, values in scales.SCALES.items():
        assert scales.resolve(name, **values).as_dict() == {"scale": name, **values}


def test_gradient_accumulation_splits_the_batch_into_micro_batches():
    cfg = scales.resolve("full", gradient_accumulation_steps=8, finetune_gradient_accumulation_steps=2)
    assert scales.micro_batch_size(cfg) == 32 and scales.micro_batch_size(cfg, "finetune_batch_size") == 16
    assert scales.micro_batch_size(scales.resolve("tiny")) == scales.SCALES["tiny"]["batch_size"]
    with pytest.raises(ParameterError, match="'gradient_accumulation_steps' must be a positive divisor of batch_size"):
        scales.resolve("full", gradient_accumulation_steps=3)
    with pytest.raises(ParameterError, match="'finetune_gradient_accumulation_steps' must be a positive divisor"):
        scales.resolve("tiny", finetune_gradient_accumulation_steps=0)
    assert scales.resolve("tiny", remat="true").remat is True
