"""`arlm run` killed with SIGKILL during chapter 2's second teacher (the 30K twin), then run again: the finished
IBERTA is reused, not retrained, the twin resumes from its checkpoint, and the chapter ends with the teachers of
an uninterrupted run, weight for weight. And chapter 1 run again (as `arlm run` does, chapter after chapter, on
a rerun) keeps the vocabulary and data the finished teachers were trained on."""

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.chapters


def arlm_run(out, chapters="2"):
    return [sys.executable, "-m", "arlm", "run", "--scale", "tiny", "--chapters", chapters, "--out", str(out)]


def weights(path):
    import keras

    from arlm.saving import load_model

    return [keras.ops.convert_to_numpy(v) for v in load_model(path).weights]


def test_chapter_2_killed_during_the_second_teacher_ends_as_an_uninterrupted_run(book_run, tmp_path):
    run = tmp_path / "tiny"
    run.mkdir()
    shutil.copytree(book_run / "01_corpus", run / "01_corpus")
    twin = run / "02_teacher" / "train" / "iberta_30k"
    process = subprocess.Popen(arlm_run(tmp_path), start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while not (twin / "checkpoints" / "ckpt-10.json").exists():  # the twin is a third of the way through
        assert process.poll() is None, "chapter 2 ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the runner and its kernel, as a preempted machine
    process.wait(timeout=60)
    first = run / "02_teacher" / "train" / "iberta" / "finished.json"
    assert first.is_file() and not (run / "02_teacher" / "teacher.keras").exists()
    finished_at = first.stat().st_mtime_ns

    rerun = subprocess.run(arlm_run(tmp_path), capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert first.stat().st_mtime_ns == finished_at  # IBERTA was loaded, not trained again
    notebook = (run / "02_teacher.ipynb").read_text(encoding="utf-8")
    assert "resuming from step 10 of 30" in notebook
    for mine, reference in [(run / "02_teacher" / "teacher.keras", book_run / "02_teacher" / "teacher.keras"),
                            (twin / "model.keras", book_run / "02_teacher" / "train" / "iberta_30k" / "model.keras")]:
        for got, want in zip(weights(mine), weights(reference), strict=True):
            np.testing.assert_array_equal(got, want)


def test_chapter_1_run_again_keeps_the_vocabulary_and_data_the_teachers_were_trained_on(book_run, tmp_path):
    from arlm.files import read_json
    from arlm.pretraining_data import fingerprint

    run = tmp_path / "tiny"
    run.mkdir()
    shutil.copytree(book_run / "01_corpus", run / "01_corpus")
    vocabularies = {name: (run / "01_corpus" / name).read_bytes() for name in ("vocab.txt", "vocab_small.txt")}
    rerun = subprocess.run(arlm_run(tmp_path, chapters="1"), capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    for name, before in vocabularies.items():
        assert (run / "01_corpus" / name).read_bytes() == before, f"{name} was trained again"
    assert all(info["reused"] for info in read_json(run / "01_corpus" / "results.json")["vocab"].values())
    for teacher, data in (("iberta", "pretraining"), ("iberta_30k", "pretraining_small")):
        stage = read_json(book_run / "02_teacher" / "train" / teacher / "stage.json")
        assert stage["data"] == fingerprint(run / "01_corpus" / data), f"{teacher} would be refused"
