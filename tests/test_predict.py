"""The on-device path: a .tflite file plus sidecar, the pure-Python tokenizer, and no TensorFlow."""

import json
import subprocess
import sys

import numpy as np
import pytest
from quantization_helpers import MAX_SEQ, finetuned_classifier

from arlm.errors import ArtifactError, ParameterError
from arlm.predict import Predictor, predict

TEXT = "الخدمة ممتازة والموظفين محترمين"

# run in a child process where `import tensorflow` (and keras, jax) fails, then check neither got loaded
NO_TF = """
import json, sys
for name in ("tensorflow", "keras", "jax", "tf_keras"):
    sys.modules[name] = None  # makes `import name` raise ImportError
from arlm import cli
if "arlm.cli.export" not in cli.MODULES:
    cli.MODULES = (*cli.MODULES, "arlm.cli.export")
code = cli.main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras") and sys.modules[m] is not None)
print("LOADED", json.dumps(loaded))
sys.exit(code)
"""


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


def test_arlm_predict_runs_where_tensorflow_cannot_be_imported(exported):
    result = subprocess.run(
        [sys.executable, "-c", NO_TF, "predict", str(exported["classification"]), TEXT, "--threads", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert json.loads(lines[0])["label"] in exported["labels"]
    assert lines[-1] == "LOADED []"
    assert "No module named" not in result.stderr
