"""Every malformed input, across the commands: exit status 2, a one-line message naming the file, line or parameter,
no traceback, and the output folder as it was (names and bytes).

One table (`CASES`) drives one test that calls the real entry point, `arlm.cli.main`, in this process; a few cases
run again in a subprocess (`SUBPROCESS`) to show that nothing but the message reaches stderr. The inputs are tiny
and every case fails before any training.
"""

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from archives import zip_bytes
from quantization_helpers import tiny_model

from arlm import cli, datasets
from arlm.saving import save_model

POSITIVE = ["الخدمة ممتازة والموظفين محترمين", "أحببت هذا الفندق كثيرا", "تجربة رائعة وسأعود مرة أخرى",
            "المكان نظيف والطعام لذيذ"]
NEGATIVE = ["الخدمة سيئة جدا", "لن أعود إلى هذا المطعم", "الغرفة متسخة والموظف وقح", "تجربة مخيبة للآمال"]
CORPUS = "\n".join(POSITIVE) + "\n\n" + "\n".join(NEGATIVE) + "\n\n" + "\n".join(POSITIVE[::-1] + NEGATIVE) + "\n"
LATIN = ["the service was great", "i loved this hotel", "the room was dirty", "never again", "a wonderful stay"]
MAX_SEQ = 16  # the exported file's length; the tiny model has 32 positions


def _csv(path, rows, header="text,label"):
    path.write_text(header + "\n" + "".join(f"{text},{label}\n" for text, label in rows), encoding="utf-8")
    return path


def _rows(labels=("pos", "neg")):
    return [(text, labels[0]) for text in POSITIVE] + [(text, labels[1]) for text in NEGATIVE]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """The workspace every case reads: good and bad input files, an earlier finetune output (a tiny untrained model),
    an earlier pretraining-data output, an exported .tflite with its sidecar, and a download cache."""
    from arlm import cli
    from arlm.quantization.export import export_tflite, write_sidecar
    from arlm.tokenizer import train_vocabulary

    root = tmp_path_factory.mktemp("bad-input")
    w = {"root": root}
    w["train"] = _csv(root / "train.csv", _rows())
    w["test"] = _csv(root / "test.csv", _rows())
    (root / "corpus.txt").write_text(CORPUS, encoding="utf-8")
    w["corpus"] = root / "corpus.txt"
    vocab = root / "vocab.txt"
    train_vocabulary(POSITIVE + NEGATIVE, 120, vocab, min_frequency=1)
    w["vocab"] = vocab
    train_vocabulary(LATIN, 60, root / "latin.txt", min_frequency=1)
    w["latin_vocab"] = root / "latin.txt"
    (root / "bad_vocab.txt").write_text("hello\nworld\n", encoding="utf-8")
    w["bad_vocab"] = root / "bad_vocab.txt"

    # an earlier `arlm finetune` output: what a failing rerun must leave alone
    size = len(vocab.read_text(encoding="utf-8").splitlines())
    model_out = root / "model_out"
    model_out.mkdir()
    model = tiny_model(size)
    save_model(model, model_out / "model.keras")
    (model_out / "vocab.txt").write_bytes(vocab.read_bytes())
    (model_out / "index.json").write_text(json.dumps({"model": {
        "file": "model.keras", "task": "classification", "kind": "classification", "labels": ["neg", "pos"],
        "max_seq_length": MAX_SEQ, "vocab": "vocab.txt"}}))
    (model_out / "metrics.json").write_text('{"accuracy": 0.5}\n')
    w["model_out"], w["model"] = model_out, model_out / "model.keras"
    data = w["model"].read_bytes()
    (root / "truncated.keras").write_bytes(data[: len(data) // 2])
    w["truncated"] = root / "truncated.keras"

    # an earlier `arlm pretraining-data` output, made by the command itself
    w["pre_out"] = root / "pre_out"
    assert cli.main(["pretraining-data", "--corpus", str(w["corpus"]), "--vocab", str(vocab), "--out",
                     str(w["pre_out"]), "--max-seq-length", "32", "--dupe-factor", "1", "--workers", "1"]) == 0
    assert (w["pre_out"] / "meta.json").is_file()

    # an earlier `arlm export` output: the .tflite, its sidecar and vocabulary
    exports = root / "exports"
    tflite = export_tflite(model, exports / "model.tflite", "float32", max_seq_length=MAX_SEQ)
    write_sidecar(tflite, vocab, "classification", ["neg", "pos"], MAX_SEQ, "float32")
    w["exports"], w["tflite"] = exports, tflite
    for name, sidecar in {"random": {"labels": ["neg", "pos"]}, "three": {"labels": ["a", "b", "c"]},
                          "novocab": {"labels": ["neg", "pos"], "vocab": "missing.vocab.txt"}}.items():
        folder = root / name
        folder.mkdir()
        target = folder / "model.tflite"
        target.write_bytes(os.urandom(4096) if name == "random" else tflite.read_bytes())
        (folder / "model.vocab.txt").write_bytes(vocab.read_bytes())
        info = {"task": "classification", "vocab": "model.vocab.txt", "max_seq_length": MAX_SEQ, **sidecar}
        (folder / "model.json").write_text(json.dumps(info))
        w[name] = target
    (root / "notjson").mkdir()
    (root / "notjson" / "model.tflite").write_bytes(tflite.read_bytes())
    (root / "notjson" / "model.json").write_text("{'task': 'classification'")
    w["notjson"] = root / "notjson" / "model.tflite"
    (root / "lonely").mkdir()
    (root / "lonely" / "model.tflite").write_bytes(tflite.read_bytes())
    w["lonely"] = root / "lonely" / "model.tflite"
    return w


def _write(ws, name, text):
    path = ws["root"] / "inputs" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return str(path)


def _folder(ws, name, files):
    path = ws["root"] / "inputs" / name
    path.mkdir(parents=True, exist_ok=True)
    for file, text in files.items():
        (path / file).write_text(text, encoding="utf-8")
    return str(path)


def _models(ws, name, files):
    """A folder holding the tiny model and `files`."""
    folder = Path(_folder(ws, name, files))
    (folder / "model.keras").write_bytes(ws["model"].read_bytes())
    return str(folder)


def finetune(ws, *extra, out=None, train=None, test=None, model="mberta"):
    return ["finetune", "--train", str(train or ws["train"]), "--test", str(test or ws["test"]), "--text-column",
            "text", "--label-column", "label", "--model", str(model), "--out", str(out or ws["model_out"]), *extra]


def labels_file(ws, name, text):
    """A finetune run whose training file is `text` (the test file is the good one)."""
    return finetune(ws, train=_write(ws, name, text))


def pretraining(ws, *extra, out=None, corpus=None, vocab=None):
    return ["pretraining-data", "--corpus", str(corpus or ws["corpus"]), "--vocab", str(vocab or ws["vocab"]),
            "--out", str(out or ws["pre_out"]), "--workers", "1", *extra]


def vocab_train(ws, *extra, out=None, corpus=None):
    return ["vocab", "train", "--corpus", str(corpus or ws["corpus"]), "--vocab-size", "50", "--out",
            str(out or ws["vocab"]), *extra]


def export(ws, *extra, model=None, out=None):
    return ["export", str(model or ws["model_out"]), "--out", str(out or ws["tflite"]), *extra]


def fetch_with(payload):
    def setup(ws, monkeypatch):
        monkeypatch.setattr(datasets, "_download", lambda url: payload)
    return setup


def offline(ws, monkeypatch):
    def fail(url):
        raise datasets.DatasetError(f"could not download {url}: no network")
    monkeypatch.setattr(datasets, "_download", fail)


def corrupt_cache(ws, monkeypatch):
    """A fetched HARD file, then changed on disk; the network is gone."""
    payload = zip_bytes({"balanced-reviews.txt": "rating\treview\n5\tفندق جميل\n"})
    monkeypatch.setattr(datasets, "_download", lambda url: payload)
    path = datasets.fetch("hard", "balanced")
    path.write_text("rating\treview\n1\tغيرت\n", encoding="utf-8")
    offline(ws, monkeypatch)


def cache_is_a_file(ws, monkeypatch):
    monkeypatch.setenv("ARLM_CACHE_DIR", str(ws["train"]))
    offline(ws, monkeypatch)


def no_write_permission(ws, monkeypatch):
    import arlm.files

    monkeypatch.setattr(arlm.files.os, "access", lambda path, mode: False)


@dataclass
class Case:
    id: str
    argv: object  # ws -> the arguments of `arlm`
    match: str  # a substring of stderr that names the file, line or parameter
    out: str = None  # the key in `ws` of an output folder that must stay as it was
    setup: object = None  # (ws, monkeypatch) -> None
    also: list = field(default_factory=list)  # further substrings


CASES = [
    # -- arlm finetune: files, folders and numbers --------------------------------------------------------------
    Case("finetune-test-missing", lambda w: finetune(w, test=w["root"] / "missing.csv"), "--test",
         "model_out", also=["missing.csv: no such file"]),
    Case("finetune-dev-missing", lambda w: finetune(w, "--dev", str(w["root"] / "nodev.csv")),
         "--dev", "model_out", also=["nodev.csv: no such file"]),
    Case("finetune-train-is-a-folder", lambda w: finetune(w, train=w["root"]), "--train", "model_out",
         also=["is not a file"]),
    Case("finetune-out-is-a-file", lambda w: finetune(w, out=w["train"]), "--out", also=["train.csv: is a file"]),
    Case("finetune-out-below-a-file", lambda w: finetune(w, out=w["train"] / "out"), "--out",
         also=["cannot be created", "train.csv is a file"]),
    Case("finetune-out-unwritable", lambda w: finetune(w, out=w["root"] / "new_out"), "permission denied",
         setup=no_write_permission, also=["--out"]),
    Case("finetune-out-holds-other-files", lambda w: finetune(w, out=_folder(w, "mine", {"notes.txt": "mine"})),
         "--out", also=["notes.txt", "does not write"]),
    Case("finetune-max-seq-length-0", lambda w: finetune(w, "--max-seq-length", "0"), "argument --max-seq-length",
         "model_out", also=["at least 3, got 0"]),
    Case("finetune-max-seq-length-negative", lambda w: finetune(w, "--max-seq-length", "-5"),
         "argument --max-seq-length", "model_out"),
    Case("finetune-max-seq-length-above-512", lambda w: finetune(w, "--max-seq-length", "600", "--vocab",
                                                                str(w["vocab"])),
         "--max-seq-length", "model_out", also=["512 positions"]),
    Case("finetune-max-seq-length-above-the-files-positions",
         lambda w: finetune(w, "--max-seq-length", "40", model=w["model"]), "--max-seq-length", "model_out",
         also=["32 positions"]),
    Case("finetune-epochs-0", lambda w: finetune(w, "--epochs", "0"), "argument --epochs", "model_out"),
    Case("finetune-batch-size-0", lambda w: finetune(w, "--batch-size", "0"), "argument --batch-size", "model_out"),
    Case("finetune-learning-rate-negative", lambda w: finetune(w, "--learning-rate=-1e-4"),
         "argument --learning-rate", "model_out"),
    Case("finetune-bad-vocab-into-a-model-folder", lambda w: finetune(w, "--vocab", str(w["bad_vocab"]),
                                                                    model=w["model"]),
         "bad_vocab.txt", "model_out", also=["--vocab", "[PAD] [UNK] [CLS] [SEP] [MASK]"]),
    Case("finetune-vocab-missing", lambda w: finetune(w, "--vocab", str(w["root"] / "novocab.txt")),
         "novocab.txt: no such vocabulary file", "model_out"),
    Case("finetune-vocab-of-another-size", lambda w: finetune(w, "--vocab", str(w["latin_vocab"]), model=w["model"]),
         "model.keras", "model_out", also=["vocabulary but the tokenizer has"]),
    Case("finetune-truncated-keras", lambda w: finetune(w, model=w["truncated"]), "truncated.keras",
         "model_out", also=["not a complete .keras file", "--model"]),
    Case("finetune-model-neither-preset-nor-file", lambda w: finetune(w, model="bertish"), "--model",
         "model_out", also=["'bertish'"]),
    Case("finetune-unknown-scale", lambda w: finetune(w, "--scale", "huge"), "unknown scale 'huge'", "model_out"),
    Case("finetune-text-and-label-column-equal", lambda w: [*finetune(w), "--label-column", "text"],
         "--label-column", "model_out"),
    # -- arlm finetune: rows and labels ---------------------------------------------------------------------------
    Case("labels-mixed-kinds", lambda w: labels_file(w, "mixed.csv", "text,label\nجميل,1\nسيء,0\nرائع,pos\n"),
         "mixed.csv:4", "model_out", also=["is text", "line 2 is a number"]),
    Case("labels-jsonl-number-and-bool", lambda w: labels_file(
        w, "mixed.jsonl", '{"text": "جميل", "label": 1}\n{"text": "سيء", "label": true}\n'),
        "mixed.jsonl:2", "model_out", also=["true/false"]),
    Case("labels-nan", lambda w: labels_file(w, "nan.csv", "text,label\nجميل,pos\nسيء,NaN\n"), "nan.csv:3",
         "model_out", also=["NaN", "'label'"]),
    Case("labels-jsonl-nan", lambda w: labels_file(w, "nan.jsonl", '{"text": "جميل", "label": NaN}\n'),
         "nan.jsonl:1", "model_out", also=["not a finite number"]),
    Case("labels-empty", lambda w: labels_file(w, "empty.csv", "text,label\nجميل,pos\nسيء, \ufeff \n"),
         "empty.csv:3", "model_out", also=["empty label"]),
    Case("labels-jsonl-null", lambda w: labels_file(w, "null.jsonl", '{"text": "جميل", "label": null}\n'),
         "null.jsonl:1", "model_out", also=["missing label"]),
    Case("labels-jsonl-list", lambda w: labels_file(w, "list.jsonl", '{"text": "جميل", "label": [1]}\n'),
         "list.jsonl:1", "model_out", also=["a string, a number or true/false"]),
    Case("labels-single", lambda w: labels_file(w, "one.csv", "text,label\nجميل,pos\nسيء,pos\n"), "one.csv",
         "model_out", also=["single label"]),
    Case("labels-unseen-in-test", lambda w: finetune(w, test=_write(w, "t.csv", "text,label\nعادي,neutral\n")),
         "t.csv:2", "model_out", also=["'neutral'", "never occurs"]),
    Case("rows-duplicated-header-column", lambda w: labels_file(w, "dup.csv", "text,label,label\nجميل,pos,neg\n"),
         "dup.csv:1", "model_out", also=["column 'label' appears twice"]),
    Case("rows-jsonl-duplicated-key", lambda w: labels_file(
        w, "dup.jsonl", '{"text": "جميل", "label": "pos", "label": "neg"}\n'), "dup.jsonl:1", "model_out",
        also=["'label' appears twice"]),
    Case("rows-csv-quote-never-closed", lambda w: labels_file(
        w, "quote.csv", 'text,label\nجميل,pos\n"سيء,neg\nرائع,pos\n'), "quote.csv:3", "model_out",
        also=["never closed"]),
    Case("rows-jsonl-text-not-a-string", lambda w: labels_file(w, "num.jsonl", '{"text": 5, "label": "pos"}\n'),
         "num.jsonl:1", "model_out", also=["expected a string"]),
    Case("rows-missing-column", lambda w: [*finetune(w), "--text-column", "body"], "train.csv:2", "model_out",
         also=["no column 'body'"]),
    Case("rows-tab-separated-csv", lambda w: labels_file(w, "tabs.csv", "text\tlabel\nجميل\tpos\n"), "tabs.csv:2",
         "model_out", also=["tabs"]),
    Case("rows-ragged-tsv", lambda w: labels_file(w, "ragged.tsv", "text\tlabel\nجميل\tpos\nسيء\n"),
         "ragged.tsv:3", "model_out", also=["1 columns"]),
    Case("rows-not-utf8", lambda w: labels_file(w, "latin1.csv", b"text,label\ncaf\xe9,pos\n"), "latin1.csv:2",
         "model_out", also=["not UTF-8"]),
    Case("rows-unknown-file-type", lambda w: finetune(w, train=_write(w, "x.xlsx", "x")), "unknown file type",
         "model_out", also=["x.xlsx"]),
    # -- arlm pretraining-data ---------------------------------------------------------------------------------------
    Case("pretraining-corpus-missing", lambda w: pretraining(w, corpus=w["root"] / "nocorpus.txt"), "--corpus",
         "pre_out", also=["nocorpus.txt: no such file"]),
    Case("pretraining-corpus-is-a-folder", lambda w: pretraining(w, corpus=w["root"]), "--corpus", "pre_out",
         also=["is not a file"]),
    Case("pretraining-vocab-missing", lambda w: pretraining(w, vocab=w["root"] / "novocab.txt"), "novocab.txt",
         "pre_out", also=["--vocab"]),
    Case("pretraining-bad-vocab-keeps-the-old-shards", lambda w: pretraining(w, vocab=w["bad_vocab"]),
         "bad_vocab.txt", "pre_out", also=["--vocab"]),
    Case("pretraining-empty-corpus-keeps-the-old-shards", lambda w: pretraining(w, corpus=_write(w, "blank.txt",
                                                                                               "\n\n  \n")),
         "no pretraining instances", "pre_out"),
    Case("pretraining-out-is-a-file", lambda w: pretraining(w, out=w["train"]), "--out", also=["is a file"]),
    Case("pretraining-out-holds-other-files", lambda w: pretraining(w, out=w["model_out"]), "--out", "model_out",
         also=["model.keras"]),
    Case("pretraining-max-seq-length-0", lambda w: pretraining(w, "--max-seq-length", "0"),
         "argument --max-seq-length", "pre_out"),
    Case("pretraining-predictions-above-length", lambda w: pretraining(w, "--max-predictions-per-seq", "200"),
         "max_predictions_per_seq", "pre_out"),
    Case("pretraining-masked-lm-prob", lambda w: pretraining(w, "--masked-lm-prob", "1.5"), "masked_lm_prob",
         "pre_out"),
    Case("pretraining-dupe-factor-0", lambda w: pretraining(w, "--dupe-factor", "0"), "argument --dupe-factor",
         "pre_out"),
    Case("pretraining-workers-0", lambda w: [*pretraining(w), "--workers", "0"], "argument --workers", "pre_out"),
    Case("pretraining-max-words-negative", lambda w: pretraining(w, "--max-words", "-1"), "argument --max-words",
         "pre_out"),
    # -- arlm vocab train --------------------------------------------------------------------------------------------
    Case("vocab-size-too-small", lambda w: vocab_train(w, "--vocab-size", "3"), "argument --vocab-size", "root"),
    Case("vocab-out-is-a-folder", lambda w: vocab_train(w, out=w["model_out"]), "--out", "model_out",
         also=["is a folder"]),
    Case("vocab-corpus-missing", lambda w: vocab_train(w, corpus=w["root"] / "nocorpus.txt"), "nocorpus.txt",
         "root", also=["--corpus"]),
    Case("vocab-empty-corpus", lambda w: vocab_train(w, corpus=_write(w, "empty.txt", "\n")), "is empty", "root"),
    Case("vocab-out-below-a-file", lambda w: vocab_train(w, out=w["train"] / "vocab.txt"), "--out",
         also=["cannot be created"]),
    # -- arlm export -------------------------------------------------------------------------------------------------
    Case("export-model-missing", lambda w: export(w, model=w["root"] / "nomodel.keras"), "nomodel.keras",
         "exports", also=["MODEL_DIR"]),
    Case("export-truncated-keras", lambda w: export(w, "--vocab", str(w["vocab"]), model=w["truncated"]),
         "truncated.keras", "exports", also=["not a complete .keras file"]),
    Case("export-out-not-tflite", lambda w: export(w, out=w["exports"] / "model.bin"), "--out", "exports",
         also=["must end with .tflite"]),
    Case("export-out-is-a-folder", lambda w: export(w, out=_folder(w, "dir.tflite", {})), "--out", "exports",
         also=["is a folder"]),
    Case("export-bad-vocab", lambda w: export(w, "--vocab", str(w["bad_vocab"])), "bad_vocab.txt", "exports",
         also=["--vocab"]),
    Case("export-vocab-of-another-size", lambda w: export(w, "--vocab", str(w["latin_vocab"])), "latin.txt",
         "exports", also=["--vocab", "token vocabulary"]),
    Case("export-max-seq-length-0", lambda w: export(w, "--max-seq-length", "0"), "argument --max-seq-length",
         "exports"),
    Case("export-max-seq-length-above-positions", lambda w: export(w, "--max-seq-length", "64"),
         "--max-seq-length 64", "exports", also=["32 positions"]),
    Case("export-int8-without-calibration", lambda w: export(w, "--quantize", "int8"), "--calibration", "exports"),
    Case("export-calibration-missing", lambda w: export(w, "--quantize", "int8", "--calibration",
                                                        str(w["root"] / "nocal.txt")),
         "--calibration", "exports", also=["nocal.txt: no such file"]),
    Case("export-calibration-empty", lambda w: export(w, "--quantize", "int8", "--calibration",
                                                      _write(w, "cal.txt", "\n \n")),
         "cal.txt: no texts", "exports"),
    Case("export-calibration-cp1256", lambda w: export(w, "--quantize", "int8", "--calibration",
                                                       _write(w, "cal1256.txt", ARABIC.encode("cp1256"))),
         "cal1256.txt:1: not UTF-8 text", "exports", also=["--encoding", "cp1256"]),
    Case("export-calibration-encoding-unknown", lambda w: export(
        w, "--quantize", "int8", "--calibration", _write(w, "cal2.txt", ARABIC), "--encoding", "klingon"),
         "--encoding 'klingon'", "exports", also=["unknown encoding"]),
    Case("export-index-not-json", lambda w: export(w, model=_models(w, "badindex", {"index.json": "{oops"})),
         "index.json", "exports", also=["not a JSON index"]),
    # -- arlm predict ------------------------------------------------------------------------------------------------
    Case("predict-tflite-missing", lambda w: ["predict", str(w["root"] / "none.tflite"), "نص"], "none.tflite",
         also=["does not exist"]),
    Case("predict-random-bytes", lambda w: ["predict", str(w["random"]), "نص"], str(Path("random/model.tflite")),
         also=["not a TFLite model"]),
    Case("predict-sidecar-missing", lambda w: ["predict", str(w["lonely"]), "نص"], "model.json is missing"),
    Case("predict-sidecar-not-json", lambda w: ["predict", str(w["notjson"]), "نص"], "model.json",
         also=["not the JSON sidecar"]),
    Case("predict-sidecar-other-labels", lambda w: ["predict", str(w["three"]), "نص"], "model.json",
         also=["3 labels", "2 outputs"]),
    Case("predict-sidecar-vocab-missing", lambda w: ["predict", str(w["novocab"]), "نص"], "missing.vocab.txt"),
    Case("predict-empty-text", lambda w: ["predict", str(w["tflite"]), "  "], "TEXT"),
    Case("predict-threads-0", lambda w: ["predict", str(w["tflite"]), "نص", "--threads", "0"],
         "argument --threads"),
    # -- arlm run: argument validation only ---------------------------------------------------------------------------
    Case("run-chapters-out-of-range", lambda w: ["run", "--chapters", "0-9"], "--chapters '0-9'",
         also=["numbered 1-7"]),
    Case("run-chapters-not-numbers", lambda w: ["run", "--chapters", "two"], "--chapters 'two'"),
    Case("run-unknown-parameter", lambda w: ["run", "-p", "teacher_stepz=3"], "'teacher_stepz'",
         also=["valid parameters are"]),
    Case("run-parameter-wrong-type", lambda w: ["run", "-p", "teacher_steps=many"], "'teacher_steps' expects a int"),
    Case("run-checkpoint-every-0", lambda w: ["run", "-p", "checkpoint_every=0"], "'checkpoint_every'",
         also=["at least 1, got 0"]),
    Case("run-learning-rate-negative", lambda w: ["run", "-p", "teacher_learning_rate=-1"],
         "'teacher_learning_rate'", also=["greater than 0"]),
    Case("run-probability-nan", lambda w: ["run", "-p", "masked_lm_prob=NaN"], "'masked_lm_prob'",
         also=["finite"]),
    Case("run-parameter-without-value", lambda w: ["run", "-p", "teacher_steps"], "expected name=value"),
    Case("run-unknown-scale", lambda w: ["run", "--scale", "huge"], "unknown scale 'huge'"),
    # -- arlm data fetch ---------------------------------------------------------------------------------------------
    Case("fetch-unknown-dataset", lambda w: ["data", "fetch", "nope"], "unknown dataset 'nope'"),
    Case("fetch-without-a-download", lambda w: ["data", "fetch", "saudinewsnet"], "saudinewsnet/text",
         also=["ARLM_DATA_DIR", "no download"]),
    Case("fetch-payload-not-a-zip", lambda w: ["data", "fetch", "hard"], "not a zip archive",
         setup=fetch_with(b"<html>moved</html>"), also=["balanced-reviews.txt", "<html>"]),
    Case("fetch-checksum-mismatch", lambda w: ["data", "fetch", "arcd"], "checksum mismatch for arcd/",
         setup=fetch_with(b'{"data": []}')),
    Case("fetch-cached-file-corrupted", lambda w: ["data", "fetch", "hard"], "is corrupt",
         setup=corrupt_cache, also=["balanced--balanced-reviews.txt", "downloading it again failed"]),
    Case("fetch-cache-is-a-file", lambda w: ["data", "fetch", "hard"], "ARLM_CACHE_DIR",
         setup=cache_is_a_file, also=["train.csv is a file"]),
]
# -- input data: mirror digests, ARLM_DATA_DIR, encodings, corpus files, standard input (issue 25) ----------------
def mirror_holding(files):
    """ARLM_DATA_DIR set to a new mirror holding `files` ({path inside the mirror: bytes})."""
    def setup(ws, monkeypatch):
        folder = ws["root"] / "inputs" / f"mirror-{len(list((ws['root'] / 'inputs').glob('mirror-*')))}"
        for name, data in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        monkeypatch.setenv("ARLM_DATA_DIR", str(folder))
    return setup


def data_dir(kind):
    def setup(ws, monkeypatch):
        monkeypatch.setenv("ARLM_DATA_DIR", str(ws["train"] if kind == "file" else ws["root"] / "nomirror"))
    return setup


def stdin(data):
    def setup(ws, monkeypatch):
        import io

        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    return setup


def preset_without_vocabulary(ws):
    """A preset folder of the tiny model saved without a tokenizer (so without a vocabulary)."""
    folder = ws["root"] / "inputs" / "preset_without_vocab"
    if not folder.exists():
        from arlm.saving import load_model

        save_model(load_model(ws["model"], compile=False), folder)
    return str(folder)


def _gz(ws, name, data, cut):
    """A .gz file whose last `cut` bytes are missing (a copy that stopped early)."""
    import gzip

    return _write(ws, name, gzip.compress(data)[:-cut])


ARABIC = "السلام عليكم ورحمة الله\nمرحبا بكم في الكتاب\n\nنص اخر\n"
CASES += [
    Case("data-mirror-file-corrupt", lambda w: ["data", "fetch", "ajgt"], "ajgt/train: the mirror file",
         setup=mirror_holding({"ajgt/paper_split/train.tsv": "نص\t1\n".encode()}),
         also=["train.tsv is corrupt: sha256 ", "restore it",
               "expected 8b31724757f861c29fcee7831ddb9e24779b43aa3aafe41d565b74e72173b4a7"]),
    Case("data-list-mirror-file-corrupt", lambda w: ["data", "list"], "ajgt/train: the mirror file",
         setup=mirror_holding({"ajgt/paper_split/train.tsv": "نص\t1\n".encode()}), also=["is corrupt: sha256"]),
    Case("data-dir-is-a-file", lambda w: ["data", "fetch", "ajgt"], "ARLM_DATA_DIR=", setup=data_dir("file"),
         also=["train.csv is not a folder (it is a file)", "unset it to use the embedded corpus"]),
    Case("data-dir-missing", lambda w: ["data", "list"], "ARLM_DATA_DIR=", setup=data_dir("missing"),
         also=["nomirror is not a folder (it does not exist)"]),
    Case("run-data-dir-is-a-file", lambda w: ["run", "--chapters", "1"], "ARLM_DATA_DIR=",
         setup=data_dir("file"), also=["is not a folder"]),
    Case("run-chapters-empty", lambda w: ["run", "--chapters", ""], "--chapters ''",
         also=["expected all, or chapter numbers 1-7 and ranges such as 1-3,5"]),
    Case("run-chapters-backwards", lambda w: ["run", "--chapters", "3-1"], "--chapters '3-1'",
         also=["runs backwards; write 1-3"]),
    Case("vocab-corpus-cp1256", lambda w: vocab_train(w, corpus=_write(w, "cp1256.txt", ARABIC.encode("cp1256"))),
         "cp1256.txt:1: not UTF-8 text", "root", also=["--encoding", "cp1256"]),
    Case("vocab-corpus-utf16", lambda w: vocab_train(w, corpus=_write(w, "utf16.txt", ARABIC.encode("utf-16"))),
         "utf16.txt: UTF-16 text", "root", also=["--encoding utf-16"]),
    Case("vocab-unknown-encoding", lambda w: vocab_train(w, "--encoding", "klingon"), "--encoding 'klingon'", "root",
         also=["unknown encoding"]),
    Case("pretraining-corpus-cp1256-keeps-the-old-shards", lambda w: pretraining(
        w, corpus=_write(w, "mixed.txt", CORPUS.encode() + ARABIC.encode("cp1256"))), "mixed.txt:19: not UTF-8 text",
        "pre_out", also=["--encoding"]),
    Case("pretraining-corpus-utf16-without-bom-keeps-the-old-shards", lambda w: pretraining(
        w, corpus=_write(w, "le.txt", CORPUS.encode("utf-16-le"))), "le.txt: looks like UTF-16 without a byte-order "
        "mark", "pre_out", also=["--encoding utf-16-le"]),
    Case("pretraining-corpus-truncated-gz", lambda w: pretraining(
        w, corpus=_gz(w, "cut.txt.gz", CORPUS.encode() * 50, cut=40)),
        "cut.txt.gz: damaged gzip data", "pre_out", also=["truncated"]),
    Case("corpus-stats-zip", lambda w: ["corpus", "stats", _write(w, "corpus.zip", zip_bytes({"c.txt": CORPUS}))],
         "corpus.zip: a zip archive, not a text file", also=["unzip it"]),
    Case("corpus-stats-plain-file-named-gz", lambda w: ["corpus", "stats", _write(w, "plain.txt.gz", CORPUS)],
         "plain.txt.gz: not gzip data", also=["rename it without .gz"]),
    Case("rows-semicolon-csv-with-commas-is-split-on-semicolons", lambda w: [*labels_file(
        w, "semi.csv", "text;label\nجميل، جدا, فعلا;pos\nسيء;neg\n"), "--text-column", "body"],
        "semi.csv:2: no column 'body'; the columns are: text, label", "model_out"),
    Case("rows-utf16-without-bom", lambda w: labels_file(w, "le.csv", "text,label\nجميل,pos\n".encode("utf-16-le")),
         "le.csv: looks like UTF-16 without a byte-order mark", "model_out", also=["--encoding utf-16-le"]),
    Case("rows-cp1256-named-with-its-line", lambda w: labels_file(
        w, "cp.csv", "text,label\nجميل,pos\n".encode() + "سيء,neg\n".encode("cp1256")), "cp.csv:3: not UTF-8 text",
        "model_out", also=["--encoding"]),
    Case("finetune-preset-without-vocabulary", lambda w: finetune(w, model=preset_without_vocabulary(w)),
         "preset_without_vocab: the preset has no vocabulary", "model_out",
         also=["assets/tokenizer/vocabulary.txt is missing", "--vocab"]),
    Case("finetune-keras-without-vocabulary", lambda w: finetune(w, model=Path(_models(w, "lonely_keras", {}))
                                                                 / "model.keras"),
         "model.keras: no vocabulary found for this saved model", "model_out", also=["--vocab"]),
    Case("finetune-unknown-encoding", lambda w: finetune(w, "--encoding", "klingon"), "--encoding 'klingon'",
         "model_out"),
    Case("predict-stdin-empty", lambda w: ["predict", str(w["tflite"]), "-"], "TEXT -: standard input holds no text",
         setup=stdin(b"\n  \n")),
    Case("predict-stdin-cp1256", lambda w: ["predict", str(w["tflite"]), "-"], "standard input:1: not UTF-8 text",
         setup=stdin("نص".encode("cp1256")), also=["--encoding"]),
]


# cases run again as `python -m arlm ...`, to show stderr holds the message only
SUBPROCESS = ("finetune-test-missing", "finetune-epochs-0", "predict-tflite-missing", "run-checkpoint-every-0",
              "vocab-corpus-missing")



# -- writers and error paths (issue 25): what ends in a traceback or a wrong result without these checks ----------

def _saved(ws, key, make):
    """`ws[key]`, made once by `make(ws)`, for cases whose input is a saved model."""
    if key not in ws:
        ws[key] = make(ws)
    return ws[key]


def corrupted_preset(ws, monkeypatch=None):
    """The tiny model as a preset folder with its vocabulary, then 1000 bytes of its weights zeroed: h5py and Keras
    load such a file without a word, and fine-tuning it trains into NaN."""
    def make(ws):
        from arlm.saving import load_model

        folder = save_model(load_model(ws["model"], compile=False), ws["root"] / "corrupted_preset",
                            tokenizer=ws["vocab"])
        data = bytearray((folder / "model.weights.h5").read_bytes())
        data[-2000:-1000] = bytes(1000)
        (folder / "model.weights.h5").write_bytes(bytes(data))
        return folder

    return _saved(ws, "corrupted_preset", make)


def foreign_keras(ws, monkeypatch=None):
    """A .keras file written by another program: a plain Keras model, none of arlm's classes."""
    def make(ws):
        import keras

        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.save(ws["root"] / "foreign.keras")
        return ws["root"] / "foreign.keras"

    return _saved(ws, "foreign", make)


def without_interop(ws, monkeypatch):
    for name in ("safetensors", "safetensors.numpy"):  # as if the interop extra was never installed
        monkeypatch.setitem(sys.modules, name, None)


CASES += [
    Case("finetune-learning-rate-makes-the-loss-nan",
         lambda w: finetune(w, "--learning-rate", "1e30", "--epochs", "3", "--batch-size", "4", "--vocab",
                            str(w["vocab"])),
         "the loss is nan at update", "model_out", also=["learning rate 1e+30", "--learning-rate"]),
    Case("finetune-preset-with-corrupted-weights", lambda w: finetune(w, model=corrupted_preset(w)),
         "model.weights.h5: the file is corrupted", "model_out", also=["sha256", "--model"]),
    Case("export-preset-with-corrupted-weights", lambda w: export(w, model=corrupted_preset(w)),
         "model.weights.h5: the file is corrupted", "exports", also=["MODEL_DIR"]),
    Case("export-keras-file-of-another-program", lambda w: export(w, "--vocab", str(w["vocab"]),
                                                                  model=foreign_keras(w)),
         "foreign.keras: holds a Sequential", "exports", also=["MobileBertTextClassifier", "MODEL_DIR"]),
    Case("convert-without-the-interop-extra", lambda w: ["convert", str(w["model"]), "--out",
                                                         str(w["root"] / "hf_out")],
         "pip install 'arlm[interop]'", "model_out", setup=without_interop, also=["safetensors"]),
]

def snapshot(folder):
    """Every file under `folder` (names and bytes), and the names beside it (no staging folder left behind)."""
    folder = Path(folder)
    files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    return files, sorted(p.name for p in folder.parent.iterdir())


def _main(argv):
    try:
        return cli.main(argv)
    except SystemExit as exit:  # argparse's own errors
        return exit.code


def _check_message(case, err, ws):
    assert "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if line.startswith("arlm ")]
    assert len(lines) == 1 and ": error: " in lines[0], err
    for expected in [case.match, *case.also]:
        assert expected in lines[0], (expected, lines[0])


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_a_one_line_error_and_changes_nothing(case, ws, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no chapter 1 vocabulary here
    monkeypatch.setenv("ARLM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ARLM_DATA_DIR", raising=False)
    if case.setup:
        case.setup(ws, monkeypatch)
    argv = [str(a) for a in case.argv(ws)]
    before = snapshot(ws[case.out]) if case.out else None
    code = _main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    _check_message(case, err, ws)
    if case.out:
        assert snapshot(ws[case.out]) == before


@pytest.mark.parametrize("name", SUBPROCESS)
def test_no_traceback_reaches_stderr(name, ws, tmp_path):
    case = next(case for case in CASES if case.id == name)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "ARLM_CACHE_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "arlm", *map(str, case.argv(ws))], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    _check_message(case, result.stderr, ws)


def test_the_table_covers_every_command():
    commands = {case.id.split("-")[0] for case in CASES}
    assert {"finetune", "labels", "rows", "pretraining", "vocab", "export", "predict", "run", "fetch"} <= commands
    assert len(CASES) >= 40



def test_tensorflow_start_up_lines_never_come_before_the_error(ws, tmp_path):
    # a user's shell: no TF_CPP_MIN_LOG_LEVEL; the error comes after TensorFlow was imported and its devices listed
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(PYTHONPATH=str(Path(__file__).resolve().parent.parent), ARLM_CACHE_DIR=str(tmp_path))
    argv = export(ws, "--vocab", str(ws["vocab"]), model=foreign_keras(ws), out=tmp_path / "m.tflite")
    result = subprocess.run([sys.executable, "-m", "arlm", *map(str, argv)], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("arlm export: error: ") and result.stderr.count("\n") == 1, result.stderr


def test_an_out_folder_given_as_a_link_is_written_where_it_points_with_the_usual_mode(ws, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "disk").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "disk" / "data")  # not there yet: made where the link points
    previous = os.umask(0o022)
    try:
        assert cli.main(pretraining(ws, "--max-seq-length", "32", "--dupe-factor", "1", out="out")) == 0
    finally:
        os.umask(previous)
    assert (tmp_path / "out").is_symlink() and (tmp_path / "out" / "meta.json").is_file()
    assert sorted(p.name for p in (tmp_path / "disk").iterdir()) == ["data"]  # nothing staged left beside it
    assert (tmp_path / "disk" / "data").stat().st_mode & 0o777 == 0o755
