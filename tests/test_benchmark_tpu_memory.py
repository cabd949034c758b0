"""benchmarks/tpu_memory.py's code path at toy sizes: abstract models, the JAX train step compiled for 2 simulated
devices, XLA's memory and FLOP analysis (the full-size table runs by hand; see benchmarks/README.md)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax")

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "tpu_memory.py"


def run(*args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300)


def test_tiny_train_steps_compile_with_accumulation_and_remat():
    done = run("--sizes", "tiny", "--model", "iberta", "transfer", "--devices", "2", "--per-device-batch", "2",
               "--accumulation", "2", "--remat", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [r["model"] for r in results] == ["iberta", "transfer"]
    for result in results:
        assert (result["devices"], result["per_device_batch"], result["accumulation"], result["remat"]) == (2, 2, 2,
                                                                                                              True)
        assert result["arguments"] > 0 and result["temps"] > 0 and result["flops"] > 0
        # donated state: the new variables reuse the old ones' buffers
        assert result["aliased"] > 0.9 * result["arguments"]
        assert result["total"] == (result["arguments"] + result["outputs"] - result["aliased"] + result["temps"]
                                   + result["code"])


@pytest.mark.skipif(importlib.util.find_spec("libtpu") is not None, reason="libtpu is installed here")
def test_a_tpu_target_without_libtpu_says_what_to_install():
    done = run("--sizes", "tiny", "--target", "v5e-1")
    assert done.returncode != 0 and "needs libtpu (libtpu==0.0.42.*)" in done.stderr
