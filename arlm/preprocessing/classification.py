"""Sentence classification inputs as ``run_classifier.py`` lays them out (spec 5.1): ``[CLS] text [SEP]``."""

import numpy as np


def encode_texts(texts, tokenizer, max_seq_length):
    """``[CLS] text [SEP]`` (text cut to max_seq_length - 2 pieces), padded: the three model inputs (spec 5.1)."""
    ids = np.zeros((len(texts), max_seq_length), np.int32)
    for row, text in enumerate(texts):
        pieces = [tokenizer.cls_id, *tokenizer.encode(text)[: max_seq_length - 2], tokenizer.sep_id]
        ids[row, : len(pieces)] = pieces
    mask = (ids != tokenizer.pad_id).astype(np.int32)
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}
