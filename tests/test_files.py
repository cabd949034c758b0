import os

import pytest

from arlm.errors import ArtifactError, ParameterError
from arlm.files import atomic_path, check_keras_file, check_out_dir, move_into, read_json, staged_dir, write_json


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


def test_write_json_writes_a_missing_number_as_null_so_strict_readers_accept_it(tmp_path):
    import json

    import numpy as np
    import pandas as pd

    rows = pd.DataFrame([{"tfidf": 93.0}, {"tfidf": None}]).to_dict("records")  # pandas: None -> NaN
    path = write_json(tmp_path / "r.json", {"rows": rows, "sd": np.float64("inf"), "where": tmp_path})
    strict = json.loads(path.read_text(encoding="utf-8"), parse_constant=lambda name: pytest.fail(name))
    assert strict == {"rows": [{"tfidf": 93.0}, {"tfidf": None}], "sd": None, "where": str(tmp_path)}


def _tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_staged_dir_swaps_the_whole_folder_in_on_success(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with staged_dir(target) as staging:
        assert staging.parent == tmp_path and staging.is_dir() and not any(staging.iterdir())
        (staging / "new.txt").write_text("new")
        assert (target / "old.txt").read_text() == "old"  # nothing visible before the block ends
    assert _tree(target) == {"new.txt": b"new"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # the old folder and the staging folder are gone


def test_staged_dir_leaves_the_target_untouched_on_failure(tmp_path):
    target = tmp_path / "out"
    (target / "sub").mkdir(parents=True)
    (target / "sub" / "a.bin").write_bytes(b"\x00\x01")
    (target / "meta.json").write_text("{}")
    before = _tree(target)
    with pytest.raises(ValueError):
        with staged_dir(target) as staging:
            (staging / "meta.json").write_text('{"new": true}')
            raise ValueError("failed half way")
    assert _tree(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    with staged_dir(tmp_path / "fresh" / "deep") as staging:  # a missing target (and parents) is created
        (staging / "x").write_text("1")
    assert (tmp_path / "fresh" / "deep" / "x").read_text() == "1"


def test_staged_dir_recovers_from_a_crash_between_its_renames(tmp_path):
    # killed after the old folder was moved aside and before the new one was renamed in
    (tmp_path / ".out.old-abc").mkdir()
    (tmp_path / ".out.old-abc" / "meta.json").write_text("old")
    (tmp_path / ".out.staging-def").mkdir()
    with pytest.raises(RuntimeError):
        with staged_dir(tmp_path / "out"):
            raise RuntimeError
    assert _tree(tmp_path / "out") == {"meta.json": b"old"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_staged_dir_refuses_a_file(tmp_path):
    (tmp_path / "out").write_text("x")
    with pytest.raises(ArtifactError, match="is a file"):
        with staged_dir(tmp_path / "out"):
            pass


def test_atomic_path_fsyncs_the_file_and_its_folder(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with atomic_path(tmp_path / "vocab.txt") as tmp:
        tmp.write_text("[PAD]\n")
    assert synced[0].startswith(str(tmp_path / ".vocab.txt.")) and synced[1] == str(tmp_path)
    assert (tmp_path / "vocab.txt").read_text() == "[PAD]\n"


def test_atomic_path_never_replaces_a_folder_by_a_file(tmp_path):
    (tmp_path / "vocab.txt").mkdir()
    (tmp_path / "vocab.txt" / "keep").write_text("1")
    with pytest.raises(ArtifactError, match="is a folder"):
        with atomic_path(tmp_path / "vocab.txt") as tmp:
            tmp.write_text("x")
    assert (tmp_path / "vocab.txt" / "keep").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vocab.txt"]


def test_check_out_dir_accepts_earlier_outputs_only(tmp_path):
    owned = ("shard-*.tfrecord", "meta.json")
    assert check_out_dir(tmp_path / "new", owned) == tmp_path / "new"
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "shard-00000.tfrecord").write_bytes(b"")
    (tmp_path / "old" / "meta.json").write_text("{}")
    check_out_dir(tmp_path / "old", owned)
    (tmp_path / "old" / "notes.md").write_text("mine")
    with pytest.raises(ParameterError, match=r"--out .*old: the folder holds files .* \(notes.md\)"):
        check_out_dir(tmp_path / "old", owned)
    with pytest.raises(ParameterError, match="--data .*notes.md: is a file"):
        check_out_dir(tmp_path / "old" / "notes.md", owned, "--data")
    with pytest.raises(ParameterError, match="cannot be created, .*notes.md is a file"):
        check_out_dir(tmp_path / "old" / "notes.md" / "x", owned)


def test_check_keras_file_names_a_truncated_file(tmp_path):
    import zipfile

    good = tmp_path / "m.keras"
    with zipfile.ZipFile(good, "w") as archive:
        for name in ("metadata.json", "config.json", "model.weights.h5"):
            archive.writestr(name, "x" * 1000)
    assert check_keras_file(good) == good
    (tmp_path / "t.keras").write_bytes(good.read_bytes()[:900])
    with pytest.raises(ArtifactError, match=r"t.keras: not a complete .keras file .*\(--model\)"):
        check_keras_file(tmp_path / "t.keras")
    with pytest.raises(ArtifactError, match="no such file"):
        check_keras_file(tmp_path / "none.keras")


def test_move_into_renames_a_set_of_files(tmp_path):
    staging, folder = tmp_path / "staging", tmp_path / "out"
    staging.mkdir()
    folder.mkdir()
    (folder / "m.json").write_text("old")
    for name in ("m.json", "m.tflite"):
        (staging / name).write_text(name)
    assert move_into([staging / "m.json", staging / "m.tflite"], folder) == [folder / "m.json", folder / "m.tflite"]
    assert _tree(folder) == {"m.json": b"m.json", "m.tflite": b"m.tflite"} and not any(staging.iterdir())


# --- the one save/load path of every model ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_classifier():
    from helpers import tiny_config

    from arlm.mobilebert import MobileBertBackbone, MobileBertTextClassifier

    return MobileBertTextClassifier(MobileBertBackbone.from_mobilebert_config(tiny_config("mberta", num_layers=1)), 3)


@pytest.mark.backend
def test_a_preset_is_written_whole_and_replaces_only_a_preset(tiny_classifier, tmp_path):
    from helpers import assert_same_weights

    from arlm.saving import load_model, save_model

    preset = save_model(tiny_classifier, tmp_path / "model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging folder left behind
    assert {"config.json", "model.weights.h5", "task.json", "task.weights.h5", "metadata.json"} <= {
        p.name for p in preset.iterdir()}
    save_model(tiny_classifier, preset)  # an earlier preset is replaced as a whole
    (preset / "notes.md").write_text("mine")
    with pytest.raises(ParameterError, match=r"preset_dir .*model: the folder holds files .*notes.md"):
        save_model(tiny_classifier, preset)
    assert (preset / "notes.md").read_text() == "mine"
    (preset / "notes.md").unlink()
    assert_same_weights(load_model(preset), tiny_classifier)
    with pytest.raises(ParameterError, match="holds no tokenizer"):
        save_model(tiny_classifier, tmp_path / "m.keras", metadata={"task": "x"})


@pytest.mark.backend
def test_a_damaged_or_foreign_model_is_an_artifact_error_naming_it(tiny_classifier, tmp_path):
    from arlm.mobilebert import MobileBertPretrainer
    from arlm.saving import load_model, save_model

    preset = save_model(tiny_classifier, tmp_path / "model")
    with pytest.raises(ArtifactError, match=r"a MobileBertTextClassifier, expected a MobileBertPretrainer \(--x\)"):
        load_model(preset, expect=MobileBertPretrainer, parameter="--x")
    weights = preset / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[-2000:-1000] = bytes(1000)  # zeroed weights: h5py and Keras load them without a word
    weights.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"model.weights.h5: the file is corrupted \(sha256 .*\(--model\)"):
        load_model(preset)
    meta = read_json(preset / "metadata.json")
    del meta["sha256"]  # a preset saved without digests: what the loader itself says
    write_json(preset / "metadata.json", meta)
    weights.write_bytes(weights.read_bytes()[:500])  # truncated
    with pytest.raises(ArtifactError, match=r"model: cannot load the model \(.*\) \(--model\)"):
        load_model(preset)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match=r"empty': a folder without config.json .*\(--model\)"):
        load_model(tmp_path / "empty")
    with pytest.raises(ArtifactError, match="'mberta' is one of the paper's configurations"):
        load_model("mberta")
    (tmp_path / "truncated.keras").write_bytes(b"PK\x03\x04 half")
    with pytest.raises(ArtifactError, match=r"truncated.keras: not a complete .keras file"):
        load_model(tmp_path / "truncated.keras")


@pytest.mark.backend
def test_an_unreachable_handle_is_an_artifact_error(monkeypatch):
    import huggingface_hub.constants

    from arlm.saving import load_model

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # no network here: fail at once
    for handle in ("hf://nobody/mobilebert-arabic", "kaggle://nobody/mobilebert/keras/tiny"):
        with pytest.raises(ArtifactError, match=f"{handle}: cannot load the model .*\\(--model\\)"):
            load_model(handle)


@pytest.mark.backend
def test_packaged_presets_tokenizer_and_metadata(tiny_classifier, tmp_path, monkeypatch):
    from helpers import assert_same_weights

    from arlm import files, preset_format, saving
    from arlm.mobilebert import MobileBertTextClassifier

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "كتب", "##ت"]) + "\n", encoding="utf-8")
    monkeypatch.setattr(preset_format, "PRESETS_DIR", tmp_path / "presets")
    tiny_classifier.save_to_preset(tmp_path / "presets" / "tiny_test", tokenizer=vocab,
                                   metadata={"labels": list("abc")})
    assert list(preset_format.packaged_presets()) == ["tiny_test"]
    assert preset_format.is_preset("tiny_test") and preset_format.check_model_source("tiny_test") == "preset"
    assert_same_weights(MobileBertTextClassifier.from_preset("tiny_test"), tiny_classifier)
    assert_same_weights(saving.load_model("tiny_test"), tiny_classifier)
    assert preset_format.preset_metadata("tiny_test") == {"labels": ["a", "b", "c"]}
    tokenizer = saving.load_tokenizer("tiny_test")
    assert tokenizer.vocab_size == 7 and tokenizer.tokenize("كتبت") == ["كتب", "##ت"]
    assert (tmp_path / "presets" / "tiny_test" / "tokenizer.json").is_file()  # the family's tokenizer
    with pytest.raises(ArtifactError, match="has no vocabulary"):
        saving.load_tokenizer(tiny_classifier.save_to_preset(tmp_path / "bare"))
    saving.save_tokenizer(vocab, tmp_path / "bare")  # added later: the preset's digests cover it
    assert {preset_format.VOCABULARY_FILE, "tokenizer.json", "model.weights.h5"} <= set(
        files.read_json(tmp_path / "bare" / "metadata.json")["sha256"])
    preset_format.verify_preset(tmp_path / "bare")
    assert saving.load_tokenizer(tmp_path / "bare").vocab_size == 7


def test_the_packaged_presets_folder_holds_no_configuration_name():
    from arlm.mobilebert.config import CONFIGS
    from arlm.preset_format import PRESETS_DIR, packaged_presets, verify_preset

    for name, meta in packaged_presets().items():  # each ships the digests of its files, and matches them
        assert {"config.json", "model.weights.h5"} <= set(meta.get("sha256", {})), name
        verify_preset(name)

    assert PRESETS_DIR.is_dir() and not set(packaged_presets()) & set(CONFIGS)
    assert sum(f.stat().st_size for f in PRESETS_DIR.rglob("*") if f.is_file()) < 10 * 2**20


# -- one writer per output: real processes, real signals --------------------------------------------------------

HOLDER = """
import sys
from arlm.files import staged_dir
with staged_dir(sys.argv[1]) as staging:
    (staging / "meta.json").write_text("half")
    print(staging, flush=True)
    sys.stdin.read()
"""


def test_a_second_writer_is_refused_while_the_first_lives_and_a_killed_ones_lock_is_taken_over(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from arlm.errors import InUseError
    from arlm.files import locked

    target = tmp_path / "out"
    first = subprocess.Popen([sys.executable, "-c", HOLDER, str(target)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    try:
        staging = Path(first.stdout.readline().strip())
        with pytest.raises(InUseError, match=rf"{target} is in use by process {first.pid} since \d{{4}}-"):
            with staged_dir(target):
                pytest.fail("a second writer got in")
        assert (staging / "meta.json").read_text() == "half"  # the first writer's staging folder is left alone
    finally:
        first.kill()
        first.wait()
    with locked(target), staged_dir(target) as mine:  # the dead writer's lock is taken over (and entered twice)
        (mine / "meta.json").write_text("whole")
        assert (tmp_path / ".out.lock").read_text().startswith(f"{os.getpid()} ")
    assert _tree(target) == {"meta.json": b"whole"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # its staging folder and the lock file are gone


def test_a_new_output_folder_gets_the_usual_mode_and_a_link_is_followed(tmp_path):
    previous = os.umask(0o022)
    try:
        with staged_dir(tmp_path / "out") as staging:
            (staging / "meta.json").write_text("{}")
    finally:
        os.umask(previous)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755  # not mkdtemp's 0700
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere" / "real")
    assert check_out_dir(tmp_path / "link", ("meta.json",)) == tmp_path / "elsewhere" / "real"
    with staged_dir(tmp_path / "link") as staging:  # staged beside the folder the link names, not the link
        assert staging.parent == tmp_path / "elsewhere"
        (staging / "meta.json").write_text("{}")
    assert (tmp_path / "link").is_symlink() and (tmp_path / "link" / "meta.json").is_file()


def test_after_ctrl_c_no_output_is_put_in_place_even_if_a_library_swallows_it(tmp_path):
    import signal
    import time

    from arlm.files import interruptible

    target = tmp_path / "out"
    with staged_dir(target) as staging:
        (staging / "meta.json").write_text("old")
    with pytest.raises(KeyboardInterrupt), interruptible():
        with staged_dir(target) as staging:
            (staging / "meta.json").write_text("new")
            try:
                os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, caught by code that ignores it
                time.sleep(5)
            except KeyboardInterrupt:
                pass
    assert _tree(target) == {"meta.json": b"old"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    with staged_dir(target) as staging:  # outside `interruptible` nothing is remembered
        (staging / "meta.json").write_text("new")
    assert _tree(target) == {"meta.json": b"new"}


def test_a_ctrl_c_that_a_library_turns_into_its_own_error_still_interrupts(tmp_path):
    import signal
    import time

    from arlm.files import interruptible, placed

    with pytest.raises(KeyboardInterrupt), interruptible():
        with atomic_path(tmp_path / "first.txt") as tmp:
            tmp.write_text("done")
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt as error:  # as a converter that reports every failure as its own error
            raise RuntimeError("conversion failed") from error
    assert placed() == [tmp_path / "first.txt"]  # what the interrupted block had finished
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with interruptible(then_ignore=True):
        pass
    try:
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # the `arlm` process, from its command's end on
        assert placed() == []
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def test_a_second_vocab_train_into_the_same_file_is_refused(tmp_path, capsys):
    import subprocess
    import sys
    from pathlib import Path

    from arlm.cli import main

    out, corpus = tmp_path / "vocab.txt", tmp_path / "corpus.txt"
    corpus.write_text("كتب الطالب الدرس\n\nقرأ المعلم الكتاب\n", encoding="utf-8")
    hold = "import sys\nfrom arlm.files import locked\nwith locked(sys.argv[1]):\n    print(1, flush=True)\n" \
           "    sys.stdin.read()\n"
    first = subprocess.Popen([sys.executable, "-c", hold, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    try:
        first.stdout.readline()
        command = ["vocab", "train", "--corpus", str(corpus), "--vocab-size", "40", "--out", str(out)]
        assert main(command) == 2
        assert f"{out} is in use by process {first.pid} since " in capsys.readouterr().err
        assert not out.exists()
    finally:
        first.kill()
        first.wait()
    assert main(command) == 0 and out.is_file()
