"""The NumPy task inputs: importing them loads no TensorFlow (the on-device path uses them), and tagging inputs
for prediction need no gold tags."""

import subprocess
import sys

import pytest

from arlm.preprocessing.tagging import encode_tagging, word_tags


def test_importing_the_encoders_and_predict_loads_neither_tensorflow_nor_keras():
    code = ("import sys\nfor name in ('tensorflow', 'keras', 'jax'):\n    sys.modules[name] = None\n"
            "import arlm.preprocessing, arlm.preprocessing.qa, arlm.preprocessing.tagging, arlm.predict\n"
            "print('ok')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from arlm.tokenizer import WordPieceTokenizer, train_vocabulary

    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    train_vocabulary(["الكتاب على الطاولة", "ذهب الولد إلى المدرسة"] * 5, 60, path, min_frequency=1)
    return WordPieceTokenizer(path)


def test_tagging_inputs_without_tags_match_those_with_tags(tokenizer):
    words = ["المدرسة", "على", "الطاولة"]
    labels = ["[PAD]", "NOUN", "ADP", "X", "[CLS]"]
    gold = encode_tagging([words], [["NOUN", "ADP", "NOUN"]], tokenizer, labels, 12)
    bare = encode_tagging([words], None, tokenizer, None, 12)
    assert (bare.token_ids == gold.token_ids).all() and (bare.first_piece == gold.first_piece).all()
    assert not bare.labels.any()
    assert word_tags(gold.labels, bare, labels) == [["NOUN", "ADP", "NOUN"]]
