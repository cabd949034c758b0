"""Chapter 4's evidence: both students fine-tuned on the sentiment tasks, or on the embedded task offline."""

import pytest

from arlm.saving import save_model
from arlm.scales import resolve
from arlm.tasks import evidence
from arlm.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
from tests.distillation_helpers import VOCAB, tiny_pretrainer


@pytest.fixture
def setup(tmp_path):
    vocab = tmp_path / "vocab.txt"
    letters = [chr(c) for c in range(0x627, 0x627 + VOCAB - len(SPECIAL_TOKENS))]  # ا ب ة ت ...
    vocab.write_text("\n".join([*SPECIAL_TOKENS, *letters]) + "\n", encoding="utf-8")
    models = {}
    for label, seed, name in (("distilled", 1, "distilled.keras"), ("scratch", 2, "scratch_preset")):
        models[label] = save_model(tiny_pretrainer("student", seed), tmp_path / name)  # a .keras file or a preset
    cfg = resolve("tiny", finetune_max_seq_length=12, finetune_max_train_examples=16, finetune_max_eval_examples=8)
    return models, WordPieceTokenizer(vocab), cfg


def test_without_the_mirror_both_students_are_fine_tuned_on_the_embedded_task(setup, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ARLM_DATA_DIR", raising=False)
    monkeypatch.setenv("ARLM_CACHE_DIR", str(tmp_path / "empty-cache"))
    models, tokenizer, cfg = setup
    rows = evidence.finetune_comparison(models, tokenizer, cfg)
    assert "skipping ajgt" in capsys.readouterr().out
    assert [(r["model"], r["task"]) for r in rows] == [("distilled", "hadith"), ("scratch", "hadith")]
    assert all(0 <= r["accuracy"] <= 1 and r["train_examples"] == 16 for r in rows)
    summary = evidence.summarize({"distilled": {"mlm_accuracy": .3, "mlm_loss": 2.0, "nsp_accuracy": .6},
                                  "scratch": {"mlm_accuracy": .1, "mlm_loss": 3.0, "nsp_accuracy": .5}}, rows)
    assert summary["gap"]["mlm_accuracy"] == pytest.approx(0.2) and "hadith_accuracy" in summary["gap"]
