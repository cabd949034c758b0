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
# # 2. MobileBERT in Keras 3 and the IBERTA teacher
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/arlm-book/arlm/blob/main/book/edition/cpu/02_teacher.ipynb)
#
# **Learning objectives**
# - Read the {term}`MobileBERT` family as the official code builds it: the factorized
#   {term}`trigram embedding`, the inverted-{term}`bottleneck` block, {term}`NoNorm` and
#   the quantization-friendly $-6$ attention mask ({term}`masked logit`).
# - Check that the paper's four models, built as Keras {term}`preset`s, have exactly the
#   parameter counts of Table 4.
# - Know the official {term}`LAMB` optimizer and how it differs from
#   `keras.optimizers.Lamb`.
# - Pretrain the {term}`IBERTA` teacher with $L = L_{MLM} + L_{NSP}$ using `model.fit`,
#   with checkpoints that survive a disconnect, and keep snapshots of a 50K- and a
#   30K-vocabulary teacher for Figure 1.

# %% tags=["parameters"]
scale = "tiny"  # tiny | cpu | gpu | full
run_dir = None  # default: runs/<scale>
overrides = {}  # any key of arlm.scales, e.g. {"teacher_steps": 200}

# %%
import arlm
from arlm.book.prose import say

cfg = arlm.scales.resolve(scale, **overrides)
ch = arlm.artifacts.Chapter("02_teacher", scale, run_dir, config=cfg)
runtime = arlm.runtime.setup(cfg)  # prints what it chose

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display
from keras import ops

from arlm.mobilebert import MobileBertBackbone, config_at_scale
from arlm.training import (
    count_lines,
    epoch_means,
    epoch_steps,
    frequent_piece_accuracy,
    summarize_history,
    teacher_finding,
    train_teacher,
    write_snapshot_index,
)

vocab_path = ch.require("01_corpus", "vocab.txt")
data_dir = ch.require("01_corpus", "pretraining")
meta = arlm.pretraining_data.read_meta(data_dir)
print(
    "dtype policy:", keras.config.dtype_policy().name, "| jit_compile:", cfg.jit_compile
)

# %% [markdown]
# ## 2.1 The embedding: a narrow table and a trigram
#
# The paper's vocabulary of $V = 50{,}000$ Arabic word pieces at the teacher's width $H
# = 256$ would cost $VH = 12.8$M parameters on its own. MobileBERT
# {cite}`sun2020mobilebert` stores the table at width $E = 128$ and widens each position
# by looking at its neighbours ([spec 1.3](#spec-1-3)):
#
# $$\tilde e_t = [e_{t+1};\ e_t;\ e_{t-1}] \in \mathbb{R}^{3E}$$
#
# $$h_t = \tilde e_t W_{et} + b_{et} + P_t + S_{s_t}.$$
#
# Here $e_t$ is the table's row for the token at position $t$ (zeros beyond the ends),
# $W_{et}$ ($3E \times H$) and $b_{et}$ the projection, $P_t$ the embedding of position
# $t$ and $S_{s_t}$ that of its segment $s_t$ (0 for A, 1 for B). The concatenation
# followed by a dense layer is a width-3 convolution with "same" zero padding
# (`arlm.layers.TrigramEmbedding`; the test suite checks it against
# `keras.layers.Conv1D`).

# %%
embedding = arlm.layers.TrigramEmbedding(vocab_size=20, embedding_size=4, hidden_size=8)
ids = np.array([[5, 6, 7, 0]], "int32")
print(
    "word table",
    tuple(embedding(ids).shape),
    "->",
    tuple(embedding.embeddings.shape),
    "; projection",
    tuple(embedding.projection.kernel.shape),
)

# %% [markdown]
# ## 2.2 The inverted-bottleneck block and the $-6$ mask
#
# Inside each block the width drops from $H$ to $B$ ([spec 1.4](#spec-1-4)):
#
# $$\begin{aligned}
# Z &= \mathrm{Norm}(X W_{in} + b_{in})\\
# A &= \mathrm{Norm}(\mathrm{MHA}(\cdot) W_o + b_o + Z)\\
# A &\leftarrow \mathrm{Norm}(\varphi(A W_1 + b_1) W_2 + b_2 + A)
#   \quad (n\text{ times})\\
# Y &= \mathrm{Norm}(\mathrm{Dropout}(A W_{ob} + b_{ob}) + X).
# \end{aligned}$$
#
# $X$ is the block's input, $T$ tokens of width $H$, and $Y$ its output. $W_{in}$ ($H
# \times B$) narrows it to the block's width $B$ ({term}`intra-block width`; $H$ is the
# {term}`inter-block width`), $\mathrm{MHA}$ is multi-head attention over $N$ heads:
# each head scores every pair of tokens (below), mixes the values with the softmax of
# the scores, and the heads' outputs side by side are projected by $W_o$. $(\cdot)$
# stands for its inputs, which differ between models: the teacher's queries, keys and
# values all come from $X$; a student's queries and keys come from one more $H \to B$
# map of $X$ and its values from $X$ ({term}`key/query-shared bottleneck`). The
# feed-forward network (FFN) $A W_1 + b_1 \to \varphi \to W_2$ widens $B$ to $F$ and
# back, $\varphi$ its activation, repeated $n$ times (`num_feedforward_networks`);
# $W_{ob}$ ($B \times H$) widens back to $H$ before the residual with $X$. Each $b$ is a
# bias.
#
# The teacher uses LayerNorm {cite}`ba2016layer` for $\mathrm{Norm}$ and
# {term}`GELU` {cite}`hendrycks2016gelu` for $\varphi$; the students use
# $\mathrm{NoNorm}(x) = \gamma \odot x + \beta$ (learned $\gamma$, $\beta$) and ReLU,
# which fold into integer kernels. Padded keys do not get $-\infty$ but a fixed logit:
#
# $$s_{h,i,j} = \frac{\langle q_{h,i}, k_{h,j}\rangle}{\sqrt d}\, m_j - 6\,(1 - m_j),$$
#
# where $q_{h,i}$ and $k_{h,j}$ are head $h$'s query of token $i$ and key of token $j$,
# $d$ the head's width and $m_j$ is 1 for a real key, 0 for padding.
#
# These masked logits are what the backbone returns as `attention_logits`; chapter 3
# distils them. One block of the teacher and one of the student, at the paper's size,
# with the width of every tensor (drawn from the presets, so the figure cannot drift
# from the code):

# %%
for name in ("iberta", "mberta"):
    figure = arlm.book.diagrams.bottleneck_block(arlm.mobilebert.named_config(name))
    plt.show()

# %%
config = config_at_scale("iberta", cfg, vocab_size=count_lines(vocab_path))
backbone = MobileBertBackbone.from_mobilebert_config(config)
length = 12
inputs = {
    "token_ids": np.random.default_rng(0).integers(5, 100, (1, length)).astype("int32"),
    "segment_ids": np.zeros((1, length), "int32"),
    "padding_mask": (np.arange(length) < 9).astype("int32")[None],
}
outputs = backbone(inputs)
print(
    {
        k: (
            tuple(v.shape)
            if not isinstance(v, list)
            else f"{len(v)} x {tuple(v[0].shape)}"
        )
        for k, v in outputs.items()
    }
)

logits = ops.convert_to_numpy(outputs["attention_logits"][0])[0, 0]
fig, axes = plt.subplots(1, 2, figsize=(7, 3))
axes[0].imshow(logits, cmap="viridis")
axes[0].set(title="layer 1, head 1: masked logits", xlabel="key j", ylabel="query i")
probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
axes[1].bar(range(length), probs[0])
axes[1].set(title="query 0: attention over keys (3 padded)", xlabel="key j")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2.3 Four models, one class: parameter counts against Table 4
#
# The presets `iberta`, `mberta`, `mberta_ii` and `arabert_base` are the configs the
# authors ran ([spec 1.2](#spec-1-2)). Counting as Table 4 does (backbone, pooler where
# configured, a 2-class classifier) gives the paper's numbers to within rounding; the
# 30K teacher of Figure 1 with its pretraining heads matches the authors' training log
# to the parameter. `arlm params` prints the same table from the shell.

# %%
table = pd.DataFrame(arlm.params.parameter_table())
table[["model", "paper_millions", "ours", "residual_millions", "graph"]]

# %% [markdown]
# At this {term}`scale` the same presets shrink with their proportions kept
# (`arlm.mobilebert.config_at_scale`):

# %%
scaled = {name: config_at_scale(name, cfg) for name in arlm.mobilebert.CONFIGS}
pd.DataFrame(
    [
        {
            "preset": name,
            "H": c.hidden_size,
            "B": c.intra_bottleneck_size or c.hidden_size,
            "F": c.intermediate_size,
            "FFNs": c.num_feedforward_networks,
            "L": c.num_layers,
            "V": c.vocab_size,
            "parameters": arlm.params.count_parameters(c),
        }
        for name, c in scaled.items()
    ]
)

# %% [markdown]
# ## 2.4 The objective and the optimizer
#
# The teacher learns {term}`masked language modelling` and
# {term}`next-sentence prediction` ([spec 3.1](#spec-3-1)). Only the (at most) $P$
# masked positions go through the $V$-wide output layer, whose weights are the word
# table tied to extra columns:
#
# $$\begin{aligned}
# L = {} & \frac{\sum_i w_i\,\mathrm{CE}(y_i,\ g_i [W_{word} | W_{extra}]^\top + b)}
#              {\sum_i w_i + 10^{-5}} \\
#   & + \frac{1}{N}\sum_n \mathrm{CE}(\ell_n,\ p_n W_{nsp}^\top + b_{nsp}).
# \end{aligned}$$
#
# For masked slot $i$ of a batch, $w_i$ is 1 (0 for a padding slot), $y_i$ the original
# token, $g_i$ the MLM head's transform of the block output at that position (width
# $H$), $W_{word}$ the $V \times E$ word table and $W_{extra}$ the head's own $V \times
# (H - E)$ extra columns, $b$ a bias; CE is the softmax cross-entropy. For each of the
# $N$ examples, $\ell_n$ is the next-sentence label and $p_n$ the `[CLS]` state after
# the {term}`pooler`.
#
# The optimizer is the official LAMB {cite}`you2020lamb` (`arlm.optimizers.Lamb`): no
# bias correction, weight decay inside the update and a per-variable trust ratio, both
# skipped for norms and biases. For each variable $w$, with $m$ and $v$ Adam's running
# means of the gradient and of its square, $\epsilon$ a small constant and $\lambda$
# the weight decay:
#
# $$u = \frac{m}{\sqrt v + \epsilon} + \lambda w$$
#
# $$w \leftarrow w - \eta(t)\,\frac{\lVert w\rVert}{\lVert u\rVert}\,u$$
#
# where the learning rate $\eta(t)$ follows a linear {term}`warmup` to its peak $\eta_0$
# and a linear decay to $10^{-4}\eta_0$; gradients are clipped to global norm 1.

# %%
schedule = arlm.optimizers.WarmupLinearDecay(
    cfg.teacher_learning_rate, cfg.teacher_steps, cfg.warmup_steps
)
# a sample of the steps (the end of the warmup exact), not every step of a long run
steps, rates = schedule.curve()
plt.figure(figsize=(5, 2.5))
plt.plot(steps, rates)
plt.gca().set(xlabel="step", ylabel="learning rate", title="warmup + linear decay")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2.5 Pretraining the teacher, and its 30K-vocabulary twin
#
# `arlm.training.train_teacher` builds the preset at this scale, compiles it with LAMB
# and calls `model.fit` through `arlm.fitting.fit_resumable`, which checkpoints the
# training every `checkpoint_every` steps (see *Interrupted runs* below). Snapshots of
# the backbone at `figure1_checkpoints` step counts feed Figure 1 in chapter 5. On a TPU
# or several GPUs the same call trains data-parallel ({term}`DataParallel` on JAX,
# {term}`MirroredStrategy` on TensorFlow), and a batch too large for a device is split
# by {term}`gradient accumulation`, with {term}`remat` to save memory (appendix A). The
# paper trains "models with vocabulary sizes of 30K and 50K with hidden sizes 512 and
# 256, respectively" (section 3.3.1): its 30K teacher is the wider one. Here the twin's
# width is IBERTA's times `figure1_width_ratio`; the line under the cell gives both.

# %%
figure1 = {}
histories = {}
teachers = {
    "iberta": ("vocab.txt", "pretraining"),
    "iberta_30k": ("vocab_small.txt", "pretraining_small"),
}
for name, (vocab_file, data_folder) in teachers.items():
    print(f"--- {name}")
    pretrainer, histories[name] = train_teacher(
        name,
        cfg,
        ch.require("01_corpus", data_folder),
        ch.require("01_corpus", vocab_file),
        work_dir=ch.path("train", name),
        snapshot_dir=ch.path("figure1", name),
        verbose=2,
    )
    figure1[name] = {
        "config": pretrainer.backbone.config.to_dict(),
        "dir": ch.path("figure1", name),
    }
    if name == "iberta":
        teacher = pretrainer
write_snapshot_index(ch.path("figure1", "index.json"), figure1)
arlm.saving.save_model(teacher, ch.path("teacher.keras"))
print("saved", ch.path("teacher.keras").relative_to(ch.run_dir))
widths = {name: run["config"]["hidden_size"] for name, run in figure1.items()}
say(
    f"This run's 30K twin has $H = {widths['iberta_30k']}$ against IBERTA's "
    f"$H = {widths['iberta']}$"
    + (
        ": the same width, so the vocabulary is the only difference."
        if widths["iberta_30k"] == widths["iberta"]
        else "."
    )
)

# %% [markdown]
# ### Interrupted runs
#
# Pretraining at `full` scale takes days, over many Colab sessions. Every
# `checkpoint_every` steps each teacher's folder (`train/iberta/`, `train/iberta_30k/`)
# gets a checkpoint: every variable of the model (the weights, and the random-number
# state behind dropout) and of the optimizer (LAMB's moments, the step), written under a
# temporary name, renamed, and checked against its recorded checksum when it is read
# back; the per-step history grows by one file per checkpoint. Run the cell above again
# after a disconnect, a `kill -9` or a preempted TPU: a teacher that finished
# (`finished.json`) is loaded from `model.keras`, the interrupted one continues from its
# last good checkpoint, and the cell ends with exactly the weights of an uninterrupted
# run at `tiny` (CI kills and compares); at `cpu`, on the 2-core CPU we measured, two
# uninterrupted runs already differ in the last bits (see the appendix on
# reproducibility). To start a teacher over, delete its folder; a rerun with other
# parameters in the same folder is refused rather than mixed in.

# %%
print(
    {
        name: sorted(
            p.name
            for p in ch.path("train", name).iterdir()
            if not p.name.startswith(".")
        )
        for name in teachers
    }
)

# %% [markdown]
# A model that has learned only how often each piece occurs answers every mask with the
# most frequent piece. That accuracy (the dashed line) is where early pretraining can
# stall: only a teacher that uses the context can get past it. The `cpu` scale trains
# its teacher at a learning rate of 1e-2 instead of the paper's 1.5e-3 for that reason
# (appendix B.3); the line under this chapter's summary says how far this run's teacher
# got.
#
# The history logs Keras' running means of the loss and accuracies, which restart at
# every Keras epoch: the training runs as epochs that end at each checkpoint and each
# Figure 1 snapshot (`arlm.training.epoch_steps`). Plotted step by step, the curves
# would jump at every restart; the plot shows one point per epoch, the mean over its
# steps.

# %%
plateau = frequent_piece_accuracy(
    arlm.pretraining_data.load_dataset(
        data_dir,
        64,
        meta["max_seq_length"],
        meta["max_predictions_per_seq"],
        shuffle=False,
        repeat=False,
    )
)
print(f"most frequent masked piece: {100 * plateau:.1f}% of the masked positions")
epoch = epoch_steps(cfg)
print(f"epochs of {epoch} steps")
means = {name: epoch_means(records, epoch) for name, records in histories.items()}
figure = arlm.book.figures.pretraining_curves(means, plateau)
plt.show()

# %% [markdown]
# The `.keras` file holds the whole pretrainer (backbone, MLM and NSP heads, optimizer);
# it loads back with `safe_mode` on through `arlm.saving.load_model`, the one loader of
# every model in this book (a `.keras` file, or a keras-hub preset folder written by
# `save_to_preset`), which is how chapters 3 to 6 read their models:

# %%
restored = arlm.saving.load_model(ch.path("teacher.keras"))
sample, _ = next(
    iter(
        arlm.pretraining_data.load_dataset(
            data_dir,
            4,
            meta["max_seq_length"],
            meta["max_predictions_per_seq"],
            shuffle=False,
        )
    )
)
difference = np.abs(
    ops.convert_to_numpy(restored(sample)["mlm_logits"])
    - ops.convert_to_numpy(teacher(sample)["mlm_logits"])
).max()
print(f"largest difference after reloading: {difference:.2e}")

# %% [markdown]
# ## Summary
#
# - The teacher is a MobileBERT-style backbone: the word table has width $E$, each
#   position sees its neighbours' embeddings (a trigram, $3E$ wide) projected to $H$, so
#   the table costs $V E$ parameters instead of $V H$.
# - Every block squeezes $H$ to the bottleneck $B$, attends and runs its feed-forward
#   networks at width $B$, and expands back to $H$; IBERTA as the authors ran it has $B
#   = H = 256$, which is what reproduces Table 4's 66.7M.
# - The attention mask adds $-6$ to padded keys instead of $-\infty$, as the authors'
#   code does: padding keeps $e^{-6}$ of a real key's weight.
# - The teacher is pretrained on masked-LM and next-sentence losses with LAMB, a linear
#   warmup and a linear decay, checkpointed so that a resumed run ends with the same
#   weights.

# %%
first = summarize_history(histories["iberta"], epoch)
# the masked tokens behind the last epoch's accuracy: its batches' masked positions
tokens = round(epoch * cfg.batch_size * meta["masked_per_instance"])
say(teacher_finding(first, plateau, scale, tokens))

# %% tags=["remove-input"]
arlm.book.classroom.quiz("02_teacher")

# %% [markdown]
# ## Exercises
#
# ```{exercise} Easy: which bottleneck did the authors run?
# :label: ex-2-1
# The paper says that it trains IBERTA "with smaller inner block-neck of size 256
# instead of 1024" (section 3.3.1), and the authors' config says
# `"bottleneck_size": 1024`. Count the parameters of IBERTA with
# `intra_bottleneck_size=1024` and with 256 (`arlm.params.count_parameters`), and
# compare with Table 4 (`arlm.paper.table("table4_sizes")`). Which reading did the
# authors run?
# ```

# %% tags=["solution", "hide-input"]
table4 = {
    r["model"]: r["parameters_millions"] for r in arlm.paper.table("table4_sizes")
}
readings = {
    B: arlm.params.count_parameters(
        arlm.mobilebert.named_config("iberta", intra_bottleneck_size=B)
    )
    / 1e6
    for B in (1024, 256)
}
for B, millions in readings.items():
    print(f"B = {B:4d}: {millions:6.1f}M (Table 4: {table4['IBERTA']}M)")
answer = min(readings, key=lambda B: abs(readings[B] - table4["IBERTA"]))
other = max(readings, key=lambda B: abs(readings[B] - table4["IBERTA"]))
say(
    f"The reading $B = {answer}$ reproduces Table 4; $B = {other}$ would give "
    f"{readings[other] / readings[answer]:.1f} times as many parameters."
)

# %% [markdown]
# ```{solution} ex-2-1
# :class: dropdown
# The authors' training code never reads the key `bottleneck_size`, so $B$ stays equal
# to $H = 256$ and the block is not inverted at all inside (appendix C, spec finding
# 2); the count that matches Table 4 says the same.
# ```

# %% [markdown]
# ```{exercise} Easy: what the word table costs
# :label: ex-2-2
# For each of the paper's models, how many parameters are in the word-embedding table
# ($V \times E$), how many in the trigram projection ($3E \times H$), and what share of
# the backbone is the word table? Use the presets' fields and
# `count_parameters(c, "backbone")`.
# ```

# %% tags=["solution", "hide-input"]
rows = []
for preset, model in arlm.params.PAPER_NAMES.items():
    c = arlm.mobilebert.named_config(preset)
    e = c.embedding_size or c.hidden_size
    total = arlm.params.count_parameters(c, "backbone")
    projection = 3 * e * c.hidden_size if c.trigram_input else 0
    rows.append(
        {
            "model": model,
            "V": c.vocab_size,
            "E": e,
            "H": c.hidden_size,
            "word table (M)": c.vocab_size * e / 1e6,
            "projection (M)": projection / 1e6,
            "table share": c.vocab_size * e / total,
        }
    )
answer = pd.DataFrame(rows).set_index("model")
display(answer.round(2))
say(
    "The word table is "
    + ", ".join(
        f"{share:.0%} of {model}" for model, share in answer["table share"].items()
    )
    + "."
)

# %% [markdown]
# ```{solution} ex-2-2
# :class: dropdown
# AraBERT keeps a full-width table ($E = H = 768$). The MobileBERT models store $E =
# 128$ and pay a small projection for the trigram; they share the same table ($V E$),
# so the thinner the blocks, the larger the table's share of the model (the line
# above gives each).
# ```

# %% [markdown]
# ```{exercise} Medium: how much the $-6$ mask leaks
# :label: ex-2-3
# The $-6$ mask does not remove padded keys completely. For a query whose real keys all
# have logit 0, what share of attention goes to padding when a sequence has 100 real
# tokens and 412 padded ones (a short sentence at `max_seq_length` 512)? Check it with
# `arlm.layers.masked_logits` against the formula.
# ```

# %% tags=["solution", "hide-input"]
q = np.zeros((1, 512, 1, 4), "float32")  # zero queries: every real logit is 0
mask = (np.arange(512) < 100).astype("int32")[None]
s = ops.convert_to_numpy(arlm.layers.masked_logits(q, q, mask))[0, 0, 0]
p = np.exp(s) / np.exp(s).sum()
formula = 412 * np.exp(-6) / (100 + 412 * np.exp(-6))
answer = float(p[100:].sum())  # the share of attention on padding
say(
    f"Padding gets {answer:.2%} of the attention; the formula "
    f"$412e^{{-6}} / (100 + 412e^{{-6}})$ gives {formula:.2%}."
)

# %% [markdown]
# ```{solution} ex-2-3
# :class: dropdown
# Each padded key gets $e^{-6} \approx 0.0025$ of a real key's weight, and here there
# are $412 / 100$ as many of them: small, but not zero, and a port must keep it to
# match the authors' numbers.
# ```

# %% [markdown]
# ```{exercise} Medium: the learning rate over a run
# :label: ex-2-4
# With `arlm.optimizers.WarmupLinearDecay` and the `full` scale's settings
# (`arlm.scales.resolve("full")`: the paper's steps, warmup and peak rate), at which
# step is the rate highest, what is it half-way through the warmup and at the last step?
# And for this run's schedule (`schedule` of 2.4)?
# ```

# %% tags=["solution", "hide-input"]
full = arlm.scales.resolve("full")
paper_rate = arlm.optimizers.WarmupLinearDecay(
    full.teacher_learning_rate, full.teacher_steps, full.warmup_steps
)
answer = {}  # scale -> {step: rate}
for name, sched in (("full", paper_rate), (scale, schedule)):
    answer[name] = {
        t: float(sched(t))
        for t in (sched.warmup_steps // 2, sched.warmup_steps, sched.total_steps)
    }
    rates = ", ".join(f"step {t:,}: {v:.2e}" for t, v in answer[name].items())
    print(f"{name}: {sched.total_steps:,} steps; {rates}")
peak = max(answer[scale], key=answer[scale].get)
say(
    f"In this run's schedule the rate peaks at step {peak:,}, the end of the warmup, "
    f"and ends at {answer[scale][schedule.total_steps] / schedule(peak):.0e} of its "
    "peak."
)

# %% [markdown]
# ```{solution} ex-2-4
# :class: dropdown
# The rate climbs linearly to its peak at the end of the warmup (half of it half-way)
# and then decays linearly to $10^{-4}\eta_0$ at the last step, as the official LAMB
# recipe does. The rows print both the `full` scale's and this run's schedule: a scale
# changes the number of steps, not the shape.
# ```

# %% [markdown]
# ```{exercise} Hard: change the teacher's recipe
# :label: ex-2-5
# Change the method: pretrain the IBERTA teacher again for at most 300 of this run's
# steps, once with the chapter's recipe, once with AdamW instead of LAMB and once with
# MobileBERT's NoNorm instead of LayerNorm
# (`train_teacher(..., optimizer=..., model_overrides=...)`). Compare their final losses
# and masked-LM accuracies. What would it take for this comparison to mean something?
# ```

# %% tags=["solution", "hide-input"]
# at most 300 steps per variant, all three under the same shortened schedule
short = min(cfg.teacher_steps, 300)
warmup = min(cfg.warmup_steps, short // 10)
short_cfg = arlm.scales.resolve(
    scale, **{**overrides, "teacher_steps": short, "warmup_steps": warmup}
)
variants = {
    "LAMB + LayerNorm": {},
    "AdamW": {"optimizer": "adamw"},
    "NoNorm": {"model_overrides": {"normalization_type": "no_norm"}},
}
compared = {}
for label, change in variants.items():
    _, records = train_teacher(
        "iberta",
        short_cfg,
        data_dir,
        vocab_path,
        verbose=0,
        work_dir=ch.path("exercise_recipe", label),
        **change,
    )
    compared[label] = summarize_history(records, epoch_steps(short_cfg, False))
answer = pd.DataFrame(compared).T[["steps", "loss_last", "mlm_accuracy_last"]]
display(answer.round(3))
lowest = answer["loss_last"].idxmin()
say(
    f"After {short} steps the lowest loss (mean of the last epoch) is {lowest}'s, "
    f"{answer['loss_last'].max() - answer['loss_last'].min():.3f} below the highest; "
    "one run each gives no seed spread to set that gap against."
)

# %% [markdown]
# ```{solution} ex-2-5
# :class: dropdown
# Each variant is one argument away from the recipe. But one run of each, after at most
# 300 steps, cannot tell a better recipe from a faster start: an early loss mostly
# measures how fast an optimizer leaves the initialization. LAMB's per-layer trust
# ratio is meant for large batches and long runs, and NoNorm trades stability for speed
# on devices, effects that would show over thousands of steps. A fair comparison
# repeats each run over several seeds at `cpu` scale or above and sets the gap between
# recipes against the spread between seeds.
# ```

# %% [markdown]
# ## Results

# %%
ch.write_results(
    {
        "parameters": arlm.params.parameter_table(),
        "teachers": {
            name: {
                "config": figure1[name]["config"],
                **summarize_history(records, epoch),
            }
            for name, records in histories.items()
        },
        "figure1_index": "figure1/index.json",
        "frequent_piece_accuracy": plateau,
    }
)
