"""The run folder: where each chapter writes its artifacts and reads those of earlier chapters."""

import json
from pathlib import Path

from arlm import bucket
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


class Chapter:
    """One chapter's view of the run folder ``run_dir/<chapter>/``.

    Args:
        chapter (str): one of `CHAPTERS`.
        scale (str): the scale's name.
        run_dir (str | Path | None): the run folder (default ``runs/<scale>``): a local folder, or a
            ``gs://bucket/prefix`` string; then the chapter works in a local copy (`arlm.bucket`) that starts
            with its own folder from the bucket (checkpoints and finished stages of an earlier session) and
            the top-level files of earlier chapters, and every write goes on to the bucket.
        config (arlm.scales.Scale | None): the resolved parameters, recorded in results.json.

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
        self.location = bucket.location(run_dir) if run_dir else default_run_dir(scale)  # as given: URL or Path
        self.mirror = bucket.mirror(self.location) if bucket.is_url(self.location) else None
        self.run_dir = self.mirror.root if self.mirror else self.location  # always local
        self.dir = self.run_dir / chapter
        self.dir.mkdir(parents=True, exist_ok=True)
        self._pulled = set()
        if self.mirror:
            self.mirror.owned.add(chapter)
            self.mirror.pull(chapter)
            for earlier in CHAPTERS[:CHAPTERS.index(chapter)]:
                self.mirror.pull(earlier, files_only=True)  # results.json, vocabularies, final models

    def path(self, *parts):
        """A path inside this chapter's folder (parents created)."""
        path = self.dir.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def find(self, chapter, *parts):
        """The local path of an artifact of `chapter` (from the bucket on first use), or None when missing.

        Args:
            chapter (str): the chapter that writes it.
            parts (str): the path inside that chapter's folder; of a bucket, the whole top-level entry
                ``parts[0]`` (e.g. the folder ``pretraining``) is brought into the working copy.
        """
        if self.mirror and parts and chapter != self.chapter and (chapter, parts[0]) not in self._pulled:
            self.mirror.pull(f"{chapter}/{parts[0]}")
            self._pulled.add((chapter, parts[0]))
        path = self.run_dir.joinpath(chapter, *parts)
        return path if path.exists() else None

    def require(self, chapter, *parts):
        """An artifact of `chapter` (see `find`); a clear error naming the chapter to run first when it is
        missing."""
        path = self.find(chapter, *parts)
        if path is None:
            if self.mirror:
                where, out = bucket.join(self.location, chapter, *parts), bucket.parent(self.location)
            else:
                where, out = self.run_dir.joinpath(chapter, *parts), self.run_dir.parent
            raise ArtifactError(
                f"{where} is missing: run chapter {chapter} first at scale {self.scale!r} "
                f"(arlm run --scale {self.scale} --chapters {int(chapter[:2])} --out {out})"
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
        if self.mirror:
            self.mirror.push(self.chapter)  # all the chapter wrote, before the record that says it finished
        return write_json(self.dir / "results.json", record)


def environment():
    """Versions and devices behind a result: Python, arlm, Keras and its backend, the runtime (devices,
    distribution, dtype policy), and TensorFlow and JAX when loaded."""
    import platform
    import sys

    import keras

    import arlm
    from arlm import runtime

    info = {"python": platform.python_version(), "arlm": arlm.__version__, "keras": keras.__version__,
            "backend": keras.backend.backend(), "runtime": runtime.current().describe()}
    if "jax" in sys.modules:
        info["jax"] = sys.modules["jax"].__version__
    if "tensorflow" in sys.modules:
        info["tensorflow"] = sys.modules["tensorflow"].__version__
    return info
