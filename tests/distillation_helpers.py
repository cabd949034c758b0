"""Tiny teacher/student pretrainers and synthetic pretraining batches for the distillation tests."""

import keras
import numpy as np
from helpers import VOCAB

LENGTH, PREDICTIONS, BATCH = 12, 3, 4


def tiny_pretrainer(kind, seed, **overrides):
    """A 2-block IBERTA-shaped teacher (``kind="teacher"``) or MBERTA-shaped student at the tests' tiny size
    (`helpers.tiny_config`), seeded; ``overrides`` change config fields (e.g. ``hidden_dropout=0.0``)."""
    from helpers import tiny_config

    from arlm.mobilebert import MobileBertBackbone, MobileBertPretrainer

    keras.utils.set_random_seed(seed)
    config = tiny_config("iberta" if kind == "teacher" else "mberta", max_position_embeddings=LENGTH, **overrides)
    return MobileBertPretrainer(MobileBertBackbone.from_mobilebert_config(config))


def batches(count=4, seed=0):
    """``count`` deterministic ``(x, y)`` pretraining batches with some padding."""
    rng = np.random.default_rng(seed)
    token_ids = rng.integers(5, VOCAB, (count * BATCH, LENGTH)).astype("int32")
    padding_mask = np.ones_like(token_ids)
    padding_mask[::2, -3:] = 0
    token_ids[padding_mask == 0] = 0
    positions = np.sort(rng.integers(1, LENGTH - 3, (count * BATCH, PREDICTIONS)), axis=1).astype("int32")
    x = {"token_ids": token_ids, "segment_ids": (np.arange(LENGTH) >= LENGTH // 2).astype("int32")[None].repeat(
        count * BATCH, 0), "padding_mask": padding_mask, "mask_positions": positions}
    y = {"masked_lm_ids": np.take_along_axis(token_ids, positions, 1),
         "masked_lm_weights": np.ones((count * BATCH, PREDICTIONS), "float32"),
         "next_sentence_labels": rng.integers(0, 2, count * BATCH).astype("int32")}
    return x, y


def make_dataset(count=4, seed=0):
    """A function returning the same infinite ``tf.data`` stream of batches each time it is called."""
    import tensorflow as tf

    x, y = batches(count, seed)
    return lambda: tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH).repeat()


def snapshot(variables):
    return {id(v): keras.ops.convert_to_numpy(v).copy() for v in variables}


def changed(before, variables):
    return [not np.array_equal(before[id(v)], keras.ops.convert_to_numpy(v)) for v in variables]
