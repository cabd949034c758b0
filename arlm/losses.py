r"""The pretraining objective's terms, written once for the teacher, the students and their evaluation (spec 3.1).

* `masked_lm_cross_entropy`: BERT's weighted masked-LM loss for any target distribution (one-hot or a teacher's
  soft labels): $\sum_i w_i\,\mathrm{CE}(y_i, p_i) / (\sum_i w_i + 10^{-5})$;
* `masked_lm_loss`: the same with the true pieces as targets;
* `next_sentence_loss`: the batch mean of the 2-way NSP cross-entropy;
* `masked_lm_accuracy`: weighted accuracy of the argmax prediction over the real (weight 1) slots.

All take plain tensors and use ``keras.ops`` in float32, so they run on TensorFlow and JAX and under mixed
precision. Distillation adds its own terms in `arlm.distillation.losses`.

>>> import numpy as np
>>> round(float(masked_lm_loss(np.array([[1]]), np.zeros((1, 1, 4)), np.ones((1, 1)))), 4)  # log 4
1.3863
"""

from keras import ops

# run_pretraining.py's denominator guard: sum(w) + 1e-5
MLM_WEIGHT_EPSILON = 1e-5


def masked_lm_cross_entropy(target_probs, logits, weights):
    """$\\sum_i w_i\\,\\mathrm{CE}(y_i, p_i) / (\\sum_i w_i + 10^{-5})$ over the prediction slots.

    ``target_probs`` ``[batch, P, V]`` (one-hot or soft), ``logits`` ``[batch, P, V]``, ``weights`` ``[batch, P]``
    (0 marks an unused slot).
    """
    weights = ops.cast(weights, "float32")
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    per_slot = -ops.sum(ops.cast(target_probs, "float32") * log_probs, axis=-1)
    return ops.sum(weights * per_slot) / (ops.sum(weights) + MLM_WEIGHT_EPSILON)


def masked_lm_loss(labels, logits, weights):
    """$L_{MLM}$: `masked_lm_cross_entropy` with the true pieces ``labels`` ``[batch, P]`` as targets."""
    one_hot = ops.one_hot(ops.cast(labels, "int32"), ops.shape(logits)[-1])
    return masked_lm_cross_entropy(one_hot, logits, weights)


def next_sentence_loss(labels, logits):
    """$L_{NSP}$: batch mean of the cross-entropy of ``logits`` ``[batch, 2]`` (label 0: actual next, 1: random)."""
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    return -ops.mean(ops.sum(ops.one_hot(labels, ops.shape(logits)[-1]) * log_probs, axis=-1))


def masked_lm_accuracy(labels, logits, weights):
    """Share of the real slots (``weights`` > 0, weighted) whose argmax prediction is the true piece."""
    weights = ops.cast(weights, "float32")
    hits = ops.cast(ops.equal(ops.argmax(logits, axis=-1), ops.cast(labels, "int32")), "float32")
    return ops.sum(hits * weights) / (ops.sum(weights) + MLM_WEIGHT_EPSILON)
