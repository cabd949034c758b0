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
