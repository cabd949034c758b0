"""BERT pretraining examples, faithful to `google-research/bert:create_pretraining_data.py` (spec section 4).

Per shard of documents (random seed ``random_seed + shard index``):

1. tokenize every line, drop empty documents, shuffle the documents;
2. ``dupe_factor`` times, for every document: target length ``max_seq_length - 3`` (with probability
   ``short_seq_prob`` a random length in ``[2, target]``); accumulate sentences into a chunk; segment A is the
   first ``a_end`` sentences; segment B is the rest of the chunk (label 0) or, with probability 0.5 or when the
   chunk has one sentence, a random span of another document (label 1), the unused sentences put back;
3. truncate the longer segment from the front or the back at random until ``|A| + |B| <= max_seq_length - 3``;
4. ``[CLS] A [SEP] B [SEP]``, segment ids 0 then 1; mask $n = \\min(P, \\max(1, \\mathrm{round}(p \\cdot |x|)))$
   positions (never [CLS]/[SEP]): 80% ``[MASK]``, 10% kept, 10% a uniformly random vocabulary id;
5. shuffle the shard's instances, write one TFRecord file with BERT's features
   (``input_ids``, ``input_mask``, ``segment_ids`` [L]; ``masked_lm_positions``, ``masked_lm_ids``,
   ``masked_lm_weights`` [P]; ``next_sentence_labels`` [1]).

**Streaming and parallel.** The corpus is cut into shards of about ``words_per_shard`` words; a pool of
processes turns each shard into a TFRecord file (serialized and framed in pure Python and NumPy: no process
imports TensorFlow). At most one shard per worker plus one waiting is in memory, so memory depends on the shard
size, never on the corpus size; the output does not depend on the number of workers. A shard is also the pool
from which "random next" segments are drawn, exactly as when the official script is run once per input file
(the usual practice for large corpora). Masked positions are a random sample of the candidates rather than a
shuffle of all of them, drawn for a whole shard at once with NumPy (`mask_instances`; same distribution, far
fewer Python steps), and the front/back truncation draws one bit per dropped token at once, so outputs are not
bit-identical to the official script's.

The package is split by job: `instances` (the algorithm), `records` (``tf.train.Example`` bytes and TFRecord
framing, without TensorFlow), `generate` (shards in a process pool, the output folder) and `loader` (``tf.data``
batches and dynamic masking).

>>> config = PretrainingConfig(max_seq_length=128)
>>> meta = create_pretraining_data(documents, "vocab.txt", "out/", config)  # doctest: +SKIP
>>> ds = load_dataset("out/*.tfrecord", batch_size=32, max_seq_length=128, max_predictions_per_seq=20)  # doctest: +SKIP
"""

from arlm.pretraining_data.generate import (
    OUTPUTS,
    UNK_WARNING_RATE,
    UnknownTokensWarning,
    create_pretraining_data,
    fingerprint,
    fullness_finding,
    iter_shards,
    length_finding,
    masking_finding,
    process_shard,
    random_next_finding,
    read_meta,
    tokenize_documents,
)
from arlm.pretraining_data.instances import (
    Instance,
    PretrainingConfig,
    create_instances,
    create_instances_from_document,
    create_whole_word_masks,
    mask_instances,
    truncate_seq_pair,
    truncated_lengths,
)
from arlm.pretraining_data.loader import dynamic_mask, feature_spec, load_dataset, masked_coverage, masking_stats
from arlm.pretraining_data.records import FEATURES, ExampleEncoder, masked_crc32c, write_tfrecords

__all__ = [
    "FEATURES", "OUTPUTS", "UNK_WARNING_RATE", "ExampleEncoder", "Instance", "PretrainingConfig",
    "UnknownTokensWarning", "create_instances", "create_instances_from_document", "create_pretraining_data",
    "create_whole_word_masks", "dynamic_mask", "feature_spec", "fingerprint", "fullness_finding", "iter_shards",
    "length_finding", "load_dataset", "mask_instances", "masked_crc32c", "masking_finding", "masked_coverage",
    "masking_stats",
    "process_shard", "random_next_finding", "read_meta", "tokenize_documents", "truncate_seq_pair",
    "truncated_lengths", "write_tfrecords"
]
