"""Span QA features and decoding, as BERT's ``run_squad.py`` does them (spec 5.3), over `arlm.tokenizer`.

Features: the context is split on whitespace into words (keeping char -> word offsets); each word is
WordPiece-tokenized; the question is cut to `max_query_length` pieces; the document is cut into windows of at
most ``max_seq_length - len(question) - 3`` pieces that start every `doc_stride` pieces, each laid out as
``[CLS] question [SEP] window [SEP]`` (segments 0 then 1). A training window that does not hold the whole answer
points at [CLS] (start = end = 0).

A piece that appears in several windows is scored only in its **max-context** window, the one maximising

$$\\text{score}(w, i) = \\min(i - s_w,\\; s_w + n_w - 1 - i) + 0.01\\, n_w$$

Decoding takes the `n_best` highest start and end logits per window, drops invalid spans (outside the document,
not max-context, end < start, longer than `max_answer_length`), ranks by start + end logit, and maps the best
span back to the original text (`final_text`, BERT's ``get_final_text`` over `arlm.text.normalize`).

>>> features = build_features(examples, tokenizer, max_seq_length=384, doc_stride=128)   # doctest: +SKIP
>>> answers = decode(examples, features, start_logits, end_logits)                      # doctest: +SKIP
"""

import dataclasses
import functools

import numpy as np

from arlm.errors import ParameterError

MAX_QUERY_LENGTH = 64
N_BEST = 20
MAX_ANSWER_LENGTH = 30


def is_whitespace(ch):
    return ch in " \t\r\n" or ord(ch) == 0x202F


def split_context(context):
    """(words, char_to_word): BERT's whitespace split with the word index of every character."""
    words, char_to_word, previous_space = [], [], True
    for ch in context:
        if is_whitespace(ch):
            previous_space = True
        else:
            if previous_space:
                words.append(ch)
            else:
                words[-1] += ch
            previous_space = False
        char_to_word.append(len(words) - 1)
    return words, char_to_word


@dataclasses.dataclass
class QAExample:
    """One SQuAD v1.1 question: its context, the gold answers and the first answer's character offset."""

    qid: str
    title: str
    question: str
    context: str
    answers: list
    answer_start: int


@dataclasses.dataclass
class Features:
    """Model inputs (int32 arrays [n_windows, max_seq_length]) and what decoding needs to map windows back."""

    token_ids: np.ndarray
    segment_ids: np.ndarray
    padding_mask: np.ndarray
    start_positions: np.ndarray
    end_positions: np.ndarray
    example_index: list  # window -> example
    tokens: list  # window -> piece strings
    token_to_word: list  # window -> {position: word index in the example's context}
    max_context: list  # window -> {position: bool}
    words: list  # example -> whitespace words of its context
    skipped: list  # indices of training examples whose answer could not be located

    def __len__(self):
        return len(self.token_ids)

    def inputs(self):
        return {"token_ids": self.token_ids, "segment_ids": self.segment_ids, "padding_mask": self.padding_mask}


def _improve_span(pieces, start, end, tokenizer, answer):
    """The tightest piece span whose text equals the tokenized answer (BERT's _improve_answer_span)."""
    target = " ".join(tokenizer.tokenize(answer))
    for new_start in range(start, end + 1):
        for new_end in range(end, new_start - 1, -1):
            if " ".join(pieces[new_start:new_end + 1]) == target:
                return new_start, new_end
    return start, end


def _max_context(spans, span_index, position):
    best, best_index = None, None
    for index, (span_start, span_length) in enumerate(spans):
        end = span_start + span_length - 1
        if position < span_start or position > end:
            continue
        score = min(position - span_start, end - position) + 0.01 * span_length
        if best is None or score > best:
            best, best_index = score, index
    return best_index == span_index


def locate_answer(example, words, char_to_word):
    """Word span (start, end) of the first answer, or None when its text is not found there (skipped in training)."""
    if not example.answers or example.answer_start < 0:
        return None
    answer = example.answers[0]
    end_char = example.answer_start + len(answer) - 1
    if end_char >= len(char_to_word):
        return None
    start, end = char_to_word[example.answer_start], char_to_word[end_char]
    actual = " ".join(words[start:end + 1])
    cleaned = " ".join(answer.strip().split())
    return (start, end) if cleaned and cleaned in actual else None


def build_features(examples, tokenizer, max_seq_length=384, doc_stride=128, max_query_length=MAX_QUERY_LENGTH,
                   training=False):
    """`Features` for `examples` (`QAExample`); training windows get answer positions."""
    rows = {k: [] for k in ("token_ids", "segment_ids", "padding_mask", "start", "end")}
    example_index, all_tokens, token_to_word, max_context, all_words, skipped = [], [], [], [], [], []
    for index, example in enumerate(examples):
        words, char_to_word = split_context(example.context)
        all_words.append(words)
        query = [tokenizer.token_to_id(t) for t in tokenizer.tokenize(example.question)][:max_query_length]
        piece_to_word, word_to_piece, pieces = [], [], []
        for w, word in enumerate(words):
            word_to_piece.append(len(pieces))
            for piece in tokenizer.tokenize_word(word):
                piece_to_word.append(w)
                pieces.append(piece)
        answer_span = None
        if training:
            located = locate_answer(example, words, char_to_word)
            if located is None:
                skipped.append(index)
                continue
            start_word, end_word = located
            start = word_to_piece[start_word]
            end = (word_to_piece[end_word + 1] - 1) if end_word + 1 < len(words) else len(pieces) - 1
            answer_span = _improve_span(pieces, start, end, tokenizer, example.answers[0])
        max_doc = max_seq_length - len(query) - 3
        if max_doc < 1:
            raise ParameterError(f"max_seq_length {max_seq_length} leaves no room for the document after question "
                                 f"{example.qid!r} ({len(query)} pieces); lower max_query_length")
        spans, offset = [], 0
        while offset < len(pieces) or not spans:
            length = min(len(pieces) - offset, max_doc)
            spans.append((offset, length))
            if offset + length >= len(pieces):
                break
            offset += min(length, doc_stride)
        for span_index, (span_start, span_length) in enumerate(spans):
            tokens = ["[CLS]", *(tokenizer.vocab[i] for i in query), "[SEP]"]
            ids = [tokenizer.cls_id, *query, tokenizer.sep_id]
            segments = [0] * len(ids)
            to_word, is_max = {}, {}
            for i in range(span_start, span_start + span_length):
                to_word[len(ids)] = piece_to_word[i]
                is_max[len(ids)] = _max_context(spans, span_index, i)
                tokens.append(pieces[i])
                ids.append(tokenizer.token_to_id(pieces[i]))
                segments.append(1)
            tokens.append("[SEP]")
            ids.append(tokenizer.sep_id)
            segments.append(1)
            start = end = 0
            if answer_span is not None:
                inside = span_start <= answer_span[0] and answer_span[1] < span_start + span_length
                if inside:
                    shift = len(query) + 2 - span_start
                    start, end = answer_span[0] + shift, answer_span[1] + shift
            pad = max_seq_length - len(ids)
            rows["token_ids"].append(ids + [tokenizer.pad_id] * pad)
            rows["segment_ids"].append(segments + [0] * pad)
            rows["padding_mask"].append([1] * len(ids) + [0] * pad)
            rows["start"].append(start)
            rows["end"].append(end)
            example_index.append(index)
            all_tokens.append(tokens)
            token_to_word.append(to_word)
            max_context.append(is_max)
    shape = (-1, max_seq_length)
    arrays = {k: np.asarray(v, dtype=np.int32).reshape(shape) for k, v in rows.items() if k not in ("start", "end")}
    return Features(arrays["token_ids"], arrays["segment_ids"], arrays["padding_mask"],
                    np.asarray(rows["start"], dtype=np.int32), np.asarray(rows["end"], dtype=np.int32),
                    example_index, all_tokens, token_to_word, max_context, all_words, skipped)


@functools.lru_cache(maxsize=4096)
def _normalize_char(ch):
    from arlm.text import normalize

    return normalize(ch).replace(" ", "")


def final_text(piece_text, original_text):
    """The part of `original_text` that the de-tokenized prediction `piece_text` covers (BERT's get_final_text).

    Both sides are compared after `arlm.text.normalize` with spaces removed, character by character, so
    punctuation the tokenizer split off (``«الرياض»،``) is cut away while diacritics and letter forms of the
    original are kept. When the prediction cannot be aligned, the whole original span is returned.
    """
    normalized, origin = [], []
    for i, ch in enumerate(original_text):
        for out in _normalize_char(ch):
            normalized.append(out)
            origin.append(i)
    haystack = "".join(normalized)
    needle = "".join(piece_text.split())
    at = haystack.find(needle) if needle else -1
    if at < 0:
        return original_text
    end = origin[at + len(needle) - 1] + 1
    # keep the marks (tashkeel, shadda) that follow the last letter: they normalize to nothing
    while end < len(original_text) and not is_whitespace(original_text[end]):
        if _normalize_char(original_text[end]):
            break
        end += 1
    return original_text[origin[at]:end].strip()


def _top(logits, n):
    return np.argsort(logits)[::-1][:n]


def decode(examples, features, start_logits, end_logits, n_best=N_BEST, max_answer_length=MAX_ANSWER_LENGTH,
           with_scores=False):
    """Best answer text per example (None when no window gives a valid span), by summed start + end logit;
    ``with_scores``: ``(answer, score)`` pairs."""
    best = {}
    for w, example in enumerate(features.example_index):
        starts, ends = np.asarray(start_logits[w]), np.asarray(end_logits[w])
        to_word, is_max = features.token_to_word[w], features.max_context[w]
        for s in _top(starts, n_best):
            for e in _top(ends, n_best):
                s, e = int(s), int(e)
                if s not in to_word or e not in to_word or not is_max.get(s, False) or e < s:
                    continue
                if e - s + 1 > max_answer_length:
                    continue
                score = float(starts[s] + ends[e])
                if example not in best or score > best[example][0]:
                    best[example] = (score, w, s, e)
    answers = []
    for index in range(len(examples)):
        if index not in best:
            answers.append((None, None) if with_scores else None)
            continue
        score, w, s, e = best[index]
        pieces = features.tokens[w][s:e + 1]
        piece_text = " ".join(pieces).replace(" ##", "").replace("##", "")
        words = features.words[index][features.token_to_word[w][s]:features.token_to_word[w][e] + 1]
        answer = final_text(piece_text, " ".join(words))
        answers.append((answer, score) if with_scores else answer)
    return answers
