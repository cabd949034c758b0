"""The paper's tables as data, so that every "paper vs. this book" number comes from one place.

>>> [row["dataset"] for row in table("table1_pretraining_tokens")][:2]
['Billion Words Corpus', 'Wikipedia']
"""

import csv
from importlib import resources

from arlm.errors import ParameterError

TABLES = ("table1_pretraining_tokens", "table2_distillation_hparams", "table3_results", "table4_sizes")

CITATION = (
    "Zaid Alyafeai and Irfan Ahmad. 2021. Arabic Compact Language Modelling for Resource Limited Devices. "
    "In Proceedings of the Sixth Arabic Natural Language Processing Workshop (WANLP), pages 53-59."
)


def table(name):
    """Rows of one of the paper's tables as a list of dicts; numeric cells become int or float."""
    if name not in TABLES:
        raise ParameterError(f"unknown paper table {name!r}; tables are: {', '.join(TABLES)}")
    text = resources.files("arlm").joinpath("paper_tables", f"{name}.csv").read_text(encoding="utf-8")
    return [{key: _number(value) for key, value in row.items()} for row in csv.DictReader(text.splitlines())]


def _number(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
