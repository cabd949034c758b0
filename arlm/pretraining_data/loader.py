"""Pretraining batches with ``tf.data``: BERT's feature spec, a seeded file and example order, dynamic masking
(`arlm.pretraining_data`). TensorFlow is imported inside the functions, so the package stays light."""

import os

from arlm.errors import DatasetError, ParameterError
from arlm.tokenizer import CLS_ID, MASK_ID, PAD_ID, SEP_ID


def feature_spec(max_seq_length, max_predictions_per_seq):
    import tensorflow as tf

    ints = lambda n: tf.io.FixedLenFeature([n], tf.int64)  # noqa: E731
    return {
        "input_ids": ints(max_seq_length), "input_mask": ints(max_seq_length), "segment_ids": ints(max_seq_length),
        "masked_lm_positions": ints(max_predictions_per_seq), "masked_lm_ids": ints(max_predictions_per_seq),
        "masked_lm_weights": tf.io.FixedLenFeature([max_predictions_per_seq], tf.float32),
        "next_sentence_labels": ints(1),
    }


def _files(file_pattern_or_list):
    import tensorflow as tf

    patterns = [file_pattern_or_list] if isinstance(file_pattern_or_list, str | os.PathLike) else file_pattern_or_list
    files = []
    for pattern in patterns:
        pattern = str(pattern)
        if os.path.isdir(pattern):
            pattern = os.path.join(pattern, "*.tfrecord")
        files.extend(sorted(tf.io.gfile.glob(pattern)))
    if not files:
        raise DatasetError(f"no TFRecord files match {file_pattern_or_list!r} (run chapter 1 first)")
    return files


def dynamic_mask(token_ids, padding_mask, max_predictions_per_seq, vocab_size, masked_lm_prob=0.15, mask_id=MASK_ID,
                 special_ids=(PAD_ID, CLS_ID, SEP_ID), generator=None):
    """RoBERTa-style masking in the graph (new positions every time a batch is drawn), BERT's counts and 80/10/10.

    Takes unmasked ``token_ids`` [B, L] and returns ``(masked token_ids, mask_positions, masked_lm_ids,
    masked_lm_weights)`` with $n = \\min(P, \\max(1, \\mathrm{round}(p\\,|x|)))$ masked positions per row.
    `generator` is a `tf.random.Generator`; its state lives outside the dataset, so a new iterator (a new epoch)
    continues the random stream instead of replaying it.
    """
    import tensorflow as tf

    generator = generator or tf.random.Generator.from_non_deterministic_state()

    token_ids = tf.convert_to_tensor(token_ids)
    shape = tf.shape(token_ids)
    candidate = tf.cast(padding_mask, tf.bool)
    for special in special_ids:
        candidate &= token_ids != special
    length = tf.reduce_sum(tf.cast(padding_mask, tf.float32), axis=1)
    num = tf.minimum(max_predictions_per_seq, tf.maximum(1, tf.cast(tf.round(length * masked_lm_prob), tf.int32)))
    num = tf.minimum(num, tf.reduce_sum(tf.cast(candidate, tf.int32), axis=1))
    # a random order of the candidates: random scores, non-candidates last
    scores = tf.where(candidate, generator.uniform(tf.shape(token_ids)), -1.0)
    order = tf.math.top_k(scores, k=max_predictions_per_seq).indices
    keep = tf.range(max_predictions_per_seq)[None, :] < num[:, None]
    positions = tf.sort(tf.where(keep, order, shape[1]), axis=1)  # unused slots sort last, then become 0
    keep = positions < shape[1]
    positions = tf.where(keep, positions, 0)
    labels = tf.where(keep, tf.gather(token_ids, positions, batch_dims=1), 0)
    draw = generator.uniform(tf.shape(positions))
    random_ids = generator.uniform(tf.shape(positions), 0, vocab_size, dtype=token_ids.dtype)
    replacement = tf.where(draw < 0.8, tf.cast(mask_id, token_ids.dtype), tf.where(draw < 0.9, labels, random_ids))
    rows = tf.broadcast_to(tf.range(shape[0])[:, None], tf.shape(positions))
    updates = tf.boolean_mask(tf.stack([rows, positions], -1), keep)
    masked = tf.tensor_scatter_nd_update(token_ids, updates, tf.boolean_mask(replacement, keep))
    return masked, positions, labels, tf.cast(keep, tf.float32)


def load_dataset(file_pattern_or_list, batch_size, max_seq_length, max_predictions_per_seq, shuffle=True,
                 repeat=True, dynamic_masking=False, vocab_size=None, masked_lm_prob=0.15, seed=None,
                 shuffle_buffer=10_000, drop_remainder=True):
    """A `tf.data.Dataset` of ``(x, y)`` batches from BERT pretraining TFRecords, ready for ``model.fit``.

    ``x = {"token_ids", "segment_ids", "padding_mask", "mask_positions"}``, all int32 [B, L] / [B, P]
    (``padding_mask`` is int32 1/0); ``y = {"masked_lm_ids": int32 [B, P], "masked_lm_weights": float32 [B, P],
    "next_sentence_labels": int32 [B]}``.

    With ``dynamic_masking=True`` the stored masks are undone and new ones are drawn for every batch
    (RoBERTa-style; needs ``vocab_size``), so each epoch sees different masked positions.
    """
    import tensorflow as tf

    if dynamic_masking and not vocab_size:
        raise ParameterError("load_dataset(dynamic_masking=True) needs vocab_size (for the 10% random tokens)")
    files = _files(file_pattern_or_list)
    spec = feature_spec(max_seq_length, max_predictions_per_seq)
    dataset = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        dataset = dataset.shuffle(len(files), seed=seed)
    # with a seed the stream is repeatable (resume, and equal batches for the chapter 4 control); without one,
    # shards are read in whatever order they arrive
    repeatable = seed is not None or not shuffle
    dataset = dataset.interleave(tf.data.TFRecordDataset, cycle_length=min(len(files), 8),
                                 num_parallel_calls=tf.data.AUTOTUNE, deterministic=repeatable)
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    if dynamic_masking:
        generator = tf.random.Generator.from_seed(seed) if seed is not None else \
            tf.random.Generator.from_non_deterministic_state()

    def parse(records):
        parsed = tf.io.parse_example(records, spec)
        f = {k: tf.cast(v, tf.int32) if v.dtype == tf.int64 else v for k, v in parsed.items()}
        token_ids, positions, labels = f["input_ids"], f["masked_lm_positions"], f["masked_lm_ids"]
        weights = f["masked_lm_weights"]
        if dynamic_masking:
            # put the original tokens back, then mask afresh
            rows = tf.broadcast_to(tf.range(tf.shape(positions)[0])[:, None], tf.shape(positions))
            keep = weights > 0
            updates = tf.boolean_mask(tf.stack([rows, positions], -1), keep)
            token_ids = tf.tensor_scatter_nd_update(token_ids, updates, tf.boolean_mask(labels, keep))
            token_ids, positions, labels, weights = dynamic_mask(
                token_ids, f["input_mask"], max_predictions_per_seq, vocab_size, masked_lm_prob, generator=generator)
        x = {"token_ids": token_ids, "segment_ids": f["segment_ids"], "padding_mask": f["input_mask"],
             "mask_positions": positions}
        y = {"masked_lm_ids": labels, "masked_lm_weights": weights,
             "next_sentence_labels": f["next_sentence_labels"][:, 0]}
        return x, y

    # one stateful generator draws the new masks: parallel calls would take its draws in any order
    parallel = None if dynamic_masking and seed is not None else tf.data.AUTOTUNE
    return dataset.map(parse, num_parallel_calls=parallel).prefetch(tf.data.AUTOTUNE)


def masked_coverage(file_pattern_or_list, dynamic_masking, epochs=4, batches=8, **dataset_args):
    """The share of the tokens of the first `batches` batches masked at least once after each of `epochs` passes
    over them: static masks (BERT, written once) stay at one pass's share, dynamic ones (RoBERTa) keep growing.

    Args:
        file_pattern_or_list: the pretraining TFRecords (`load_dataset`).
        dynamic_masking (bool): draw new masks for every batch (needs ``vocab_size`` in `dataset_args`).
        epochs, batches (int): passes, and batches per pass.
        **dataset_args: `load_dataset`'s other arguments (``batch_size``, ``max_seq_length``, ...; read in file
            order, ``shuffle=False``, so every pass sees the same examples).

    Returns a list of `epochs` fractions.
    """
    dataset = load_dataset(file_pattern_or_list, dynamic_masking=dynamic_masking,
                           **{**dataset_args, "shuffle": False, "repeat": False}).take(batches)
    seen, coverage = set(), []
    for _ in range(epochs):
        tokens = 0
        for b, (x, y) in enumerate(dataset):
            tokens += int(x["padding_mask"].numpy().sum())
            for r, (positions, weights) in enumerate(zip(x["mask_positions"].numpy(), y["masked_lm_weights"].numpy(),
                                                         strict=True)):
                seen.update((b, r, int(p)) for p, w in zip(positions, weights, strict=True) if w)
        coverage.append(len(seen) / tokens)
    return coverage


def masking_stats(dataset, is_continuation, batches=None):
    """What the masking of a pretraining dataset did: masked tokens per example and how they cut words.

    Args:
        dataset: batches of `load_dataset` (finite, or cut with `batches`).
        is_continuation: one bool per vocabulary id, `WordPieceTokenizer.is_continuation()` (``##`` pieces).
        batches (int | None): read at most this many batches (None: all).

    Returns a dict: ``examples``, ``tokens`` (real, with [CLS]/[SEP]), ``masked``, ``masked_per_example``,
    ``masked_share`` (masked / tokens), ``continuation_share`` (the share of masked positions whose original
    token is a ``##`` piece) and ``partial_word_share`` (the share of masked positions in a word of which some
    piece stays visible: 0 with whole-word masking).
    """
    import numpy as np

    continuation = np.asarray(is_continuation, bool)
    examples = tokens = masked = pieces = partial = 0
    for x, y in dataset.take(batches) if batches is not None else dataset:
        weights = y["masked_lm_weights"].numpy() > 0
        positions, labels = x["mask_positions"].numpy(), y["masked_lm_ids"].numpy()
        original, real = x["token_ids"].numpy().copy(), x["padding_mask"].numpy() > 0
        rows = np.broadcast_to(np.arange(len(original))[:, None], positions.shape)
        original[rows[weights], positions[weights]] = labels[weights]
        is_masked = np.zeros(original.shape, bool)
        is_masked[rows[weights], positions[weights]] = True
        # a word: a piece that is not ## and the ## pieces after it (never across [CLS]/[SEP]/padding, where
        # truncation may leave a ## piece first); numbered over the whole batch
        special = ~real | np.isin(original, (CLS_ID, SEP_ID))
        after_special = np.pad(special[:, :-1], ((0, 0), (1, 0)), constant_values=True)
        word = np.cumsum(~continuation[original] | special | after_special, axis=None).reshape(original.shape)
        size = np.bincount(word.ravel())
        hidden = np.bincount(word.ravel(), weights=is_masked.ravel())
        examples += len(original)
        tokens += int(real.sum())
        masked += int(weights.sum())
        pieces += int(continuation[labels[weights]].sum())
        partial += int((hidden[word[is_masked]] < size[word[is_masked]]).sum())
    return {"examples": examples, "tokens": tokens, "masked": masked,
            "masked_per_example": masked / max(examples, 1), "masked_share": masked / max(tokens, 1),
            "continuation_share": pieces / max(masked, 1), "partial_word_share": partial / max(masked, 1)}
