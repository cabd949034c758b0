"""PoS features as the authors' ``run_pos.py`` builds them (spec 5.2).

Each word is WordPiece-tokenized; its **first piece** carries the word's tag and every continuation piece the
label ``X``; position 0 is ``[CLS]`` with label ``[CLS]``; no ``[SEP]`` is appended; padding is ``[PAD]`` = 0.
Sentences longer than `max_seq_length` pieces are cut (as the authors' script does).

>>> features = encode_tagging(split.sentences, split.tags, tokenizer, POS_LABELS, 128)   # doctest: +SKIP
"""

import dataclasses

import numpy as np

from arlm.errors import DatasetError

CONTINUATION_LABEL = "X"


@dataclasses.dataclass
class TagFeatures:
    token_ids: np.ndarray
    segment_ids: np.ndarray
    padding_mask: np.ndarray
    labels: np.ndarray  # label id per position (0 at padding)
    first_piece: np.ndarray  # bool: the position is a word's first piece (the standard metrics score these)
    truncated: int  # sentences cut at max_seq_length

    def inputs(self):
        return {"token_ids": self.token_ids, "segment_ids": self.segment_ids, "padding_mask": self.padding_mask}

    def __len__(self):
        return len(self.token_ids)


def encode_tagging(sentences, tags, tokenizer, labels, max_seq_length):
    """`TagFeatures` of word lists `sentences` and their tag lists, with `labels` giving the id order.

    ``tags=None`` (prediction: no gold tags) leaves every label id at 0; ``labels`` is then not needed.
    """
    index = {label: i for i, label in enumerate(labels or ())}
    n = len(sentences)
    ids = np.zeros((n, max_seq_length), np.int32)
    label_ids = np.zeros((n, max_seq_length), np.int32)
    first = np.zeros((n, max_seq_length), bool)
    truncated = 0
    for row, words in enumerate(sentences):
        word_tags = tags[row] if tags is not None else [None] * len(words)
        if len(word_tags) != len(words):
            raise DatasetError(f"sentence {row}: {len(words)} words but {len(word_tags)} tags")
        pieces, piece_labels, is_first = [tokenizer.cls_id], [index.get("[CLS]", 0)], [False]
        for word, tag in zip(words, word_tags, strict=True):
            if tag is not None and tag not in index:
                raise DatasetError(f"sentence {row}: tag {tag!r} is not in the label list {list(labels)}")
            word_ids = tokenizer.encode(word) or [tokenizer.unk_id]
            for k, piece in enumerate(word_ids):
                pieces.append(piece)
                piece_labels.append(0 if tag is None else index[tag] if k == 0 else index[CONTINUATION_LABEL])
                is_first.append(k == 0)
        if len(pieces) > max_seq_length:
            truncated += 1
            pieces, piece_labels, is_first = (x[:max_seq_length] for x in (pieces, piece_labels, is_first))
        ids[row, : len(pieces)] = pieces
        label_ids[row, : len(pieces)] = piece_labels
        first[row, : len(pieces)] = is_first
    return TagFeatures(ids, np.zeros_like(ids), (ids != tokenizer.pad_id).astype(np.int32), label_ids, first,
                       truncated)


def word_tags(predictions, features, labels):
    """Tags of each sentence's (kept) words from per-position label ids: the first piece's label."""
    out = []
    for row in range(len(features)):
        positions = np.flatnonzero(features.first_piece[row])
        out.append([labels[int(predictions[row, p])] for p in positions])
    return out
