"""A run folder copied elsewhere (another disk, a colleague's machine, a bucket's working copy) keeps its finished
fine-tuning stages: they record their model by its place in the run folder and its digest, not an absolute path."""

import json
import shutil
from types import SimpleNamespace

import pytest

from arlm.artifacts import Chapter
from arlm.scales import resolve
from arlm.tasks import experiments

pytestmark = pytest.mark.chapters


def test_a_copied_run_folder_reuses_its_fine_tuning_stages(book_run, tmp_path, monkeypatch):
    copy = tmp_path / "tiny"
    shutil.copytree(book_run, copy, ignore=shutil.ignore_patterns("*.ipynb", "*.log"))
    cfg = resolve("tiny")
    ch = Chapter("05_finetuning", "tiny", copy, config=cfg)
    [model] = experiments.run_models(ch, cfg, ["student"])
    stages = ch.dir / "finetune"
    folder = min(p for p in stages.iterdir() if p.name.startswith(f"{model.stem}_") and "_seed" not in p.name)
    finished = json.loads((folder / "finished.json").read_text(encoding="utf-8"))["result"]

    def train(*args, **kwargs):
        raise AssertionError("a finished stage of the copied run folder was trained again")

    monkeypatch.setattr(experiments, "finetune_task", train)
    task = SimpleNamespace(name=folder.name.removeprefix(f"{model.stem}_"))
    result = experiments.finetune_and_save(ch, task, model, None, cfg, None, ch.find("01_corpus", "vocab.txt"))
    assert result["accuracy_runs"][0] == finished["accuracy"]
