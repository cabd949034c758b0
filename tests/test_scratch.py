"""Temporaries beside an output: what a killed writer left goes at the next write, what a live one uses stays."""

import os
import subprocess
import sys

from arlm import files, scratch


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_dead_writers_folder_goes_and_a_live_ones_stays(tmp_path):
    dead = tmp_path / f".arlm-savedmodel.{_dead_pid()}.abc"
    live = tmp_path / f".arlm-savedmodel.{os.getppid()}.def"
    other = tmp_path / f".vocab.txt.{_dead_pid()}.x.tmp"  # another stem: not this one's to remove
    for folder in (dead, live):
        (folder / "variables").mkdir(parents=True)
    other.write_text("")
    with scratch.scratch_dir(tmp_path, "arlm-savedmodel") as work:
        assert work.name.startswith(f".arlm-savedmodel.{os.getpid()}.") and work.parent == tmp_path
        assert not dead.exists() and live.exists() and other.exists()
        (work / "saved_model.pb").write_bytes(b"x")
    assert not work.exists()


def test_atomic_path_removes_what_a_killed_write_of_the_same_file_left(tmp_path):
    left = tmp_path / f".vocab.txt.{_dead_pid()}.k3j.tmp"
    left.write_text("half")
    neighbour = tmp_path / f".merges.txt.{_dead_pid()}.k3j.tmp"
    neighbour.write_text("half")
    files.write_json(tmp_path / "vocab.txt", ["[PAD]"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [neighbour.name, "vocab.txt"]
    files.write_json(tmp_path / "merges.txt", ["a b"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merges.txt", "vocab.txt"]
