"""`arlm finetune` on the user's own files: a real small run, and bad rows named by file and line."""

import csv
import json

import pytest
from quantization_helpers import classification_task

from arlm import cli
from arlm.errors import DatasetError
from arlm.tasks.finetune import limit
from arlm.tasks.user_data import LabelCaseWarning, baseline_verdict, find_vocabulary, read_labelled, user_task


@pytest.fixture
def run_cli(monkeypatch):
    if "arlm.cli.finetune" not in cli.MODULES:
        monkeypatch.setattr(cli, "MODULES", (*cli.MODULES, "arlm.cli.finetune"))
    return cli.main


def _task_csv(path, split, rows):
    """A CSV of a real task's texts and label names: AJGT from the mirror, else the embedded hadith task."""
    task = classification_task()
    data = limit(getattr(task, split), rows)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "tweet", "sentiment"])
        for i in range(rows):
            writer.writerow([i, data.texts[i], task.labels[data.labels[i]]])
    return path


def test_finetune_cli_on_a_small_file(tmp_path, monkeypatch, run_cli, capsys):
    monkeypatch.chdir(tmp_path)  # no chapter 1 run here: the vocabulary is trained on the training file
    train = _task_csv(tmp_path / "train.csv", "train", 48)
    test = _task_csv(tmp_path / "test.csv", "test", 16)
    labels = sorted(classification_task().labels)
    code = run_cli(["finetune", "--train", str(train), "--test", str(test), "--text-column", "tweet",
                    "--label-column", "sentiment", "--model", "mberta", "--scale", "tiny", "--epochs", "1",
                    "--max-seq-length", "32", "--batch-size", "16", "--learning-rate", "1e-4", "--out", "out"])
    assert code == 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    assert 0.0 <= metrics["accuracy"] <= 1.0 and 0.0 <= metrics["macro_f1"] <= 1.0
    assert metrics["labels"] == labels and metrics["test_examples"] == 16
    assert metrics["max_seq_length"] == 32 and metrics["epochs"] == 1
    assert (tmp_path / "out" / "model.keras").is_file() and (tmp_path / "out" / "vocab.txt").is_file()
    captured = capsys.readouterr()
    printed = captured.out
    assert "macro-F1" in printed and "baselines on the same split: majority class" in printed
    # the progress bar says what it trains, not the name of a temporary folder
    bars = [line for line in (captured.out + captured.err).splitlines() if "/3 (" in line]
    assert bars and all(line.startswith("fine-tuning: ") for line in bars), bars
    assert 0.0 <= metrics["majority_accuracy"] <= 1.0 and 0.0 <= metrics["tfidf_lr_accuracy"] <= 1.0
    from arlm.artifacts import model_entry  # chapter 6's reader finds the model and its metadata

    path, meta = model_entry(tmp_path / "out")
    assert meta["labels"] == labels and meta["task"] == "classification"

    # again, from the model of that folder into that folder: it is read first, then replaced as a whole
    (tmp_path / "out" / "metrics.json").write_text("{}")
    code = run_cli(["finetune", "--train", str(train), "--test", str(test), "--text-column", "tweet",
                    "--label-column", "sentiment", "--model", "out/model.keras", "--epochs", "1",
                    "--max-seq-length", "32", "--out", "out"])
    assert code == 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["model"] == "pretrained weights from out/model.keras" and metrics["vocabulary"] == "out/vocab.txt"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "test.csv", "train.csv"]

    # and from a preset folder that ships its vocabulary (found there, no --vocab)
    from arlm.preset_format import VOCABULARY_FILE
    from arlm.saving import load_model, save_model

    save_model(load_model("out/model.keras", compile=False), tmp_path / "preset", tokenizer="out/vocab.txt")
    code = run_cli(["finetune", "--train", str(train), "--test", str(test), "--text-column", "tweet",
                    "--label-column", "sentiment", "--model", "preset", "--epochs", "1",
                    "--max-seq-length", "32", "--out", "again"])
    assert code == 0
    metrics = json.loads((tmp_path / "again" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["model"] == "pretrained weights from preset"
    assert metrics["vocabulary"] == f"preset/{VOCABULARY_FILE}"


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_bad_rows_name_file_and_line(tmp_path):
    good = _write(tmp_path / "train.csv", "text,label\nجميل,pos\nسيء,neg\n")
    empty = _write(tmp_path / "empty.csv", "text,label\nجميل,pos\n  ,neg\n")
    with pytest.raises(DatasetError, match=r"empty.csv:3: empty text in column 'text'"):
        read_labelled(empty, "text", "label")
    with pytest.raises(DatasetError, match=r"train.csv:2: no column 'review'; the columns are: text, label"):
        read_labelled(good, "review", "label")
    unknown = _write(tmp_path / "test.csv", "text,label\nجميل,pos\nعادي,neutral\n")
    with pytest.raises(DatasetError, match=r"test.csv:3: label 'neutral' .* training labels are: neg, pos"):
        user_task(good, unknown, None, "text", "label")
    latin1 = _write(tmp_path / "latin.tsv", b"text\tlabel\nok\tpos\ncaf\xe9\tneg\n")
    with pytest.raises(DatasetError, match=r"latin.tsv:3: not UTF-8 text"):
        read_labelled(latin1, "text", "label")
    ragged = _write(tmp_path / "ragged.tsv", "text\tlabel\nok\tpos\nno label\n")
    with pytest.raises(DatasetError, match=r"ragged.tsv:3: 1 columns, but the header has 2"):
        read_labelled(ragged, "text", "label")
    jsonl = _write(tmp_path / "bad.jsonl", '{"text": "جميل", "label": 1}\n{"text": "سيء", "label": \n')
    with pytest.raises(DatasetError, match=r"bad.jsonl:2: not JSON \(Expecting value"):
        read_labelled(jsonl, "text", "label")
    with pytest.raises(DatasetError, match=r"unknown file type '.xlsx'"):
        read_labelled(_write(tmp_path / "x.xlsx", "x"), "text", "label")


def test_formats_and_quoting(tmp_path):
    csv_file = _write(tmp_path / "a.csv", 'text,label\n"جميل، جدا",1\n"سطر\nثان",0\n')
    texts, labels = read_labelled(csv_file, "text", "label")
    assert texts == ["جميل، جدا", "سطر\nثان"] and labels == ["1", "0"]
    jsonl = _write(tmp_path / "a.jsonl", '{"t": "نص", "y": 2}\n\n{"t": "آخر", "y": 0}\n')
    assert read_labelled(jsonl, "t", "y") == (["نص", "آخر"], ["2", "0"])
    task = user_task(jsonl, jsonl, None, "t", "y")
    assert task.labels == ["0", "2"] and task.train.labels == [1, 0] and task.dev_is_test


def test_cli_reports_bad_input_as_an_error_exit(tmp_path, run_cli, capsys):
    train = _write(tmp_path / "train.csv", "text,label\nجميل,pos\nسيء,neg\n")
    code = run_cli(["finetune", "--train", str(train), "--test", str(train), "--text-column", "body",
                    "--label-column", "label", "--model", "mberta", "--out", str(tmp_path / "out")])
    assert code == 2
    assert "train.csv:2: no column 'body'" in capsys.readouterr().err


def test_labels_follow_one_rule(tmp_path):
    jsonl = _write(tmp_path / "n.jsonl", '{"t": "أ", "y": 1}\n{"t": "ب", "y": 1.0}\n{"t": "ت", "y": "1"}\n'
                                         '{"t": "ث", "y": " \\ufeff01 "}\n{"t": "ج", "y": 10}\n{"t": "ح", "y": 2}\n')
    assert read_labelled(jsonl, "t", "y")[1] == ["1", "1", "1", "1", "10", "2"]
    task = user_task(jsonl, jsonl, None, "t", "y")
    assert task.labels == ["1", "2", "10"]  # numbers sorted by value
    booleans = _write(tmp_path / "b.jsonl", '{"t": "أ", "y": true}\n{"t": "ب", "y": "False"}\n')
    assert read_labelled(booleans, "t", "y")[1] == ["true", "false"]
    bom = _write(tmp_path / "bom.csv", "text,label\nجميل,\ufeffpos\nسيء,neg \nرائع, pos\n")
    assert read_labelled(bom, "text", "label")[1] == ["pos", "neg", "pos"]
    with pytest.raises(DatasetError, match=r"mixed.csv:3: label 'pos' .* is text, but the label '1' of line 2"):
        read_labelled(_write(tmp_path / "mixed.csv", "text,label\nأ,1\nب,pos\n"), "text", "label")


def test_tsv_has_no_quoting(tmp_path):
    rows = [f'"نص {i}\t{i % 2}' if i == 5 else f"نص {i}\t{i % 2}" for i in range(48)]
    texts, labels = read_labelled(_write(tmp_path / "q.tsv", "text\tlabel\n" + "\n".join(rows) + "\n"), "text", "label")
    assert len(texts) == 48 and texts[5] == '"نص 5' and labels[:3] == ["0", "1", "0"]


def test_finetune_help_says_the_label_rule(run_cli, capsys):
    with pytest.raises(SystemExit):
        run_cli(["finetune", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "numbers are labels by value" in out and "true/false are a kind of their own" in out
    assert "TSV (no quoting)" in out


def test_the_verdict_says_when_the_model_does_not_beat_a_baseline():
    scores = {"majority_accuracy": 0.5, "tfidf_lr_accuracy": 0.8}
    assert baseline_verdict({"accuracy": 0.5, **scores}).endswith("does not beat the majority class "
                                                                   "(it has learned nothing usable)")
    assert "does not beat TF-IDF" in baseline_verdict({"accuracy": 0.7, **scores})
    assert baseline_verdict({"accuracy": 0.9, **scores}).endswith("the model beats both")


def test_labels_that_differ_only_in_case_are_named_or_folded(tmp_path):
    rows = "text,label\nأ,positive\nب,Positive\nت, POSITIVE\nث,negative\n"
    train = _write(tmp_path / "train.csv", rows)
    with pytest.warns(LabelCaseWarning, match=r"train.csv: labels that differ only in case \(column 'label'\) are "
                                              r"distinct classes: 'positive', 'Positive', 'POSITIVE'; pass "
                                              r"--fold-label-case"):
        task = user_task(train, train, None, "text", "label")
    assert task.labels == ["POSITIVE", "Positive", "negative", "positive"]
    test = _write(tmp_path / "test.csv", "text,label\nج,Negative\nح,POSITIVE\n")
    task = user_task(train, test, None, "text", "label", fold_label_case=True)
    assert task.labels == ["negative", "positive"] and task.train.labels == [1, 1, 1, 0]
    assert task.test.labels == [0, 1]


def test_the_cli_prints_the_case_warning_as_its_own_line(tmp_path, run_cli, capsys):
    train = _write(tmp_path / "train.csv", "text,label\nأ,positive\nب,Positive\nت,negative\n")
    test = _write(tmp_path / "test.csv", "text,label\nث,neutral\n")  # then stops: no training needed here
    code = run_cli(["finetune", "--train", str(train), "--test", str(test), "--text-column", "text",
                    "--label-column", "label", "--model", "mberta", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and err[0].startswith("arlm finetune: warning: ") and "'positive', 'Positive'" in err[0]
    assert err[1].startswith("arlm finetune: error: ") and "'neutral'" in err[1]


def test_a_semicolon_separated_csv_with_commas_in_its_texts_is_read_right(tmp_path):
    semi = _write(tmp_path / "semi.csv", "text;label\nجميل, جدا, فعلا;pos\n\"سيء; جدا\";neg\n")
    assert read_labelled(semi, "text", "label") == (["جميل, جدا, فعلا", "سيء; جدا"], ["pos", "neg"])


def test_json_objects_pretty_printed_or_in_one_array(tmp_path):
    rows = [{"text": "جميل جدا", "label": "pos"}, {"text": "سيء", "label": "neg"}]
    expected = (["جميل جدا", "سيء"], ["pos", "neg"])
    array = _write(tmp_path / "array.json", json.dumps(rows, ensure_ascii=False, indent=2))
    assert read_labelled(array, "text", "label") == expected
    pretty = _write(tmp_path / "pretty.jsonl", "\n".join(json.dumps(r, ensure_ascii=False, indent=1) for r in rows))
    assert read_labelled(pretty, "text", "label") == expected


@pytest.mark.parametrize("text, message", [
    ('[\n {"text": "جميل", "label": "pos"},\n {"text": "سيء"\n]\n', r"x.json:4: not JSON \(Expecting ',' delimiter"),
    ("[\n 1,\n 2\n]", r"x.json:2: expected a JSON object \(one per row\), got int"),
    ('[{"text": "جميل", "label": "pos"}', r"x.json: the JSON array is never closed"),
    ('[{"text": "جميل", "label": "pos"}\n{"text": "سيء", "label": "neg"}]', r"x.json:2: expected ',' or ']'"),
])
def test_malformed_json_is_named_by_its_line(tmp_path, text, message):
    with pytest.raises(DatasetError, match=message):
        read_labelled(_write(tmp_path / "x.json", text), "text", "label")


def test_a_csv_cell_longer_than_the_csv_modules_limit_is_read(tmp_path):
    import csv as csv_module

    long = "كلمة " * 40_000  # 400 KB, over the csv module's 128 KB default
    path = _write(tmp_path / "long.csv", f'text,label\n"{long}",pos\nقصير,neg\n')
    limit = csv_module.field_size_limit()
    assert read_labelled(path, "text", "label")[0] == [long, "قصير"]
    assert csv_module.field_size_limit() == limit  # the module's limit is restored


def test_user_files_in_another_encoding(tmp_path):
    text = "text,label\nجميل,pos\nسيء,neg\n"
    cp1256 = _write(tmp_path / "cp.csv", text.encode("cp1256"))
    assert read_labelled(cp1256, "text", "label", encoding="cp1256") == (["جميل", "سيء"], ["pos", "neg"])
    utf16 = _write(tmp_path / "u16.csv", text.encode("utf-16-le"))
    with pytest.raises(DatasetError, match=r"u16.csv: looks like UTF-16 without a byte-order mark"):
        read_labelled(utf16, "text", "label")
    assert read_labelled(utf16, "text", "label", encoding="utf-16-le")[1] == ["pos", "neg"]


def test_a_preset_without_its_vocabulary_is_named_not_given_a_new_one(tmp_path):
    from quantization_helpers import tiny_model

    from arlm.saving import save_model

    preset = save_model(tiny_model(40), tmp_path / "preset")  # no tokenizer: no vocabulary inside
    with pytest.raises(DatasetError, match=r"preset: the preset has no vocabulary "
                                           r"\(assets/tokenizer/vocabulary.txt is missing\); pass --vocab"):
        find_vocabulary(str(preset), "tiny")
