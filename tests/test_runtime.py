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
