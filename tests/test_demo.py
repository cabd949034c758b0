"""`arlm.book.demo`: the live box's model folder (the committed edition's and one written from a tiny classifier),
the built site's files within their size budget, and the box's sentence about sizes, from `arlm.paper`."""

import importlib.util
import json

import pytest

from arlm.book import demo
from arlm.book.edition import EDITION
from arlm.errors import ArtifactError
from arlm.predict import Predictor
from arlm.quantization.sizes import paper_rows

EDITION_DEMO = EDITION / demo.FOLDER


def test_the_edition_demo_is_complete_and_arlm_predict_runs_it():
    info = demo.read_demo(EDITION_DEMO)
    assert info["task"] == "classification" and info["dataset"] == "ajgt" and info["precision"] == "dynamic"
    assert info["labels"] == ["Negative", "Positive"]
    assert info["model_bytes"] <= demo.MAX_MODEL_BYTES
    if importlib.util.find_spec("onnxruntime"):
        result = Predictor(EDITION_DEMO / demo.MODEL_FILE, num_threads=1).predict("الخدمة ممتازة")
        assert result["label"] in info["labels"]


def test_the_site_files_fit_the_size_budget(tmp_path):
    sizes = demo.write_site(EDITION_DEMO, tmp_path)
    assert set(sizes) == {"arlm-demo.css", "arlm-demo.js", "model.js", "ort.wasm.min.js", "runtime.js"}
    assert sum(sizes.values()) <= demo.MAX_SITE_BYTES, sizes
    model = (tmp_path / demo.SITE_FOLDER / "model.js").read_text(encoding="utf-8")
    assert model.startswith("(window.ARLM_DEMO = window.ARLM_DEMO || {})[\"model\"] = {")
    assert '"max_bytes_per_word": 100' in model and '"Regex": "[\\\\p{Mn}' in model


def test_a_missing_runtime_or_model_file_is_named(tmp_path):
    with pytest.raises(ArtifactError, match="ort-wasm-simd-threaded.wasm.gz"):
        demo.write_site(EDITION_DEMO, tmp_path, runtime=tmp_path)
    with pytest.raises(ArtifactError, match="model.onnx is missing"):
        demo.read_demo(tmp_path)


def test_the_box_says_what_runs_where_and_compares_with_table4():
    html = demo.box_html(EDITION_DEMO, "edition", "../_static/")
    assert 'dir="auto"' in html and 'data-base="../_static/arlm-demo/"' in html
    assert "offline" in html and "ONNX Runtime Web" in html and "AJGT" in html
    mberta = next(row for row in paper_rows() if row["model"] == "MBERTA")
    assert f"{mberta['finetuned_quantized_size_mb']} MB" in html and f"{mberta['parameters_millions']} million" in html
    info = demo.read_demo(EDITION_DEMO)
    assert f"{info['model_bytes'] / 2**20:.1f} MiB" in html


def test_a_run_shows_its_own_demo_else_the_editions(tmp_path):
    assert demo.find_demo(EDITION, EDITION) == (EDITION_DEMO, "edition")
    assert demo.find_demo(tmp_path, EDITION) == (EDITION_DEMO, "edition-fallback")
    assert "wrote no demo" in demo.box_html(EDITION_DEMO, "edition-fallback", "")
    own = tmp_path / "06_quantization" / demo.FOLDER
    demo.write_demo(EDITION_DEMO / demo.MODEL_FILE, EDITION_DEMO / "model.vocab.txt", ["a", "b"], 64, own, 10)
    assert demo.find_demo(tmp_path, EDITION) == (own, "run")


def test_write_demo_writes_what_arlm_predict_and_the_page_read(tmp_path):
    info = demo.read_demo(EDITION_DEMO)
    out = demo.write_demo(EDITION_DEMO / demo.MODEL_FILE, EDITION_DEMO / "model.vocab.txt", info["labels"],
                          info["max_seq_length"], tmp_path / "demo", info["parameters"], dataset="ajgt")
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "model.onnx", "model.vocab.txt", "tokenizer.json"]
    written = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert written["labels"] == info["labels"] and written["vocab"] == "model.vocab.txt"
    tokenizer = json.loads((out / demo.TOKENIZER_FILE).read_text(encoding="utf-8"))
    assert tokenizer["model"]["vocab"]["[UNK]"] == 1
