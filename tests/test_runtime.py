import os
import subprocess
import sys

import pytest

from arlm import runtime
from arlm.errors import ParameterError


@pytest.mark.parametrize(
    ("backend", "devices", "mixed", "expected"),
    [
        ("jax", {"tpu": 8, "cpu": 96}, True, ("tpu", 8, "DataParallel", "mixed_bfloat16")),
        ("tensorflow", {"tpu": 8}, True, ("tpu", 8, "TPUStrategy", "mixed_bfloat16")),
        ("jax", {"gpu": 4}, True, ("gpu", 4, "DataParallel", "mixed_bfloat16")),
        ("tensorflow", {"gpu": 2}, False, ("gpu", 2, "MirroredStrategy", "float32")),
        ("tensorflow", {"gpu": 1}, True, ("gpu", 1, "none", "mixed_bfloat16")),
        ("tensorflow", {"gpu": 0, "cpu": 2}, False, ("cpu", 2, "none", "float32")),
        ("jax", {"cpu": 2}, True, ("cpu", 2, "none", "mixed_bfloat16")),
    ],
)
def test_plan(backend, devices, mixed, expected):
    p = runtime.plan(backend, devices, mixed)
    assert (p.device, p.count, p.distribution, p.policy) == expected


AMD_ZEN4 = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n"
XEON_AMX = "flags\t\t: fpu avx512f avx512_vnni amx_bf16 amx_tile amx_int8\n"
LAPTOP = "flags\t\t: fpu sse4_2 avx2 fma\n"


def test_cpu_bfloat16_flags_are_read_from_cpuinfo():
    assert runtime.cpu_bfloat16_flags(AMD_ZEN4) == ("avx512_bf16",)
    assert runtime.cpu_bfloat16_flags(XEON_AMX) == ("amx_bf16", "amx_tile")
    assert runtime.cpu_bfloat16_flags(LAPTOP) == ()
    assert runtime.cpu_bfloat16_flags("") == ()  # no flags line (another OS)


@pytest.mark.parametrize(
    ("backend", "devices", "mixed", "cpuinfo", "policy"),
    [
        ("tensorflow", {"cpu": 2}, "auto", AMD_ZEN4, "mixed_bfloat16"),
        ("tensorflow", {"cpu": 2}, "auto", XEON_AMX, "mixed_bfloat16"),
        ("tensorflow", {"cpu": 2}, "auto", LAPTOP, "float32"),
        ("tensorflow", {"cpu": 2}, True, LAPTOP, "mixed_bfloat16"),  # forced: emulated, slower, but asked for
        ("tensorflow", {"cpu": 2}, False, AMD_ZEN4, "float32"),
        # XLA's CPU compiler (all of JAX) does not use the bfloat16 units: no gain to be had there
        ("jax", {"cpu": 2}, "auto", AMD_ZEN4, "float32"),
        ("jax", {"cpu": 2}, True, AMD_ZEN4, "mixed_bfloat16"),
        # accelerators: "auto" is mixed precision, as True always was, whatever the host CPU
        ("jax", {"tpu": 8, "cpu": 96}, "auto", LAPTOP, "mixed_bfloat16"),
        ("tensorflow", {"gpu": 1}, "auto", LAPTOP, "mixed_bfloat16"),
    ],
)
def test_precision_choice(backend, devices, mixed, cpuinfo, policy):
    flags = runtime.cpu_bfloat16_flags(cpuinfo)
    assert runtime.plan(backend, devices, mixed, cpu_bf16_flags=flags).policy == policy


@pytest.mark.parametrize("given", ["yes", "true", 1, None])
def test_precision_must_be_auto_true_or_false(given):
    with pytest.raises(ParameterError, match="'mixed_precision' must be one of auto, true, false, got"):
        runtime.plan("tensorflow", {"cpu": 1}, given)


def test_the_runtime_says_why_a_cpu_got_its_precision():
    def described(mixed, flags, backend="tensorflow"):
        p = runtime.plan(backend, {"cpu": 2}, mixed, cpu_bf16_flags=flags)
        return runtime.Runtime(p, precision={"mixed_precision": mixed, "cpu_bfloat16_flags": list(flags)}).describe()

    xla = "XLA off: its CPU compiler does not use bfloat16 units"
    assert described("auto", ("avx512_bf16",)).endswith(
        f"dtype policy mixed_bfloat16 (auto: the CPU has avx512_bf16; {xla})")
    assert described(True, ()).endswith(f"dtype policy mixed_bfloat16 ({xla})")
    assert described("auto", ()).endswith("dtype policy float32 (auto: the CPU has no bfloat16 units)")
    assert "XLA's CPU compiler" in described("auto", ("amx_tile",), "jax")
    assert described(False, ("avx512_bf16",)).endswith("dtype policy float32")


def test_xla_is_off_for_bfloat16_on_a_tensorflow_cpu():
    def jit(backend, devices, mixed):
        return runtime.Runtime(runtime.plan(backend, devices, mixed)).jit_compile(True)

    assert not jit("tensorflow", {"cpu": 2}, True)  # oneDNN's bfloat16 kernels instead
    assert jit("tensorflow", {"cpu": 2}, False)
    assert jit("tensorflow", {"gpu": 1}, True)
    assert jit("jax", {"cpu": 2}, True)  # JAX has no other compiler


def test_old_gpus_get_float16_with_loss_scaling():
    assert runtime.plan("tensorflow", {"gpu": 1}, True, gpu_supports_bf16=False).policy == "mixed_float16"


def test_unknown_backend():
    with pytest.raises(ParameterError, match="'torch'.*tensorflow, jax"):
        runtime.plan("torch", {"cpu": 1})


def test_tpu_defaults_the_backend_to_jax(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    assert runtime.tpu_present()
    assert runtime.choose_backend() == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")  # an explicit choice wins
    assert runtime.choose_backend() == "tensorflow"


def test_setup_on_this_machine_seeds_and_sets_the_policy():
    import keras
    import numpy as np

    from arlm.scales import resolve

    rt = runtime.setup(resolve("tiny"), verbose=False)
    assert rt.plan.device in ("cpu", "gpu") and rt.plan.policy == "float32"
    first = np.random.rand()
    runtime.seed_everything(12345)
    assert np.random.rand() == first
    assert keras.mixed_precision.dtype_policy().name == "float32"
    with rt.scope():
        pass


@pytest.mark.parametrize(("setting", "on"), [(None, True), ("0", False)])
def test_importing_arlm_turns_on_tensorflows_onednn_kernels_unless_told_not_to(setting, on):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}  # TF logs "oneDNN custom operations are on" at INFO
    env.pop("TF_ENABLE_ONEDNN_OPTS", None)
    if setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = setting
    code = "import os, arlm, tensorflow; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["0" if setting == "0" else "1"]
    assert ("oneDNN custom operations are on" in run.stderr) == on


def test_setup_records_the_precision_in_every_results_file(tmp_path):
    from arlm import artifacts
    from arlm.scales import resolve

    try:
        rt = runtime.setup(resolve("tiny", mixed_precision="auto"), verbose=False)
        artifacts.Chapter("02_teacher", "tiny", tmp_path).write_results({})
    finally:
        runtime.setup(resolve("tiny"), verbose=False)  # float32 again for the tests that follow
    flags = list(runtime.cpu_bfloat16_flags())
    expected = "mixed_bfloat16" if flags and rt.plan.backend == "tensorflow" else "float32"  # "auto" here
    assert rt.plan.policy == expected
    precision = artifacts.read_json(tmp_path / "02_teacher" / "results.json")["environment"]["precision"]
    assert precision == {"policy": expected, "mixed_precision": "auto", "cpu_bfloat16_flags": flags}


@pytest.mark.backend
def test_bfloat16_training_keeps_state_losses_and_softmax_in_float32(monkeypatch):
    """Every stage's model under ``mixed_bfloat16``: float32 variables, gradients into LAMB's update (hence its
    moments and trust-ratio norms), optimizer variables, losses and attention logits (the softmax's input)."""
    import keras
    import numpy as np
    from distillation_helpers import batches, tiny_pretrainer

    from arlm import optimizers
    from arlm.distillation.pretraining_distiller import PretrainingDistiller
    from arlm.distillation.transfer import ProgressiveKnowledgeTransfer
    from arlm.mobilebert import MobileBertTextClassifier

    dtype = keras.backend.standardize_dtype
    reached = set()  # (gradient, variable) dtypes reaching the update
    update = optimizers.Lamb.update_step

    def spy(self, gradient, variable, learning_rate):
        reached.add((dtype(gradient.dtype), dtype(variable.dtype)))
        return update(self, gradient, variable, learning_rate)

    monkeypatch.setattr(optimizers.Lamb, "update_step", spy)
    x, y = batches(1)
    inputs = {k: x[k] for k in ("token_ids", "segment_ids", "padding_mask")}
    with runtime.dtype_policy("mixed_bfloat16"):
        teacher, student = tiny_pretrainer("teacher", 1), tiny_pretrainer("student", 2)
        stages = {  # built in turn: a distillation model freezes the teacher
            "teacher": lambda: (teacher, x, y, None),
            "knowledge transfer": lambda: (ProgressiveKnowledgeTransfer(teacher, student, 1), x, y, None),
            "distillation": lambda: (PretrainingDistiller(teacher, student), x, y, None),
            "fine-tuning": lambda: (MobileBertTextClassifier(student.backbone, num_classes=2), inputs,
                                    y["next_sentence_labels"], keras.losses.SparseCategoricalCrossentropy(True))}
        for name, build in stages.items():
            model, features, targets, loss = build()
            model.compile(optimizer=optimizers.make_optimizer("lamb", 1e-3, total_steps=2), loss=loss,
                          run_eagerly=True)
            value = model.compute_loss(features, targets, model(features), training=False)
            assert dtype(value.dtype) == "float32" and np.isfinite(keras.ops.convert_to_numpy(value)), name
            keras.Model.train_on_batch(model, features, targets)  # Keras' own: no preprocessor to run here
            for variable in [*model.weights, *model.optimizer.variables]:
                if "float" in str(variable.dtype):
                    assert dtype(variable.dtype) == "float32", (name, variable.path)
    assert reached == {("float32", "float32")}
    outputs = student.backbone(inputs)
    assert dtype(outputs["sequence_output"].dtype) == "bfloat16"  # the model does compute in bfloat16
    assert all(dtype(logits.dtype) == "float32" for logits in outputs["attention_logits"])


@pytest.mark.backend
def test_a_bfloat16_trained_model_is_exported_and_fine_tuned_in_float32(tmp_path):
    import keras
    import numpy as np
    from helpers import tiny_config, tiny_inputs

    from arlm.mobilebert import MobileBertBackbone, MobileBertTextClassifier
    from arlm.saving import load_model, save_model

    with runtime.dtype_policy("mixed_bfloat16"):
        backbone = MobileBertBackbone.from_mobilebert_config(tiny_config("mberta"))
        model = MobileBertTextClassifier(backbone, num_classes=3)
        save_model(model, tmp_path / "model.keras")
    loaded = load_model(tmp_path / "model.keras", compile=False)  # keeps its policy, as keras-hub's models do
    assert loaded.dtype_policy.name == "mixed_bfloat16"
    exported = runtime.float32_model(loaded)  # what TFLite and ONNX export, and the outputs they are compared with
    assert runtime.float32_model(exported) is exported
    assert {layer.dtype_policy.name for layer in exported._flatten_layers()} == {"float32"}
    for a, b in zip(model.get_weights(), exported.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    x = tiny_inputs()
    float32, bfloat16 = keras.ops.convert_to_numpy(exported(x)), keras.ops.convert_to_numpy(loaded(x))
    assert keras.backend.standardize_dtype(exported(x).dtype) == "float32"
    np.testing.assert_allclose(float32, bfloat16.astype("float32"), atol=0.05)  # bfloat16 keeps ~3 digits
    # fine-tuning on a machine that trains in float32 (the global policy here) loads its backbone in float32
    from arlm.scales import resolve
    from arlm.tasks.finetune import load_backbone

    tuned, _ = load_backbone(str(tmp_path / "model.keras"), resolve("tiny"), backbone.config.vocab_size)
    assert tuned.dtype_policy.name == "float32" and tuned.config == backbone.config
    for a, b in zip(backbone.get_weights(), tuned.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
