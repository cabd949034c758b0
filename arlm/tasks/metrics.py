"""The paper's metrics, implemented as the authors' scripts compute them (spec 5.2, 5.3).

* classification: accuracy (Table 3) and macro-F1 (a fairer number on unbalanced labels);
* PADT: `padt_pos_metrics`, the authors' ``metrics.py:calculate_pos``: per-class precision/recall/F1 over label
  ids 0..17 of the non-pad tokens, then the **unweighted mean over all 18 ids**, [PAD], [CLS], X and absent tags
  included. That is why the paper's F1 is not the harmonic mean of its P and R. Beside it: token accuracy and
  micro-F1 over the words' first pieces (the numbers a reader expects);
* ARCD: the official SQuAD v1.1 EM/F1, unchanged (English normalisation only), plus a clearly labelled
  Arabic-normalised variant.

$$P_c = \\frac{M_{cc}}{\\sum_r M_{rc}},\\quad R_c = \\frac{M_{cc}}{\\sum_k M_{ck}},\\quad
F_c = \\frac{2 P_c R_c}{P_c + R_c},\\quad P = \\frac{1}{18}\\sum_{c=0}^{17} P_c$$

>>> squad_scores(["الرياض"], [["مدينة الرياض"]])
{'exact_match': 0.0, 'f1': 66.66666666666667, 'count': 1}
"""

import collections
import re
import string

import numpy as np

from arlm.errors import ParameterError

PADT_NUM_IDS = 18  # label ids 0..17 of the authors' 19-label list ([SEP] = 18 is left out)


def accuracy(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred)) if len(y_true) else 0.0


def confusion_matrix(y_true, y_pred, num_labels):
    """M[t, p] = how many items of true label t were predicted p."""
    y_true, y_pred = _pair(y_true, y_pred)
    matrix = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def per_class_prf(matrix):
    """Per-class precision, recall and F1 of a confusion matrix (0 where undefined, like the authors' code)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    tp = np.diag(matrix)
    predicted, actual = matrix.sum(0), matrix.sum(1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return precision, recall, f1


def macro_f1(y_true, y_pred, num_labels=None):
    """Unweighted mean F1 over the labels that occur in `y_true` or `y_pred`."""
    y_true, y_pred = _pair(y_true, y_pred)
    if not len(y_true):
        return 0.0
    num_labels = num_labels or int(max(y_true.max(), y_pred.max())) + 1
    matrix = confusion_matrix(y_true, y_pred, num_labels)
    present = (matrix.sum(0) + matrix.sum(1)) > 0
    return float(per_class_prf(matrix)[2][present].mean())


def classification_scores(y_true, y_pred, num_labels=None):
    return {"accuracy": accuracy(y_true, y_pred), "macro_f1": macro_f1(y_true, y_pred, num_labels),
            "count": len(y_true)}


def padt_pos_metrics(y_true, y_pred, pad_id=0, num_ids=PADT_NUM_IDS):
    """The authors' PoS precision/recall/F1 (``metrics.py:calculate_pos``), as fractions.

    `y_true`, `y_pred`: label ids per position (flattened, any shape). Positions whose true label is `pad_id` are
    dropped; the confusion matrix keeps only ids ``0..num_ids-1`` (rows/columns of other ids are ignored). Each
    score is the unweighted mean over all `num_ids` classes, absent ones counting 0.
    """
    y_true, y_pred = _pair(np.ravel(y_true), np.ravel(y_pred))
    keep = (y_true != pad_id) & (y_true < num_ids) & (y_pred < num_ids)
    matrix = confusion_matrix(y_true[keep], y_pred[keep], num_ids)
    precision, recall, f1 = per_class_prf(matrix)
    return {"precision": float(precision.mean()), "recall": float(recall.mean()), "f1": float(f1.mean()),
            "per_class_f1": f1.tolist()}


def token_scores(y_true, y_pred, scored):
    """Standard tagging numbers over the `scored` positions (the words' first pieces): token accuracy, and
    micro-F1 (equal to accuracy when every word gets exactly one tag; reported as the usual name)."""
    y_true, y_pred = _pair(np.ravel(y_true), np.ravel(y_pred))
    scored = np.ravel(np.asarray(scored, dtype=bool))
    correct = int(np.sum((y_true == y_pred) & scored))
    total = int(scored.sum())
    value = correct / total if total else 0.0
    return {"token_accuracy": value, "micro_f1": value, "tokens": total}


# -- SQuAD v1.1 (official evaluate-v1.1.py, unchanged) -------------------------------------------------------

def squad_normalize(text):
    """Official SQuAD v1.1 answer normalisation: lowercase, drop ASCII punctuation and English articles,
    collapse whitespace. It does nothing Arabic-specific (spec 5.3)."""
    text = text.lower()
    exclude = set(string.punctuation)
    text = "".join(ch for ch in text if ch not in exclude)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


ARABIC_PUNCTUATION = "،؛؟«»٪٫٬"
_ARTICLE = re.compile(r"^(?:و?ال)(?=\w{2,})")


def arabic_normalize(text):
    """An Arabic-aware variant (NOT the official metric): `arlm.text.normalize` (diacritics, alef/yeh forms),
    Arabic punctuation removed, the article ال (and وال) stripped from each word, then the official steps."""
    from arlm.text import normalize

    text = normalize(text)
    text = "".join(" " if ch in ARABIC_PUNCTUATION else ch for ch in text)
    text = squad_normalize(text)
    return " ".join(_ARTICLE.sub("", word) for word in text.split())


def _f1(prediction, gold, normalizer):
    pred_tokens, gold_tokens = normalizer(prediction).split(), normalizer(gold).split()
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(pred_tokens), overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction, golds, normalizer=squad_normalize):
    return max(float(normalizer(prediction) == normalizer(gold)) for gold in golds)


def squad_f1(prediction, golds, normalizer=squad_normalize):
    return max(_f1(prediction, gold, normalizer) for gold in golds)


def squad_scores(predictions, gold_answers, arabic=False):
    """EM and F1 ×100 averaged over questions; `predictions[i]` is None for an unanswered question (scores 0).

    ``arabic=False`` is the official v1.1 metric; ``arabic=True`` the Arabic-normalised variant.
    """
    if len(predictions) != len(gold_answers):
        raise ParameterError(f"{len(predictions)} predictions for {len(gold_answers)} questions")
    normalizer = arabic_normalize if arabic else squad_normalize
    em = f1 = 0.0
    for prediction, golds in zip(predictions, gold_answers, strict=True):
        if prediction is None or not golds:
            continue
        em += exact_match(prediction, golds, normalizer)
        f1 += squad_f1(prediction, golds, normalizer)
    n = max(1, len(predictions))
    return {"exact_match": 100 * em / n, "f1": 100 * f1 / n, "count": len(predictions)}


def _pair(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ParameterError(f"labels and predictions differ in shape: {y_true.shape} vs {y_pred.shape}")
    return y_true, y_pred
