"""TF-IDF baseline: choosing C on a dev split."""

import pytest

from arlm.tasks import baselines

pytest.importorskip("sklearn")

GOOD, BAD = ["جميل رائع ممتاز", "رائع جدا جميل", "ممتاز جميل"], ["سيء رديء جدا", "رديء سيء", "سيء للغاية رديء"]


def test_tune_c_returns_the_grid_and_the_best_value():
    texts, labels = (GOOD + BAD) * 4, ([1] * 3 + [0] * 3) * 4
    result = baselines.tune_c(texts, labels, GOOD + BAD, [1] * 3 + [0] * 3, grid=(0.01, 1.0, 16.0))
    assert set(result["dev_accuracy"]) == {0.01, 1.0, 16.0}
    assert result["dev_accuracy"][result["c"]] == max(result["dev_accuracy"].values())
    assert result["dev_accuracy"][16.0] == 1.0
    # ties go to the smallest C: with every value perfect, the strongest regularisation wins
    if all(value == 1.0 for value in result["dev_accuracy"].values()):
        assert result["c"] == 0.01
