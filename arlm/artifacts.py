"""The run folder: where each chapter writes its artifacts and reads those of earlier chapters."""

import json
import os
import shutil
import subprocess
from pathlib import Path

from arlm.errors import ArtifactError
from arlm.io import write_json
from arlm.scales import check_scale

CHAPTERS = (
    "01_corpus",
    "02_teacher",
    "03_knowledge_transfer",
    "04_distillation",
    "05_finetuning",
    "06_quantization",
    "07_results",
)


def default_run_dir(scale):
    return Path("runs") / check_scale(scale)


def mount_point(url):
    """Where a ``gs://bucket/prefix`` run folder is mounted: ``$ARLM_GCS_MOUNT/<bucket>/<prefix>``."""
    bucket, _, prefix = url.removeprefix("gs://").partition("/")
    root = Path(os.environ.get("ARLM_GCS_MOUNT", Path.home() / "gcs")) / bucket
    return root, root / prefix


def local_run_dir(run_dir, run=subprocess.run):
    """A local path for `run_dir`; a ``gs://`` bucket is mounted with gcsfuse first (Colab/Cloud TPU).

    Mounting keeps every chapter's file I/O (TFRecords, checkpoints, results.json) plain local-path code,
    and data survives a Colab disconnect or a TPU preemption because it lives in the bucket.
    """
    if not str(run_dir).startswith("gs://"):
        return Path(run_dir)
    root, path = mount_point(str(run_dir))
    if not os.path.ismount(root):
        if shutil.which("gcsfuse") is None:
            raise ArtifactError(
                f"run_dir {run_dir} is a Cloud Storage bucket: install gcsfuse to mount it "
                "(see the book's TPU appendix), or give a local run_dir"
            )
        root.mkdir(parents=True, exist_ok=True)
        bucket = str(run_dir).removeprefix("gs://").partition("/")[0]
        run(["gcsfuse", "--implicit-dirs", bucket, str(root)], check=True)
    return path


class Chapter:
    """One chapter's view of the run folder ``run_dir/<chapter>/``.

    >>> ch = Chapter("02_teacher", "tiny", "runs/tiny")
    >>> vocab = ch.require("01_corpus", "vocab.txt")   # error if chapter 1 has not run
    >>> ch.write_results({"mlm_accuracy": 0.12})
    """

    def __init__(self, chapter, scale, run_dir=None, config=None):
        if chapter not in CHAPTERS:
            raise ArtifactError(f"unknown chapter {chapter!r}; chapters are: {', '.join(CHAPTERS)}")
        self.chapter = chapter
        self.scale = check_scale(scale)
        self.config = config  # the resolved `arlm.scales.Scale`, recorded in results.json
        self.run_dir = local_run_dir(run_dir) if run_dir else default_run_dir(scale)
        self.dir = self.run_dir / chapter
        self.dir.mkdir(parents=True, exist_ok=True)

    def path(self, *parts):
        """A path inside this chapter's folder (parents created)."""
        path = self.dir.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def require(self, chapter, *parts):
        """An artifact of `chapter`; a clear error naming the chapter to run first when it is missing."""
        path = self.run_dir.joinpath(chapter, *parts)
        if not path.exists():
            raise ArtifactError(
                f"{path} is missing: run chapter {chapter} first at scale {self.scale!r} "
                f"(arlm run --scale {self.scale} --chapters {int(chapter[:2])} --out {self.run_dir.parent})"
            )
        return path

    def results(self, chapter=None):
        """The `results.json` of `chapter` (default: this one), or {} when that chapter has not run."""
        path = self.run_dir / (chapter or self.chapter) / "results.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def write_results(self, results, **context):
        """Write `results.json`, recording the scale, the resolved parameters (overrides and seed included) and
        the software that produced the numbers."""
        record = {"chapter": self.chapter, "scale": self.scale, "environment": environment()}
        if self.config is not None:
            record["config"] = self.config.as_dict()
        record.update(context)
        record.update(results)
        return write_json(self.dir / "results.json", record)


def environment():
    """Versions and backend behind a result: Python, arlm, Keras and its backend, and TensorFlow when loaded."""
    import platform
    import sys

    import keras

    import arlm

    info = {"python": platform.python_version(), "arlm": arlm.__version__, "keras": keras.__version__,
            "backend": keras.backend.backend()}
    if "tensorflow" in sys.modules:
        info["tensorflow"] = sys.modules["tensorflow"].__version__
    return info
