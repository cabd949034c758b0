"""The paper's tables as data, so that every "paper vs. this book" number comes from one place.

Besides its four tables, ``settings`` holds the training settings the paper states in its text, each with the
section and the sentence it is read from (`setting`), and `quotes` tells the paper's words from a paraphrase.

>>> [row["dataset"] for row in table("table1_pretraining_tokens")][:2]
['Billion Words Corpus', 'Wikipedia']
>>> setting("attention_transfer_steps")
500000
"""

import csv
import functools
import re
from importlib import resources

from arlm.errors import ParameterError

TABLES = ("table1_pretraining_tokens", "table2_distillation_hparams", "table3_results", "table4_sizes", "settings")

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


def setting(name):
    """A training setting the paper states in its text (``settings.csv``: value, section, quotation)."""
    rows = {row["setting"]: row for row in table("settings")}
    if name not in rows:
        raise ParameterError(f"the paper states no setting {name!r}; settings are: {', '.join(rows)}")
    return rows[name]["value"]


def _number(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


@functools.cache
def text():
    """The paper's text (``paper_tables/paper.txt``, extracted from the PDF: two columns, hyphenated lines)."""
    return resources.files("arlm").joinpath("paper_tables", "paper.txt").read_text(encoding="utf-8")


def _words(passage):
    return " ".join(re.findall(r"[a-z0-9]+", passage.lower()))


def quotes(passage):
    """Whether ``passage`` is the paper's words: found in its text, up to case, punctuation and line breaks; a
    passage with an ellipsis ("[...]", as where a table interrupts a sentence) must have its parts in order.

    >>> quotes("a learning rate 0.0015"), quotes("within a point of the float model")
    (True, False)
    """
    words, start = _paper_words(), 0
    for part in re.split(r"\[\.\.\.\]|…", passage):
        found = words.find(_words(part), start)
        if found < 0:
            return False
        start = found + len(_words(part))
    return True


@functools.cache
def _paper_words():
    return _words(re.sub(r"-\n", "", text()))
