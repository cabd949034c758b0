"""TF-IDF baseline: choosing C on a dev split."""


from arlm.tasks import baselines

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


def test_chapter_5s_baseline_rows_score_the_examples_the_transformers_see():
    from arlm.scales import resolve
    from arlm.tasks.experiments import baseline_rows
    from arlm.tasks.loaders import Task, TextSplit

    texts, labels = (GOOD + BAD) * 4, ([1] * 3 + [0] * 3) * 4
    split = TextSplit(texts, labels)
    classification = Task("toy", "classification", ["bad", "good"], split, split, split, True, "TOY", "accuracy")
    tagging = Task("pos", "tagging", ["NOUN"], None, None, None, True, "POS", "padt")
    cfg = resolve("tiny", finetune_max_train_examples=12, finetune_max_eval_examples=6)
    rows = baseline_rows({"toy": classification, "pos": tagging}, cfg)
    assert [row["task"] for row in rows] == ["toy"] and (rows[0]["train"], rows[0]["test"]) == (12, 6)
    assert 0.0 <= rows[0]["majority_accuracy"] <= 1.0 and rows[0]["tfidf_lr_accuracy"] >= rows[0]["majority_accuracy"]
    # the scores of the limited split itself, as `arlm finetune` reports them for a user's task
    from arlm.tasks.finetune import limit

    train, test = limit(split, 12, cfg.seed), limit(split, 6, cfg.seed)
    assert {key: rows[0][key] for key in ("majority_accuracy", "tfidf_lr_accuracy", "tfidf_lr_macro_f1")} == \
        baselines.baseline_scores(train, test, cfg.seed)
