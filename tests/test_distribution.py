"""Every training stage on simulated hardware equals the same stage on one device (same global batch, same seed):
8 JAX CPU devices under `keras.distribution.DataParallel`, and TensorFlow's `MirroredStrategy` over 2 logical
CPU devices. The runs are subprocesses (a process's device count is fixed when its backend starts), four at once.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("distribution_run.py")
RUNS = {  # name: (backend, ARLM_DEVICES, extra arguments)
    "jax-1": ("jax", None, []),
    "jax-8": ("jax", "cpu:8", []),
    # a TF strategy draws each replica's dropout masks on its own: compared without dropout
    "tf-1": ("tensorflow", None, ["--no-dropout"]),
    "tf-2": ("tensorflow", "cpu:2", ["--no-dropout"]),
}
STAGES = ("teacher", "knowledge_transfer", "distillation", "scratch", "classification", "tagging", "qa")

pytestmark = pytest.mark.distribution


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("distribution")
    processes = {}
    for name, (backend, devices, extra) in RUNS.items():
        env = {**os.environ, "KERAS_BACKEND": backend}
        env.pop("ARLM_DEVICES", None)
        env.pop("XLA_FLAGS", None)
        if devices:
            env["ARLM_DEVICES"] = devices
        processes[name] = subprocess.Popen([sys.executable, str(SCRIPT), str(folder / f"{name}.json"), *extra],
                                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for name, process in processes.items():
        output, _ = process.communicate(timeout=900)
        assert process.returncode == 0, f"{name}:\n{output[-4000:]}"
    return {name: json.loads((folder / f"{name}.json").read_text()) for name in RUNS}


@pytest.mark.parametrize(("single", "several"), [("jax-1", "jax-8"), ("tf-1", "tf-2")])
def test_every_stage_loses_the_same_on_several_devices(results, single, several):
    one, many = results[single], results[several]
    assert "distribution none" in one["plan"]
    assert ("8 x CPU, distribution DataParallel" if several == "jax-8" else
            "2 x CPU, distribution MirroredStrategy") in many["plan"]
    for stage in STAGES:
        np.testing.assert_allclose(many["losses"][stage], one["losses"][stage], rtol=1e-5, atol=1e-5,
                                   err_msg=f"{several} vs {single}: {stage}")
        assert len(one["losses"][stage]) >= 3
    # prediction pads a ragged tail to full batches and drops the padding again
    assert set(many["predicted_rows"].values()) == {13}


def test_the_batch_is_sharded_over_the_eight_devices_and_the_weights_replicated(results):
    sharding = results["jax-8"]["sharding"]
    assert sharding["batch_shards"] == [[1, 12]] * 8
    assert sharding["weight_devices"] == 8
