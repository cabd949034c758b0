"""The baselines a reviewer asks for first: the majority class, and TF-IDF + logistic regression.

Both see the same normalized text (`arlm.text.normalize`) as the transformers. The TF-IDF features are word
uni- and bigrams plus character 2-5-grams inside word boundaries, which suit Arabic's rich morphology.

>>> majority_baseline(task.train.labels, task.test.labels)          # doctest: +SKIP
{'accuracy': 0.514, 'macro_f1': 0.339, 'count': 360, 'predicted_label': 1}
"""

import collections

from arlm.tasks.metrics import classification_scores


def majority_baseline(train_labels, test_labels):
    """Always predict the most frequent training label (ties: the smallest id)."""
    counts = collections.Counter(train_labels)
    label = min(counts, key=lambda k: (-counts[k], k))
    scores = classification_scores(test_labels, [label] * len(test_labels))
    return {**scores, "predicted_label": int(label)}


def tfidf_logreg(train_texts, train_labels, test_texts, test_labels, c=4.0, seed=12345):
    """TF-IDF (word 1-2-grams + char 2-5-grams) and a logistic regression; returns test scores and the model."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline, make_union

    from arlm.text import normalize

    features = make_union(
        TfidfVectorizer(preprocessor=normalize, ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        TfidfVectorizer(preprocessor=normalize, analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                        max_features=100_000),
    )
    # liblinear (one-vs-rest) converges in seconds on these sparse features, where lbfgs takes a minute
    model = make_pipeline(features, OneVsRestClassifier(LogisticRegression(C=c, solver="liblinear", random_state=seed)))
    model.fit(train_texts, train_labels)
    scores = classification_scores(test_labels, model.predict(test_texts))
    return {**scores, "model": model}


def tune_c(train_texts, train_labels, dev_texts, dev_labels, grid=(0.25, 1.0, 4.0, 16.0), seed=12345):
    """Choose `tfidf_logreg`'s regularisation ``C`` by accuracy on a dev split.

    Args:
        train_texts, train_labels: the split the model is fitted on.
        dev_texts, dev_labels: the split ``C`` is chosen on (choosing it on the test split makes the test score
            optimistic by construction: the paper's AJGT dev split is its test split).
        grid (tuple of float): the values tried; ties go to the smallest.
        seed (int): the logistic regression's random state.

    Returns ``{"c": the chosen value, "dev_accuracy": {c: accuracy}}``.
    """
    accuracy = {c: tfidf_logreg(train_texts, train_labels, dev_texts, dev_labels, c=c, seed=seed)["accuracy"]
                for c in grid}
    best = max(accuracy.values())
    return {"c": min(c for c, value in accuracy.items() if value == best), "dev_accuracy": accuracy}


def baseline_scores(train, test, seed=12345):
    """The floor a fine-tuned model must clear on one split: the majority class and TF-IDF + logistic regression,
    trained on the same training texts and scored on the same test texts.

    Args:
        train, test (arlm.tasks.loaders.TextSplit): the texts and labels.
        seed (int): the logistic regression's seed.
    """
    majority = majority_baseline(train.labels, test.labels)
    tfidf = tfidf_logreg(train.texts, train.labels, test.texts, test.labels, seed=seed)
    return {"majority_accuracy": majority["accuracy"], "tfidf_lr_accuracy": tfidf["accuracy"],
            "tfidf_lr_macro_f1": tfidf["macro_f1"]}
