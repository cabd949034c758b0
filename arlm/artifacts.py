"""The run folder: where each chapter writes its artifacts and reads those of earlier chapters."""

import json
from pathlib import Path

from arlm import bucket
from arlm.errors import ArtifactError, ParameterError
from arlm.files import read_json, write_json
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
        self.run_dir = self.mirror.root if self.mirror else Path(self.location).resolve()  # always local
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
        write_json(self.dir / "results.json", record)


def environment():
    """What a result depends on besides its parameters: versions (Python, arlm and its git commit, Keras and its
    backend, TensorFlow and JAX when loaded), the runtime (devices, distribution, dtype policy), the precision
    (the dtype policy, the scale's ``mixed_precision`` and the CPU's bfloat16 flags it was chosen from), the
    machine (cores, CPU model), whether the data mirror was used, and when it ran (UTC)."""
    import datetime
    import os
    import platform
    import sys

    import keras

    import arlm
    from arlm import datasets, runtime

    mirror = datasets.mirror_dir()
    info = {"python": platform.python_version(), "arlm": arlm.__version__, "commit": source_commit(),
            "keras": keras.__version__, "backend": keras.backend.backend(), "runtime": runtime.current().describe(),
            "precision": {"policy": runtime.current().plan.policy,
                          "cpu_bfloat16_flags": list(runtime.cpu_bfloat16_flags()), **runtime.current().precision},
            "machine": {"cores": os.cpu_count(), "cpu": cpu_model()},
            "data_mirror": bool(mirror and mirror.is_dir()),
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")}
    if "jax" in sys.modules:
        info["jax"] = sys.modules["jax"].__version__
    if "tensorflow" in sys.modules:
        info["tensorflow"] = sys.modules["tensorflow"].__version__
    return info


def source_commit():
    """The git commit of this checkout of arlm (``+`` when it has uncommitted changes), or None outside git."""
    import subprocess

    repo = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+" if dirty else "") if commit else None


def cpu_model():
    """The processor's model name (Linux: /proc/cpuinfo), else what `platform` knows."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# --- the model index: chapter 5's models/index.json, read by chapter 6 and `arlm export` ---------------------------


def write_model_index_entry(folder, stem, meta):
    """Add (or replace) the entry of ``<stem>.keras`` in ``folder/index.json``: task, kind, labels, length, vocab."""
    index_path = Path(folder) / "index.json"
    index = read_json(index_path) if index_path.is_file() else {}
    index[stem] = {"file": f"{stem}.keras", **meta}
    return write_json(index_path, index)


def read_model_index(folder):
    """Chapter 5's ``models/index.json`` as ``{file stem: metadata}`` ({} when there is none).

    Accepts a mapping keyed by name, a list of entries with ``file`` or ``name``, or either under ``models``.
    """
    index = Path(folder) / "index.json"
    if not index.is_file():
        return {}
    try:
        entries = read_json(index)
    except (ValueError, UnicodeDecodeError) as error:
        raise ArtifactError(f"{index}: not a JSON index of models ({error})") from None
    if isinstance(entries, dict) and "models" in entries:
        entries = entries["models"]
    if isinstance(entries, list):
        entries = {Path(e.get("file") or e.get("name") or "").stem: e for e in entries if isinstance(e, dict)}
    if not isinstance(entries, dict) or not all(isinstance(meta, dict) for meta in entries.values()):
        raise ArtifactError(f"{index}: expected an object of models keyed by name, each an object")
    for meta in entries.values():  # a vocabulary path relative to the models folder or the run folder
        vocab = meta.get("vocab") or meta.get("vocab_path")
        if vocab and not Path(vocab).exists():
            found = [c for c in (Path(folder) / vocab, Path(folder).parent.parent / vocab) if c.exists()]
            vocab = str(found[0]) if found else vocab
        meta["vocab"] = vocab
    return entries


def model_entry(model_path, name=None):
    """Find a fine-tuned ``.keras`` file and its metadata (task, labels, max_seq_length, vocab).

    `model_path` is a ``.keras`` file or a folder of them (chapter 5's ``models/``; `name` picks one when
    there are several). Metadata comes from ``index.json`` in that folder (chapter 5 writes it), keyed by
    the file's stem, or from ``<stem>.json`` beside the file.
    """
    path = Path(model_path)
    if path.is_dir():
        candidates = sorted(path.glob("*.keras"))
        if name:
            candidates = [c for c in candidates if c.stem == name]
        if len(candidates) != 1:
            found = ", ".join(c.stem for c in sorted(path.glob("*.keras"))) or "none"
            raise ParameterError(f"{path}: pick one model with --name (models found: {found})")
        path = candidates[0]
    if path.suffix != ".keras" or not path.is_file():
        raise ParameterError(f"{path}: expected a .keras file or a folder holding one (parameter MODEL_DIR)")
    meta = dict(read_model_index(path.parent).get(path.stem, {}))
    if not meta and path.with_suffix(".json").is_file():
        sidecar = path.with_suffix(".json")
        try:
            meta = read_json(sidecar)
        except (ValueError, UnicodeDecodeError) as error:
            raise ArtifactError(f"{sidecar}: not the JSON metadata of {path.name} ({error})") from None
        if not isinstance(meta, dict):
            raise ArtifactError(f"{sidecar}: expected a JSON object of metadata")
    return path, meta
