"""Two runs from empty folders with the same seed, on the same machine, end with the same vocabularies,
pretraining data and weights, bit for bit: this session's tiny run (`book_run`, the whole book run from an
empty folder) and chapters 1-2 run again into another empty folder."""

import subprocess
import sys
import zipfile

import numpy as np
import pytest

pytestmark = pytest.mark.chapters

CHAPTERS = ("01_corpus", "02_teacher")


def h5_arrays(path):
    """Every dataset of an HDF5 weights file (or of the ``model.weights.h5`` inside a ``.keras`` file), by path."""
    import io

    import h5py

    if path.suffix == ".keras":
        with zipfile.ZipFile(path) as archive:
            handle = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    else:
        handle = h5py.File(path, "r")
    arrays = {}
    with handle:
        handle.visititems(lambda name, item: arrays.update({name: item[()]}) if isinstance(item, h5py.Dataset)
                          else None)
    return arrays


def compared_files(run):
    """The files that must be identical: vocabularies, pretraining shards, models and weights."""
    suffixes = {".txt", ".tfrecord", ".keras", ".h5"}
    return sorted(str(p.relative_to(run)) for chapter in CHAPTERS for p in (run / chapter).rglob("*")
                  if p.is_file() and p.suffix in suffixes)


def test_chapters_1_and_2_run_twice_from_empty_folders_end_bit_identical(book_run, tmp_path):
    command = [sys.executable, "-m", "arlm", "run", "--scale", "tiny", "--chapters", "1-2", "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    again = tmp_path / "tiny"
    files = compared_files(again)
    assert files == compared_files(book_run)
    assert any(name.endswith("vocab.txt") for name in files) and any(name.endswith(".keras") for name in files)
    for name in files:
        first, second = book_run / name, again / name
        if first.suffix in (".keras", ".h5"):  # a .keras file also holds the time it was saved: compare weights
            mine, reference = h5_arrays(second), h5_arrays(first)
            assert mine.keys() == reference.keys(), name
            for key, value in reference.items():
                np.testing.assert_array_equal(mine[key], value, err_msg=f"{name}: {key}")
        else:
            assert second.read_bytes() == first.read_bytes(), f"{name} differs between the two runs"
