"""gs:// run folders (`arlm.bucket`), against a Cloud Storage emulator on loopback (in memory, one per module)."""

import json
import logging
import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

from arlm import bucket, files
from arlm.artifacts import Chapter
from arlm.book import runner
from arlm.cli import main
from arlm.errors import ArtifactError


@pytest.fixture(scope="module")
def emulator():
    """A `gcp-storage-emulator` on 127.0.0.1 (a free port, in-memory, bucket ``bucket``); the client reaches it
    through ``STORAGE_EMULATOR_HOST`` (inherited by the chapters' kernels) with anonymous credentials."""
    import google.cloud.storage  # noqa: F401  (the gcs extra)
    from gcp_storage_emulator import server as server_module
    logging.getLogger("gcp_storage_emulator").setLevel(logging.WARNING)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = server_module.create_server("127.0.0.1", port, in_memory=True, default_bucket="bucket")
    server.start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
        patch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
        from google.cloud import storage

        yield storage.Client(project=None).bucket("bucket")
    server.stop()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh working-copy cache; `fresh()` switches to another one, as a new Colab session would have."""
    monkeypatch.setattr(bucket, "_MIRRORS", {})
    caches = iter(tmp_path / f"cache{i}" for i in range(10))

    def fresh():
        bucket._MIRRORS.clear()
        path = next(caches)
        monkeypatch.setenv("ARLM_GCS_CACHE", str(path))
        return path

    fresh()
    return fresh


def names(blobs_bucket, prefix):
    return sorted(blob.name[len(prefix) + 1:] for blob in blobs_bucket.client.list_blobs(blobs_bucket, prefix=prefix))


def test_urls_keep_their_scheme(tmp_path, monkeypatch):
    assert bucket.location("gs://b/runs/") == "gs://b/runs"
    assert bucket.location(tmp_path) == tmp_path
    with pytest.raises(ArtifactError, match="lost a slash"):
        bucket.location(Path("gs://b/runs"))  # pathlib made it gs:/b/runs
    assert runner.run_folder("gs://b/runs", "tiny") == "gs://b/runs/tiny"
    assert runner.run_folder("runs", "tiny") == Path("runs/tiny")
    assert bucket.parent("gs://b/runs/tiny") == "gs://b/runs" and bucket.parent("gs://b/tiny") == "gs://b"
    for bad in ("gs://", "gs:///x", "gs://b/../x"):
        with pytest.raises(ArtifactError, match="expected gs://BUCKET/PREFIX"):
            bucket.location(bad)
    monkeypatch.delenv("ARLM_GCS_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert bucket.working_copy("gs://b/arlm/full") == tmp_path / ".cache" / "arlm" / "gcs" / "b" / "arlm" / "full"
    monkeypatch.setenv("ARLM_GCS_CACHE", str(tmp_path / "c"))
    assert bucket.working_copy("gs://b") == tmp_path / "c" / "b"


def test_cli_run_out_keeps_the_scheme(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(runner, "run_book", lambda *args, **kwargs: calls.append(args) or {"01_corpus": 1.0})
    assert main(["run", "--chapters", "1", "--out", "gs://my-bucket/runs"]) == 0
    assert calls == [("tiny", ["01_corpus"], "gs://my-bucket/runs", {})]
    assert "outputs in gs://my-bucket/runs/tiny/" in capsys.readouterr().out
    assert main(["run", "--out", "gs:/my-bucket/runs"]) == 2
    assert "lost a slash" in capsys.readouterr().err


def test_after_write_sees_every_completed_write(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "_AFTER_WRITE", [])
    seen = []

    def record(path):
        seen.append(path)

    files.after_write(record)
    assert files.after_write(record) is record and files._AFTER_WRITE == [record]  # registered once
    files.write_json(tmp_path / "a.json", {})
    with files.atomic_path(tmp_path / "ckpt") as tmp:
        tmp.mkdir()
        (tmp / "w.h5").write_bytes(b"1")
    with pytest.raises(RuntimeError), files.atomic_path(tmp_path / "b.txt"):
        raise RuntimeError("interrupted")
    assert seen == [tmp_path / "a.json", tmp_path / "ckpt"] and (tmp_path / "ckpt" / "w.h5").is_file()

    def broken(path):
        raise ArtifactError(f"uploading {path} failed")

    files.after_write(broken)
    with pytest.raises(ArtifactError, match="uploading .*c.json failed"):
        files.write_json(tmp_path / "c.json", {})
    assert (tmp_path / "c.json").is_file()  # written locally all the same


def test_without_the_client_a_bucket_says_what_to_install(cache, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.cloud.storage", None)
    with pytest.raises(ArtifactError, match=r"pip install 'arlm\[gcs\]'"):
        Chapter("01_corpus", "tiny", "gs://my-bucket/runs/tiny")


def test_missing_bucket_and_failed_upload_are_clear_errors(emulator, cache, monkeypatch):
    with pytest.raises(ArtifactError, match="gcloud storage buckets create gs://no-such-bucket --location="):
        Chapter("01_corpus", "tiny", "gs://no-such-bucket/runs/tiny")
    from google.api_core.exceptions import ServiceUnavailable

    ch = Chapter("01_corpus", "tiny", "gs://bucket/failing/tiny")

    def unavailable(*args, **kwargs):
        raise ServiceUnavailable("backend down")

    monkeypatch.setattr(bucket.Mirror, "_put", unavailable)
    with pytest.raises(ArtifactError, match=r"uploading .*vocab.txt to gs://bucket/failing/tiny/01_corpus/vocab.txt "
                                            r"failed: 503 backend down"):
        files.write_json(ch.path("vocab.txt"), [])


def test_writes_reach_the_bucket_as_they_happen(emulator, cache):
    ch = Chapter("02_teacher", "tiny", "gs://bucket/writes/tiny")
    work = ch.path("train", "iberta")
    for step in (1, 2):
        with files.atomic_path(work / f"ckpt-{step}") as tmp:  # a checkpoint folder
            tmp.mkdir()
            (tmp / "model.weights.h5").write_bytes(b"w" * step)
            (tmp / "optimizer.npz").write_bytes(b"o" * step)
        if step == 2:
            shutil.rmtree(work / "ckpt-1")  # the loop keeps the newest checkpoint only
        files.write_json(work / "history.json", {"step": step})
    (ch.dir / "notes.txt").write_text("written without arlm.files")  # reaches the bucket with the results
    prefix = "writes/tiny/02_teacher"
    assert names(emulator, prefix) == ["train/iberta/ckpt-2/model.weights.h5", "train/iberta/ckpt-2/optimizer.npz",
                                       "train/iberta/history.json"]  # the deletion is mirrored at the next write
    assert emulator.blob(f"{prefix}/train/iberta/ckpt-2/optimizer.npz").download_as_bytes() == b"oo"
    ch.write_results({"mlm_accuracy": 0.5})
    assert names(emulator, prefix) == ["notes.txt", "results.json", "train/iberta/ckpt-2/model.weights.h5",
                                       "train/iberta/ckpt-2/optimizer.npz", "train/iberta/history.json"]


def test_a_new_session_resumes_from_the_bucket(emulator, cache):
    url = "gs://bucket/resume/tiny"
    first = Chapter("02_teacher", "tiny", url)
    files.write_json(first.path("train", "iberta", "history.json"), {"step": 10})
    files.write_json(first.path("figure1", "index.json"), {"iberta": {}})
    files.write_json(first.path("teacher.keras"), {"stand-in": True})
    first.write_results({"mlm_accuracy": 0.5})

    fresh_root = cache()
    again = Chapter("02_teacher", "tiny", url)  # a new session: its own folder comes back, checkpoints and all
    assert again.run_dir == fresh_root.resolve() / "bucket" / "resume" / "tiny"
    assert files.read_json(again.dir / "train" / "iberta" / "history.json") == {"step": 10}
    assert again.results()["mlm_accuracy"] == 0.5
    (again.dir / "new.txt").write_text("not uploaded yet")
    (again.dir / "teacher.keras").write_text("saved again, not uploaded yet")
    inode = (again.dir / "results.json").stat().st_ino
    Chapter("02_teacher", "tiny", url)  # the cell run again: unchanged and newer local files stay
    assert (again.dir / "results.json").stat().st_ino == inode and (again.dir / "new.txt").is_file()
    assert (again.dir / "teacher.keras").read_text() == "saved again, not uploaded yet"
    os.utime(again.dir / "teacher.keras", (0, 0))  # older than the bucket's copy: replaced by it
    Chapter("02_teacher", "tiny", url)
    assert files.read_json(again.dir / "teacher.keras") == {"stand-in": True}

    cache()
    later = Chapter("03_knowledge_transfer", "tiny", url)
    assert later.results("02_teacher")["mlm_accuracy"] == 0.5  # earlier chapters' top-level files come along
    assert (later.run_dir / "02_teacher" / "teacher.keras").is_file()
    assert not (later.run_dir / "02_teacher" / "figure1").exists()  # folders come on demand
    assert later.require("02_teacher", "figure1", "index.json").is_file()
    assert later.find("01_corpus", "vocab.txt") is None
    with pytest.raises(ArtifactError, match=r"gs://bucket/resume/tiny/01_corpus/pretraining is missing: run chapter "
                                            r"01_corpus first .*--out gs://bucket/resume\)"):
        later.require("01_corpus", "pretraining")


def test_an_interrupted_folder_upload_reads_as_incomplete(emulator, cache):
    for name in ("pretraining/.arlm-incomplete", "pretraining/shard-00000.tfrecord", "results.json"):
        emulator.blob(f"cut/tiny/01_corpus/{name}").upload_from_string(b"{}")
    ch = Chapter("02_teacher", "tiny", "gs://bucket/cut/tiny")
    with pytest.raises(ArtifactError, match="01_corpus/pretraining is incomplete in the bucket"):
        ch.require("01_corpus", "pretraining")
    cache()
    own = Chapter("01_corpus", "tiny", "gs://bucket/cut/tiny")  # resuming chapter 1 skips the broken folder
    assert sorted(p.name for p in own.dir.iterdir()) == ["results.json"]


def test_two_chapters_through_the_bucket(emulator, cache):
    """Chapter 1 at tiny writes to gs://; chapter 2, in a new session (empty cache), reads it from there."""
    small = {"corpus_max_words": 20000, "vocab_size": 300, "vocab_size_small": 200}
    runner.run_book("tiny", ["01_corpus"], "gs://bucket/runs", small, log=lambda line: None)
    written = names(emulator, "runs/tiny")
    assert {"01_corpus.ipynb", "01_corpus.log", "01_corpus/results.json", "01_corpus/vocab.txt",
            "01_corpus/vocab_small.txt", "01_corpus/pretraining/meta.json"} <= set(written)
    assert any(name.startswith("01_corpus/pretraining/shard-") for name in written)
    assert not any(bucket.INCOMPLETE in name or name.endswith(".tmp") for name in written)

    fresh_root = cache()
    steps = {"teacher_steps": 2, "checkpoint_every": 1, "figure1_checkpoints": 1, "warmup_steps": 1}
    runner.run_book("tiny", ["02_teacher"], "gs://bucket/runs", {**small, **steps}, log=lambda line: None)
    written = set(names(emulator, "runs/tiny"))
    assert {"02_teacher.ipynb", "02_teacher/results.json", "02_teacher/teacher.keras",
            "02_teacher/figure1/index.json"} <= written
    local = fresh_root / "bucket" / "runs" / "tiny"
    assert (local / "01_corpus" / "vocab.txt").is_file()  # fetched by chapter 2's kernel from the bucket
    assert sorted(p.name for p in (local / "01_corpus" / "pretraining").iterdir()) == sorted(
        name.rpartition("/")[2] for name in written if name.startswith("01_corpus/pretraining/"))
    notebook = json.loads(emulator.blob("runs/tiny/02_teacher.ipynb").download_as_bytes())
    injected = [cell for cell in notebook["cells"] if "injected-parameters" in cell["metadata"].get("tags", [])]
    assert 'run_dir = "gs://bucket/runs/tiny"' in "".join(injected[0]["source"])
    results = json.loads(emulator.blob("runs/tiny/02_teacher/results.json").download_as_bytes())
    assert results["config"]["vocab_size"] == 300 and results["config"]["teacher_steps"] == 2

    cache()
    reader = Chapter("07_results", "tiny", "gs://bucket/runs/tiny")  # a third session sees both chapters
    assert reader.results("01_corpus")["chapter"] == "01_corpus" and reader.results("02_teacher") == results
    assert os.environ["STORAGE_EMULATOR_HOST"].startswith("http://127.0.0.1:")


def test_book_builds_from_a_bucket_run(emulator, cache, monkeypatch):
    from arlm.book import build

    emulator.blob("book/tiny/01_corpus.ipynb").upload_from_string(b"{}")
    built = []
    monkeypatch.setattr(build, "build_book", built.append)
    assert main(["book", "--runs", "gs://bucket/book/tiny"]) == 0
    assert built == [bucket.working_copy("gs://bucket/book/tiny")]
    assert (built[0] / "01_corpus.ipynb").read_text() == "{}"
