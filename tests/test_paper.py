import pytest

from arlm import paper
from arlm.errors import ParameterError


def test_tables_are_read_as_numbers():
    table4 = {row["model"]: row for row in paper.table("table4_sizes")}
    assert table4["MBERTA"]["parameters_millions"] == 23.7
    assert table4["AraBERT"]["finetuned_size_on_disk_mb"] == 1600
    results = paper.table("table3_results")
    assert {row["dataset"] for row in results} >= {"AJGT", "HARD", "LABR", "PADT", "ARCD"}
    assert paper.table("table2_distillation_hparams")[0] == {"parameter": "beta_distillation_factor", "value": 500}


def test_unknown_table():
    with pytest.raises(ParameterError, match="table1_pretraining_tokens"):
        paper.table("table9")


def test_settings_are_quoted_from_the_paper_with_their_value():
    rows = paper.table("settings")
    assert {row["setting"] for row in rows} >= {"teacher_steps", "attention_transfer_steps", "distill_steps",
                                                "finetune_epochs", "finetune_learning_rate"}
    for row in rows:
        assert paper.quotes(row["quote"]), row
    assert paper.setting("attention_transfer_steps") + paper.setting("distill_steps") == 2_500_000
    with pytest.raises(ParameterError, match="teacher_steps"):
        paper.setting("warmup")


def test_quotes_tells_the_papers_words_from_a_paraphrase():
    assert paper.quotes("smaller inner block-neck of size 256 instead of 1024")  # across a line break
    assert paper.quotes("our largest model which is 2x smaller than the baseline")
    assert not paper.quotes("inner block-neck of 256 instead of 1024")
    assert not paper.quotes("the quantized model is within a point of the float model")
