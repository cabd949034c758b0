"""Real kills: a tiny teacher pretraining and a tiny distillation (stages 2 and 3) run in a subprocess that is
SIGKILLed at several points; the same command run again must end with exactly the weights of an uninterrupted
run, on TensorFlow and on JAX.

One run folder per backend goes through every kill point in turn (each rerun is killed at the next point, as a
run preempted again and again), then finishes; a second folder is killed from outside at arbitrary moments."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("fault_run.py")
# in the order a run reaches them
KILLS = {
    "tensorflow": ["teacher:mid-step:3", "teacher:during-checkpoint:4", "teacher:after-checkpoint:4",
                   "teacher:after-last", "teacher:during-save", "kt:mid-step:5", "pd:during-checkpoint:2",
                   "pd:during-save"],
    "jax": ["teacher:during-checkpoint:2", "kt:after-checkpoint:3", "pd:during-save"],
}

pytestmark = pytest.mark.faults


def run(backend, work, *args, timeout=300):
    env = {**os.environ, "KERAS_BACKEND": backend}
    return subprocess.run([sys.executable, str(SCRIPT), str(work), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module", params=sorted(KILLS))
def reference(request, tmp_path_factory):
    backend = request.param
    pytest.importorskip(backend)
    work = tmp_path_factory.mktemp(f"reference-{backend}")
    done = run(backend, work / "run", "--weights", str(work / "weights.npz"))
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(work / "weights.npz") as weights:
        return backend, dict(weights)


def check_same(expected, path):
    with np.load(path) as got:
        assert sorted(got) == sorted(expected)
        for name in expected:
            np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_killed_at_every_point_and_rerun_equals_uninterrupted(reference, tmp_path):
    backend, expected = reference
    work = tmp_path / "run"
    for kill in KILLS[backend]:
        killed = run(backend, work, "--kill", kill)
        assert killed.returncode == -signal.SIGKILL, f"{kill}: not killed\n{killed.stderr[-3000:]}"
    rerun = run(backend, work, "--weights", str(tmp_path / "weights.npz"))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    check_same(expected, tmp_path / "weights.npz")


def test_killed_from_outside_at_any_moment(reference, tmp_path):
    # not at a chosen point: kill -9 from another process after a delay, twice in a row, then finish
    backend, expected = reference
    if backend != "tensorflow":
        pytest.skip("one backend is enough for arbitrary moments; the chosen points run on both")
    work = tmp_path / "run"
    for delay in (4.0, 6.0):
        process = subprocess.Popen([sys.executable, str(SCRIPT), str(work)], env={**os.environ,
                                   "KERAS_BACKEND": backend}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    rerun = run(backend, work, "--weights", str(tmp_path / "weights.npz"))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    check_same(expected, tmp_path / "weights.npz")
