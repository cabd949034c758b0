"""BERT's instance creation (`google-research/bert:create_pretraining_data.py`, spec section 4): documents of token
ids in, masked ``[CLS] A [SEP] B [SEP]`` instances with next-sentence labels out (steps 1-4 of
`arlm.pretraining_data`). Pure Python and NumPy; special ids come from `arlm.tokenizer`.
"""

import dataclasses

from arlm.errors import ParameterError
from arlm.tokenizer import CLS_ID, MASK_ID, SEP_ID


@dataclasses.dataclass(frozen=True)
class PretrainingConfig:
    """The flags of BERT's `create_pretraining_data.py` (same names, same defaults)."""

    max_seq_length: int = 128
    max_predictions_per_seq: int = 20
    masked_lm_prob: float = 0.15
    dupe_factor: int = 10
    short_seq_prob: float = 0.1
    random_seed: int = 12345
    do_whole_word_mask: bool = False
    # not a BERT flag: cut each line into sentences (`arlm.text.split_sentences`); the mirror has a paragraph per
    # line, and BERT's next-sentence task and chunking assume a sentence per line
    split_sentences: bool = True

    def __post_init__(self):
        if self.max_seq_length < 8:
            raise ParameterError(f"max_seq_length must be at least 8, got {self.max_seq_length}")
        if not 1 <= self.max_predictions_per_seq <= self.max_seq_length - 3:
            raise ParameterError(f"max_predictions_per_seq must be in [1, max_seq_length - 3], got "
                                 f"{self.max_predictions_per_seq}")
        if not 0 < self.masked_lm_prob < 1 or not 0 <= self.short_seq_prob <= 1:
            raise ParameterError("masked_lm_prob must be in (0, 1) and short_seq_prob in [0, 1]")
        if self.dupe_factor < 1:
            raise ParameterError(f"dupe_factor must be at least 1, got {self.dupe_factor}")

    @classmethod
    def from_scale(cls, cfg, **changes):
        keys = ("max_seq_length", "max_predictions_per_seq", "masked_lm_prob", "dupe_factor", "short_seq_prob")
        return cls(**{key: getattr(cfg, key) for key in keys}, random_seed=cfg.seed, **changes)


@dataclasses.dataclass
class Instance:
    """One example before padding: token ids, segment ids, NSP label, masked positions and their original ids."""

    tokens: list
    segment_ids: list
    is_random_next: bool
    masked_lm_positions: list
    masked_lm_labels: list


# --- the algorithm (names and control flow follow the official script) -------------------------------------------


def truncated_lengths(len_a, len_b, max_num_tokens):
    """Segment lengths after BERT's truncation, which always shortens the longer segment (B on a tie)."""
    excess = len_a + len_b - max_num_tokens
    if excess <= 0:
        return len_a, len_b
    gap = abs(len_a - len_b)
    if gap >= excess:
        return (len_a - excess, len_b) if len_a > len_b else (len_a, len_b - excess)
    rest = excess - gap  # both equal now; B loses first, then they alternate
    equal = min(len_a, len_b)
    return equal - rest // 2, equal - (rest + 1) // 2


def truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng):
    """Drop tokens from the longer segment, front or back with probability 0.5 each, until the pair fits (in place).

    As the official loop, but in one step: the final lengths do not depend on chance, and the number of tokens
    dropped at the front of a segment is Binomial(dropped, 1/2), one random bit per dropped token.
    """
    for tokens, keep in zip((tokens_a, tokens_b), truncated_lengths(len(tokens_a), len(tokens_b), max_num_tokens),
                            strict=True):
        dropped = len(tokens) - keep
        if dropped:
            front = rng.getrandbits(dropped).bit_count()
            tokens[:] = tokens[front: front + keep]


def _random_order(items, rng):
    """The items in uniformly random order, drawn lazily (Fisher-Yates from the front).

    The official script shuffles every candidate position of every instance; masking needs only the first 20 or so,
    and drawing just those is most of the speed of this module. Same distribution, fewer random draws.
    """
    items = list(items)
    n = len(items)
    for i in range(n):
        j = i + int(rng.random() * (n - i))
        items[i], items[j] = items[j], items[i]
        yield items[i]


def create_whole_word_masks(tokens, masked_lm_prob, max_predictions_per_seq, vocab_size, rng, is_continuation,
                            special_ids=(CLS_ID, SEP_ID), mask_id=MASK_ID):
    """BERT's whole-word masking: $n = \\min(P, \\max(1, \\mathrm{round}(p\\,|x|)))$ positions, 80% [MASK] / 10% kept /
    10% random, where a word's ``##`` pieces are masked together (``is_continuation[id]``: the id is a ``##`` piece).

    Words are taken in random order, as in the official script, one instance at a time; without whole-word
    masking `mask_instances` masks a whole shard at once. Never [CLS]/[SEP].
    Returns (tokens with replacements, sorted positions, original ids at those positions).
    """
    output_tokens = list(tokens)
    num_to_predict = min(max_predictions_per_seq, max(1, int(round(len(tokens) * masked_lm_prob))))
    cand_indexes = []
    for i, token in enumerate(tokens):
        if token in special_ids:
            continue
        if cand_indexes and is_continuation[token]:
            cand_indexes[-1].append(i)  # a ## piece joins the previous word
        else:
            cand_indexes.append([i])
    chosen = _random_order(cand_indexes, rng)
    masked = []
    covered = set()
    random = rng.random
    for index_set in chosen:
        if len(masked) >= num_to_predict:
            break
        if len(masked) + len(index_set) > num_to_predict or not covered.isdisjoint(index_set):
            continue
        covered.update(index_set)
        for index in index_set:
            if random() < 0.8:
                output_tokens[index] = mask_id
            elif random() >= 0.5:  # else: 10% keep the original
                output_tokens[index] = rng.randint(0, vocab_size - 1)
            masked.append((index, tokens[index]))
    masked.sort()
    return output_tokens, [i for i, _ in masked], [t for _, t in masked]


def create_instances_from_document(all_documents, document_index, config, vocab_size, rng, is_continuation=None,
                                   cls_id=CLS_ID, sep_id=SEP_ID, mask_id=MASK_ID):
    """Instances of one document (a list of sentences, each a list of token ids), as in the official script.

    With whole-word masking (`is_continuation` given) each instance is masked here, as in the official script;
    otherwise instances come back unmasked, for `mask_instances`.
    """
    document = all_documents[document_index]
    max_num_tokens = config.max_seq_length - 3
    target_seq_length = max_num_tokens
    if rng.random() < config.short_seq_prob:
        target_seq_length = rng.randint(2, max_num_tokens)
    instances = []
    current_chunk = []
    current_length = 0
    i = 0
    while i < len(document):
        segment = document[i]
        current_chunk.append(segment)
        current_length += len(segment)
        if i == len(document) - 1 or current_length >= target_seq_length:
            if current_chunk:
                a_end = 1
                if len(current_chunk) >= 2:
                    a_end = rng.randint(1, len(current_chunk) - 1)
                tokens_a = []
                for j in range(a_end):
                    tokens_a.extend(current_chunk[j])
                tokens_b = []
                is_random_next = False
                if len(current_chunk) == 1 or rng.random() < 0.5:
                    is_random_next = True
                    target_b_length = target_seq_length - len(tokens_a)
                    for _ in range(10):
                        random_document_index = rng.randint(0, len(all_documents) - 1)
                        if random_document_index != document_index:
                            break
                    random_document = all_documents[random_document_index]
                    random_start = rng.randint(0, len(random_document) - 1)
                    for j in range(random_start, len(random_document)):
                        tokens_b.extend(random_document[j])
                        if len(tokens_b) >= target_b_length:
                            break
                    num_unused_segments = len(current_chunk) - a_end
                    i -= num_unused_segments  # put the unused sentences back
                else:
                    for j in range(a_end, len(current_chunk)):
                        tokens_b.extend(current_chunk[j])
                truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng)
                assert len(tokens_a) >= 1 and len(tokens_b) >= 1
                tokens = [cls_id, *tokens_a, sep_id, *tokens_b, sep_id]
                segment_ids = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
                positions, labels = [], []  # without whole-word masking, `mask_instances` masks the whole pool
                if is_continuation is not None:
                    tokens, positions, labels = create_whole_word_masks(
                        tokens, config.masked_lm_prob, config.max_predictions_per_seq, vocab_size, rng,
                        is_continuation, (cls_id, sep_id), mask_id)
                instances.append(Instance(tokens, segment_ids, is_random_next, positions, labels))
            current_chunk = []
            current_length = 0
        i += 1
    return instances


def create_instances(all_documents, config, vocab_size, rng, is_continuation=None):
    """All instances of a pool of tokenized documents: shuffle documents, `dupe_factor` passes, shuffle instances.

    Masking draws from a NumPy generator seeded from `rng`, so `rng`'s seed still fixes every output.
    """
    all_documents = [document for document in all_documents if document]
    rng.shuffle(all_documents)
    instances = []
    for _ in range(config.dupe_factor):
        for document_index in range(len(all_documents)):
            instances.extend(
                create_instances_from_document(all_documents, document_index, config, vocab_size, rng, is_continuation))
    rng.shuffle(instances)
    if is_continuation is None:
        mask_instances(instances, config, vocab_size, rng.getrandbits(64))
    return instances


def mask_instances(instances, config, vocab_size, seed, mask_id=MASK_ID):
    """BERT's per-token masking for every instance at once, in place, drawn with NumPy (not whole-word masking).

    $n = \\min(P, \\max(1, \\mathrm{round}(p\\,|x|)))$ positions per instance, 80% [MASK] / 10% kept / 10% random,
    as the official script. Every position but [CLS] and the two [SEP] gets a uniform random key; the $n$
    smallest keys are a uniformly random subset of $n$ candidates. One more uniform draw per chosen position picks
    [MASK] (< 0.8), the original id (< 0.9) or a random vocabulary id. (A Python loop per instance was most of the
    generator's time.)
    """
    import numpy as np

    if not instances:
        return
    rng = np.random.default_rng(seed)
    width, slots = config.max_seq_length, config.max_predictions_per_seq
    lengths = np.fromiter([len(inst.tokens) for inst in instances], np.int64, len(instances))
    second_sep = lengths - 1 - np.fromiter([sum(inst.segment_ids) for inst in instances], np.int64, len(instances))
    column = np.arange(width)
    special = (column == 0) | (column[None] >= lengths[:, None] - 1) | (column[None] == second_sep[:, None])
    keys = np.where(special, 2.0, rng.random((len(instances), width)))
    counts = np.minimum(slots, np.maximum(1, np.rint(lengths * config.masked_lm_prob).astype(np.int64)))
    counts = np.minimum(counts, lengths - 3)  # never more than the candidates
    chosen = np.arange(slots)[None] < counts[:, None]
    smallest = np.argpartition(keys, slots - 1, axis=1)[:, :slots]  # the `slots` smallest keys, in no order
    smallest = np.take_along_axis(smallest, np.argsort(np.take_along_axis(keys, smallest, axis=1), axis=1), axis=1)
    positions = np.sort(np.where(chosen, smallest, width), axis=1)
    draw = rng.random(positions.shape)
    random_ids = rng.integers(0, vocab_size, positions.shape)
    replacement = np.where(draw < 0.8, mask_id, np.where(draw < 0.9, -1, random_ids))  # -1: keep the original
    for inst, count, position_row, replacement_row in zip(instances, counts.tolist(), positions.tolist(),
                                                          replacement.tolist(), strict=True):
        tokens = inst.tokens
        inst.masked_lm_positions = position_row[:count]
        inst.masked_lm_labels = [tokens[i] for i in inst.masked_lm_positions]
        for i, token in zip(inst.masked_lm_positions, replacement_row[:count], strict=True):
            if token >= 0:
                tokens[i] = token
