import pytest

from arlm.artifacts import CHAPTERS, Chapter
from arlm.errors import ArtifactError


def test_chapter_folder_and_results(tmp_path):
    import keras

    from arlm.scales import resolve

    ch = Chapter("02_teacher", "tiny", tmp_path, config=resolve("tiny", teacher_steps=7))
    assert ch.path("figure1", "index.json").parent.is_dir()
    ch.write_results({"mlm_accuracy": 0.25}, data="embedded")
    results = ch.results()
    environment, config = results.pop("environment"), results.pop("config")
    assert results == {"chapter": "02_teacher", "scale": "tiny", "data": "embedded", "mlm_accuracy": 0.25}
    assert config["teacher_steps"] == 7 and config["seed"] == 12345  # overrides and seed are recorded
    assert environment["keras"] == keras.__version__ and environment["backend"] == keras.backend.backend()
    assert ch.results("01_corpus") == {}


def test_missing_artifact_names_the_chapter_to_run_first(tmp_path):
    ch = Chapter("02_teacher", "cpu", tmp_path / "cpu")
    with pytest.raises(ArtifactError, match=r"vocab.txt is missing: run chapter 01_corpus first.*--chapters 1"):
        ch.require("01_corpus", "vocab.txt")
    (tmp_path / "cpu" / "01_corpus").mkdir()
    (tmp_path / "cpu" / "01_corpus" / "vocab.txt").write_text("[PAD]\n")
    assert ch.require("01_corpus", "vocab.txt").read_text() == "[PAD]\n"


def test_unknown_chapter_is_an_error(tmp_path):
    with pytest.raises(ArtifactError, match="unknown chapter"):
        Chapter("08_nothing", "tiny", tmp_path)
    assert len(CHAPTERS) == 7
