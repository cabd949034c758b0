"""The on-device path: a .tflite or .onnx file plus sidecar, the pure-Python tokenizer, and no TensorFlow."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from quantization_helpers import MAX_SEQ, finetuned_classifier

import arlm
from arlm.errors import ArtifactError, ParameterError
from arlm.predict import Predictor, predict

TEXT = "الخدمة ممتازة والموظفين محترمين"

# a sitecustomize.py that makes `import tensorflow` (and keras, jax) fail in every process that has it on its
# PYTHONPATH, and reports at exit which of them got loaded anyway
NO_TF = """
import atexit, json, sys
for name in ("tensorflow", "keras", "jax", "tf_keras"):
    sys.modules[name] = None  # makes `import name` raise ImportError

def _report():
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras") and sys.modules[m] is not None)
    print("LOADED", json.dumps(loaded), file=sys.stderr)

atexit.register(_report)
"""
# the `arlm` console script's own entry point
ARLM = "import sys; from arlm.cli import main; sys.exit(main())"


@pytest.fixture(scope="module")
def exported():
    """The shared tiny fine-tuned classifier's dynamic-range file with its sidecar and vocabulary."""
    from arlm.quantization.export import write_sidecar

    shared = finetuned_classifier()
    path = shared["folder"] / "predict" / "classifier.tflite"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(shared["files"]["dynamic"].read_bytes())
    labels = shared["label_names"]
    write_sidecar(path, shared["vocab"], "classification", labels, MAX_SEQ, "dynamic")
    return {"classification": path, "model": shared["model"], "vocab": shared["vocab"], "labels": labels}


def test_classifier_predicts_a_label_with_probabilities(exported):
    out = predict(exported["classification"], TEXT, num_threads=1)
    assert out["label"] in exported["labels"]
    assert sum(out["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)


def test_predict_matches_the_keras_model(exported):
    from arlm.preprocessing import encode_texts
    from arlm.tokenizer import WordPieceTokenizer

    features = encode_texts([TEXT], WordPieceTokenizer(exported["vocab"]), MAX_SEQ)
    keras_label = int(np.argmax(exported["model"].predict(features, verbose=0)[0]))
    assert predict(exported["classification"], TEXT)["label"] == exported["labels"][keras_label]


def test_empty_text_is_refused(exported):
    with pytest.raises(ParameterError, match="TEXT"):
        predict(exported["classification"], "  ")


def test_missing_sidecar_names_the_file(exported, tmp_path):
    lonely = tmp_path / "m.tflite"
    lonely.write_bytes(exported["classification"].read_bytes())
    with pytest.raises(ArtifactError, match="m.json"):
        Predictor(lonely)


def deployment_files():
    """Every file `arlm export` can write: each TFLite precision, and each ONNX one with the onnx extra."""
    from arlm.quantization import ONNX_PRECISIONS, PRECISIONS

    return [("tflite", p) for p in PRECISIONS] + [("onnx", p) for p in ONNX_PRECISIONS]


@pytest.mark.parametrize(("file_format", "precision"), deployment_files())
def test_arlm_predict_runs_each_format_where_tensorflow_cannot_be_imported(exported, tmp_path, file_format,
                                                                           precision):
    from arlm.preprocessing import encode_texts
    from arlm.quantization.export import write_sidecar
    from arlm.tokenizer import WordPieceTokenizer

    shared = finetuned_classifier()
    files = shared["files"] if file_format == "tflite" else shared["onnx_files"]
    if not files:
        pytest.skip("the onnx extra (onnx, onnxruntime, tf2onnx) is not installed: pip install 'arlm[onnx]'")
    path = tmp_path / f"classifier.{file_format}"
    path.write_bytes(files[precision].read_bytes())
    write_sidecar(path, shared["vocab"], "classification", exported["labels"], MAX_SEQ, precision)
    (tmp_path / "shim").mkdir()
    (tmp_path / "shim" / "sitecustomize.py").write_text(NO_TF)
    root = str(Path(arlm.__file__).resolve().parents[1])  # this checkout's arlm, not an installed one
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path / "shim"), root,
                                                                      os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-c", ARLM, "predict", str(path), TEXT, "--threads", "1"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "LOADED []"
    assert "No module named" not in result.stderr
    # the TF-free process predicts what the Keras model predicts
    features = encode_texts([TEXT], WordPieceTokenizer(exported["vocab"]), MAX_SEQ)
    keras_label = exported["labels"][int(np.argmax(exported["model"].predict(features, verbose=0)[0]))]
    assert json.loads(result.stdout.strip().splitlines()[0])["label"] == keras_label


def test_arlm_predict_dash_reads_texts_from_standard_input(exported):
    """`arlm predict FILE -`: one JSON line per non-blank line of standard input (here in cp1256), as with TEXT."""
    second = "الغرفة متسخة والموظف وقح"
    result = subprocess.run(
        [sys.executable, "-c", ARLM, "predict", str(exported["classification"]), "-", "--encoding", "cp1256"],
        input=f"{TEXT}\n\n{second}\n".encode("cp1256"), capture_output=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(arlm.__file__).resolve().parents[1])},
    )
    assert result.returncode == 0, result.stderr.decode()
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert lines == [predict(exported["classification"], text) for text in (TEXT, second)]


def test_an_onnx_file_without_onnx_runtime_says_how_to_install_it(exported, tmp_path, monkeypatch):
    from arlm.quantization.export import write_sidecar

    onnx_files = finetuned_classifier()["onnx_files"]
    if not onnx_files:
        pytest.skip("the onnx extra (onnx, onnxruntime, tf2onnx) is not installed: pip install 'arlm[onnx]'")
    path = tmp_path / "classifier.onnx"
    path.write_bytes(onnx_files["dynamic"].read_bytes())
    write_sidecar(path, exported["vocab"], "classification", exported["labels"], MAX_SEQ, "dynamic")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ParameterError, match=r"arlm\[onnx\]"):
        Predictor(path)
