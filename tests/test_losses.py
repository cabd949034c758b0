"""The pretraining objective's terms against NumPy (spec 3.1)."""

import numpy as np
import pytest

from arlm.losses import masked_lm_accuracy, masked_lm_cross_entropy, masked_lm_loss, next_sentence_loss


@pytest.mark.backend
def test_losses_match_numpy():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(2, 3, 5)).astype("float32")
    labels = rng.integers(0, 5, (2, 3))
    weights = np.array([[1, 1, 0], [1, 0, 0]], "float32")
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    ce = -np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]
    expected = (weights * ce).sum() / (weights.sum() + 1e-5)
    np.testing.assert_allclose(float(masked_lm_loss(labels, logits, weights)), expected, rtol=1e-5)
    nsp_logits = rng.normal(size=(4, 2)).astype("float32")
    nsp_labels = np.array([0, 1, 1, 0])
    lp = nsp_logits - np.log(np.exp(nsp_logits).sum(-1, keepdims=True))
    np.testing.assert_allclose(float(next_sentence_loss(nsp_labels, nsp_logits)),
                               -lp[np.arange(4), nsp_labels].mean(), rtol=1e-5)


@pytest.mark.backend
def test_soft_targets_and_accuracy_count_only_real_slots():
    logits = np.array([[[2.0, 0.0], [0.0, 3.0], [5.0, 0.0]]], "float32")
    labels, weights = np.array([[0, 0, 1]]), np.array([[1.0, 1.0, 0.0]], "float32")  # the third slot is padding
    assert float(masked_lm_accuracy(labels, logits, weights)) == pytest.approx(0.5, rel=1e-4)
    one_hot = np.eye(2, dtype="float32")[labels]
    assert float(masked_lm_cross_entropy(one_hot, logits, weights)) == pytest.approx(
        float(masked_lm_loss(labels, logits, weights)), rel=1e-6)
