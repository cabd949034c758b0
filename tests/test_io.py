import pytest

from arlm.io import atomic_path, read_json, write_json


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "vocab.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half written")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["vocab.txt"]  # no temporary left behind
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_atomic_path_works_for_folders(tmp_path):
    target = tmp_path / "saved_model"
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "a").write_text("1")
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b"]


def test_write_json_handles_numpy_and_arabic(tmp_path):
    import numpy as np

    path = write_json(tmp_path / "r.json", {"acc": np.float32(0.5), "ids": np.arange(2), "text": "نص"})
    assert read_json(path) == {"acc": 0.5, "ids": [0, 1], "text": "نص"}
    assert "نص" in path.read_text(encoding="utf-8")
