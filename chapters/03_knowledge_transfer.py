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
# # 3. Progressive knowledge transfer: teaching MBERTA one layer at a time
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/arlm-book/arlm/blob/main/book/edition/cpu/03_knowledge_transfer.ipynb)
#
# The paper does not pretrain its small models from scratch. It follows
# {term}`MobileBERT` {cite}`sun2020mobilebert`: a large teacher ({term}`IBERTA`, chapter
# 2) and a thin student ({term}`MBERTA`) share the same width between blocks, so every
# block of the student can be told what the matching teacher block outputs and where it
# attends. This "attention transfer + feature-map transfer" stage
# ({term}`progressive knowledge transfer`) trains the student's blocks one after
# another, bottom to top.
#
# **Learning objectives**
# - Say what distillation is, and why MobileBERT's bottleneck makes a teacher and a
#   student of different sizes comparable block by block.
# - Initialise a student from its teacher: which variables are copied, and why the
#   student's NoNorm is not.
# - Write the four layer-wise losses (feature maps, attention, mean, variance) and their
#   weights (Table 2).
# - Read the progressive schedule: loss gates, the background rate $bg(t)$ and per-block
#   learning-rate multipliers, and how the official code softens "freeze the lower
#   layers".
# - Know where the paper and the code disagree ($\beta = 500$ or $5000$, a bug in the
#   mean/variance terms, $240$K or $500$K steps) and which choice this book makes.
# - Train, resume and inspect the transfer: per-layer losses and attention maps of
#   teacher and student.

# %% tags=["parameters"]
scale = "tiny"  # tiny | cpu | gpu | full
run_dir = None  # default: runs/<scale>
overrides = {}  # any key of arlm.scales, e.g. {"kt_steps_per_layer": 50}

# %%
import arlm

cfg = arlm.scales.resolve(scale, **overrides)
ch = arlm.artifacts.Chapter("03_knowledge_transfer", scale, run_dir, config=cfg)
runtime = arlm.runtime.setup(cfg)  # prints what it chose

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from arlm.book import reporting
from arlm.book.prose import say
from arlm.distillation import losses, schedules, stages, transfer
from arlm.tokenizer import WordPieceTokenizer

# the paper's MBERTA; "mberta_ii" (one FFN per block) distills the same way
STUDENT = "mberta"

# %% [markdown]
# ## Before you start: distillation, and why the widths must match
#
# **Distillation.** A small model, the *student*, learns from a large trained one, the
# *teacher*, instead of (or besides) learning from the data's labels alone. The teacher
# gives more than a label per example: its output distribution says which answers are
# nearly right, and its inner layers say how it represents the input. The classic form
# ({term}`knowledge distillation`, chapter 4) matches the outputs; MobileBERT also
# matches every block, which needs the two models' blocks to be comparable.
#
# **The bottleneck.** A BERT block keeps one width from input to output: the residual
# stream $X$ of $T \times H$ numbers that every block reads and adds to. MobileBERT puts
# a linear map at each end of a block ({term}`bottleneck`, chapter 2): $H \to B$ on the
# way in, $B \to H$ on the way out. Inside, attention and the FFNs work at the
# {term}`intra-block width` $B$; between blocks the stream keeps the
# {term}`inter-block width` $H$. The student is thin where the computing is done (small
# $B$ and $F$), and as wide as the teacher between blocks. (MobileBERT's English
# teacher, {term}`IB-BERT`, is wider inside than between blocks, $B > H$: an *inverted*
# bottleneck.)
#
# **Why $H$ must match.** The layer-wise losses of this chapter compare the teacher's
# block output $Y^T_{l+1}$ with the student's $Y^S_{l+1}$ element by element, and their
# attention maps over the same tokens and heads. That needs outputs of the same shape
# $T \times H$ and the same number of heads $N$; only the inside of a block may differ.
# The student also takes over the teacher's embeddings and output heads as they are,
# which again needs the same $H$ (and vocabulary). A student with a narrower $H$ would
# need a learned projection between the two streams, which MobileBERT avoids.

# %% [markdown]
# ## 3.1 Teacher and student
#
# The teacher is chapter 2's IBERTA pretrainer. The student is MBERTA at this scale: the
# same vocabulary, embedding size $E$, inter-block width $H$ and number of heads $N$ as
# the teacher ([spec 1.2](#spec-1-2)), but a narrow inside (intra-block width $B = H/2$,
# four small FFNs, {term}`NoNorm`, ReLU).

# %%
teacher = arlm.saving.load_model(
    ch.require("02_teacher", "teacher.keras"), compile=False
)
vocab_size = teacher.backbone.config.vocab_size
student = stages.build_student(STUDENT, cfg, vocab_size=vocab_size)
make_dataset = stages.pretraining_dataset_factory(
    ch.require("01_corpus", "pretraining"), cfg
)
x, y = next(iter(make_dataset()))
teacher(x), student(x)
sizes = pd.DataFrame(
    {
        "teacher (IBERTA)": {
            "parameters": teacher.backbone.count_params(),
            **teacher.backbone.config.to_dict(),
        },
        f"student ({STUDENT})": {
            "parameters": student.backbone.count_params(),
            **student.backbone.config.to_dict(),
        },
    }
)
sizes.loc[
    [
        "parameters",
        "hidden_size",
        "intra_bottleneck_size",
        "intermediate_size",
        "num_feedforward_networks",
        "num_heads",
        "num_layers",
        "normalization_type",
        "hidden_act",
    ]
]

# %% [markdown]
# **Initialisation.** The official code (`init_from_teacher`) copies every student
# variable outside the encoder whose name and shape match a teacher variable: the word,
# position and segment embeddings, the embedding transformation (the trigram
# convolution), the MLM head and the NSP head. The student's embedding NoNorm ($h \circ
# \gamma + \beta$) has no counterpart in the teacher's LayerNorm, so it keeps $\gamma =
# 1, \beta = 0$. All of these stay **frozen** for the whole stage; only the encoder
# blocks learn. `ProgressiveKnowledgeTransfer` does the copy when it is built:

# %%
kt_model = transfer.ProgressiveKnowledgeTransfer(
    teacher, student, cfg.kt_steps_per_layer
)
print("copied from the teacher:", *kt_model.copied, sep="\n  ")
print(
    "trainable student variables:",
    len(student.trainable_weights),
    "of",
    len(student.weights),
)

# %% [markdown]
# One Arabic sentence shows the attention maps of teacher and student in 3.5; its
# attention cross-entropy (3.2), measured now and again after training, says whether
# the stage moved the student.

# %%
tokenizer = WordPieceTokenizer(ch.require("01_corpus", "vocab.txt"))
sentence = "قال رسول الله صلى الله عليه وسلم إنما الأعمال بالنيات"
ids = [
    tokenizer.cls_id,
    *tokenizer.encode(sentence)[: cfg.max_seq_length - 2],
    tokenizer.sep_id,
]
one = {
    "token_ids": np.array([ids], "int32"),
    "segment_ids": np.zeros((1, len(ids)), "int32"),
    "padding_mask": np.ones((1, len(ids)), "int32"),
}
attention_before, _ = transfer.attention_cross_entropies(
    teacher.backbone, student.backbone, one
)

# %% [markdown]
# ## 3.2 Four losses per block
#
# For block $l$ with outputs $Y_{l+1}$ ($[b, T, H]$ for a batch of $b$ sequences of $T$
# tokens) and masked {term}`attention logits` $s_l$ ($[b, N, T, T]$, padded keys at
# $-6$), superscripts $T$ for the teacher and $S$ for the student, with teacher
# quantities under stop-gradient ({term}`FMT`, {term}`AT`, {term}`MEAN` and VAR):
#
# $$\mathrm{FMT}_l = \operatorname{mean}_{b,t,c}\big(\mathrm{LN}_0(Y^T_{l+1})
#   - \mathrm{LN}_0(Y^S_{l+1})\big)^2$$
#
# $$\mathrm{AT}_l = \operatorname{mean}_{b,h,i}
#   -\sum_j \operatorname{softmax}(s^T_l)_{ij} \log \operatorname{softmax}(s^S_l)_{ij}$$
#
# $$\mathrm{MEAN}_l = \operatorname{mean}_{b,t}\big(\mu^T_{l+1} - \mu^S_{l+1}\big)^2$$
#
# $$\mathrm{VAR}_l = \operatorname{mean}_{b,t}
#   \big|\sigma^{2,T}_{l+1} - \sigma^{2,S}_{l+1}\big|$$
#
# $\mathrm{LN}_0$ is a layer normalisation without parameters ($\epsilon = 10^{-12}$),
# $\mu$ and $\sigma^2$ the mean and population variance over the hidden axis. FMT is
# blind to the scale of the features; MEAN and VAR put the scale back, because the
# student's NoNorm does not normalise anything. AT is the KL divergence from the
# teacher's attention to the student's, plus the teacher's entropy (a constant). Each
# term is one function in `arlm.distillation.losses`.
#
# The stage-2 loss at step $t$ adds them with weights, for the block whose gate is open:
#
# $$\begin{aligned}
# L_{KT}(t) = \frac{1}{L}\sum_l g_l(t)\,\big(
#   & \lambda_h \mathrm{FMT}_l + \lambda_a \mathrm{AT}_l \\
#   & + \lambda_\beta \mathrm{MEAN}_l + \lambda_\gamma \mathrm{VAR}_l\big)
# \end{aligned}$$
#
# $L$ is the number of blocks and the gate $g_l(t)$ is 1 while block $l$ is in training,
# 0 otherwise (3.3). $\lambda_h$, $\lambda_\beta$ and $\lambda_\gamma$ are Table 2's
# hidden, beta and gamma distillation factors; $\lambda_a$, the attention factor, is not
# in Table 2 (the scripts pass 1). There is no MLM, NSP or distillation term in this
# stage.
#
# **One scale for every number of this chapter**: a term appears weighted, $\lambda_x
# X_l$, for the block in training, which is what that block adds to the sum above (the
# loss is their mean over the $L$ blocks, all but one gated off).

# %%
code, paper = losses.DistillationFactors(), losses.DistillationFactors.paper()
weights = code.term_weights()
table2 = {
    reporting.TABLE2_KEYS[row["parameter"]]: row["value"]
    for row in arlm.paper.table("table2_distillation_hparams")
}
reporting.display(
    [
        {
            "factor": name,
            "this book (launch scripts)": value,
            "paper, Table 2": table2.get(name),
        }
        for name, value in code.as_dict().items()
        if name in ("hidden", "attention", "beta", "gamma", "alpha", "temperature")
    ]
).set_index("factor")

# %% [markdown]
# Before training, the weighted terms of block 0 on a training batch:

# %%
out_t = teacher.backbone(transfer.backbone_inputs(x))
out_s = student.backbone(transfer.backbone_inputs(x))
terms = losses.layer_transfer_terms(out_t, out_s, layer=0)
before = {name: weights[name] * float(terms[name]) for name in weights}
pd.Series(before, name="block 0 before training, weighted")

# %% [markdown]
# ### Paper vs. code
#
# * **$\beta$ = 500 or 5000.** Table 2 prints $\beta = 500$; every launch script, the
#   authors' and Google's, passes `--beta_distill_factor=5000`. We use 5000 (what ran);
#   `DistillationFactors.paper()` gives 500.
# * **The mean/variance bug.** The official code computes the teacher's mean and
#   variance over the stacked list of *all* $L+1$ teacher hidden states, so each student
#   block is pulled towards the average statistics of every teacher layer, not of its
#   own. We implement the intended per-layer terms;
#   `DistillationFactors(replicate_official_stat_bug=True)` reproduces the authors' run.
#   The two differ:

# %%
buggy = losses.layer_transfer_terms(
    out_t, out_s, layer=0, replicate_official_stat_bug=True
)
pd.DataFrame(
    {
        "per layer (ours)": {k: weights[k] * float(terms[k]) for k in ("mean", "var")},
        "official code (bug)": {
            k: weights[k] * float(buggy[k]) for k in ("mean", "var")
        },
    }
)

# %% [markdown]
# * **Length.** The paper says it trains "500K steps for attention transfer" (section
#   3.3.2); the authors' script runs `num_distill_steps=240000`, i.e. 10K per layer for
#   24 layers. This book keeps the *equal steps per layer* of the code and scales their
#   number with the compute: `kt_steps_per_layer` (10K at `full` scale, as in the
#   script).

# %%
L, S = len(transfer.encoder_blocks(student.backbone)), cfg.kt_steps_per_layer
print(
    f"{cfg.name} scale: {S} steps per layer x {L} layers = {kt_model.total_steps} steps"
)

# %% [markdown]
# ## 3.3 The progressive schedule
#
# With $S$ steps per layer, block $l$'s losses count while $S l < t \le S(l+1)$: that is
# the gate $g_l(t)$. The optimizer (the official LAMB, `arlm.optimizers.Lamb`) runs at a
# constant rate $\eta_0$ and multiplies the rate of each variable:
#
# $$\mathrm{mult}_l(t) = 3\,bg(t)\,c_l(t)$$
#
# $$bg(t) = \min\big(0.9 + 0.1\sqrt{1-\tau},\ 10\tau\big)$$
#
# $$\tau = \frac{t \bmod S}{S}$$
#
# with $c_l = 0$ before block $l$'s phase, $1$ during it and $0.1$ after it. A block
# with multiplier 0 also keeps its Adam moments at zero (the gate $[\mathrm{mult} >
# 0]$), so each block's moments start fresh when its phase begins. MobileBERT's paper
# says the lower layers are frozen; the code keeps training them at a tenth of the rate.
# Every non-encoder variable has multiplier 0.

# %%
# sampled (phase boundaries exact) when L * S is large, as at the `full` scale
steps, background, multipliers = schedules.multiplier_curves(L, S)
fig, axes = plt.subplots(1, 2, figsize=(7, 2.6))
axes[0].plot(steps, background)
axes[0].set(title="background rate bg(t)", xlabel="step t")
for layer in range(L):
    axes[1].plot(steps, multipliers[layer], label=f"block {layer}")
axes[1].set(title="learning-rate multiplier 3 bg(t) c_l(t)", xlabel="step t")
# beside the axes: with more blocks a legend inside covers their lines
axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
plt.tight_layout()
plt.show()

# %% [markdown]
# The same schedule as a chart of blocks over steps: which block learns at which rate.

# %%
figure = arlm.book.diagrams.transfer_schedule(L, S)
plt.show()

# %% [markdown]
# ## 3.4 Training
#
# `stages.run_knowledge_transfer` compiles the transfer model with LAMB and the
# multipliers, and trains it with `model.fit`, one Keras epoch per layer phase,
# checkpointed at each phase end (`arlm.fitting`, as in chapter 2): interrupt the cell
# and run it again, and training continues exactly where it stopped (the dataset skips
# the batches already used). It writes the student pretrainer (`student_kt.keras`) and
# its history: at every step, the weighted terms of the block in training (Keras'
# `loss`, a running mean over each phase, is left out).

# %%
student, records = stages.run_knowledge_transfer(
    teacher, student, make_dataset, cfg, ch.dir, verbose=2
)
history = pd.DataFrame(transfer.weighted_terms(records, L))
history.tail()

# %% [markdown]
# The weighted terms of the block in training at every step; the vertical lines mark
# phase boundaries. Each phase starts from a block that has not been trained yet; the
# line says how the terms moved within their phases in this run:

# %%
say(transfer.phase_finding(history.to_dict("records")))
figure = arlm.book.figures.transfer_terms(history, S)
plt.show()

# %% [markdown]
# ## 3.5 Attention: teacher and student on one Arabic sentence
#
# Attention transfer trains the student's attention maps towards the teacher's, block
# for block. The maps of the last block, on the sentence of 3.1, then whether the stage
# moved the student there:

# %%
pieces = [tokenizer.vocab[i] for i in ids]
layer = L - 1
maps = {
    "teacher": transfer.attention_probabilities(teacher.backbone, one, layer),
    "student": transfer.attention_probabilities(student.backbone, one, layer),
}
say(transfer.attention_finding(maps["teacher"]))
figure = arlm.book.figures.attention_maps(maps, pieces, layer)
plt.show()
attention_after, attention_floor = transfer.attention_cross_entropies(
    teacher.backbone, student.backbone, one
)
at_share = history["at"].sum() / history[["fmt", "at", "mean", "var"]].sum(axis=1).sum()
say(
    transfer.attention_transfer_finding(
        attention_before,
        attention_after,
        attention_floor,
        float(np.log(len(ids))),
        at_share,
        S,
        weights,
    )
)

# %% [markdown]
# ## Summary
#
# - Progressive knowledge transfer trains the student one block per phase: in phase $l$
#   block $l$ learns at the rate $3\,bg(t)\,\eta_0$, the blocks below it at a tenth of
#   that ($c_l = 0.1$), the blocks above it not at all; the embeddings and heads are
#   copied from the teacher and frozen.
# - Each block is pulled towards the teacher's by four terms: FMT (a mean squared error
#   of standardized block outputs), AT (the cross-entropy between attention maps, which
#   is KL plus the teacher's entropy), MEAN and VAR of the hidden states.
# - The weights differ between the paper and the code it ran: Table 2 prints $\beta =
#   500$, every launch script passes 5000.
# - The official code compares each student layer's mean and variance with those of all
#   teacher layers stacked, a bug this book reproduces only with a flag.

# %%
say(
    f"In this run (`{scale}`): {L} blocks x {S} steps = {kt_model.total_steps} steps "
    f"of transfer; on the sentence of 3.1 the last block's attention cross-entropy "
    f"went from {attention_before[-1]:.3f} to {attention_after[-1]:.3f} (the "
    f"teacher's entropy: {attention_floor[-1]:.3f}; uniform attention over "
    f"{len(ids)} pieces: {np.log(len(ids)):.3f})."
)

# %% tags=["remove-input"]
arlm.book.classroom.quiz("03_knowledge_transfer")

# %% [markdown]
# ## Exercises
#
# ```{exercise} Easy: cross-entropy, KL and entropy
# :label: ex-3-1
# Show that for a single query row the attention-transfer term equals $\mathrm{KL}(P_T
# \| P_S) + H(P_T)$, by computing both sides for random logits, and that
# `losses.attention_transfer_loss(..., "kl")` is the first of the two.
# ```

# %% tags=["solution", "hide-input"]
rng = np.random.default_rng(0)
t_logits, s_logits = rng.normal(size=(1, 1, 1, 5)), rng.normal(size=(1, 1, 1, 5))
p_t = keras.ops.convert_to_numpy(keras.ops.softmax(t_logits))[0, 0, 0]
p_s = keras.ops.convert_to_numpy(keras.ops.softmax(s_logits))[0, 0, 0]
kl, entropy = np.sum(p_t * np.log(p_t / p_s)), -np.sum(p_t * np.log(p_t))
at = float(losses.attention_transfer_loss(t_logits, s_logits))
at_kl = float(losses.attention_transfer_loss(t_logits, s_logits, "kl"))
answer = {"at": at, "kl": float(kl), "entropy": float(entropy), "at_kl": at_kl}
say(
    f"AT = {at:.6f}; KL + H = {kl:.6f} + {entropy:.6f} = {kl + entropy:.6f} "
    f"({'equal' if np.isclose(at, kl + entropy) else 'not equal'}); "
    f"AT with `kind='kl'` = {at_kl:.6f} "
    f"({'the KL' if np.isclose(at_kl, kl) else 'not the KL'})."
)

# %% [markdown]
# ```{solution} ex-3-1
# :class: dropdown
# $-\sum_j p^T_j \log p^S_j = \sum_j p^T_j \log (p^T_j / p^S_j) - \sum_j p^T_j \log
# p^T_j$. The entropy does not depend on the student, so cross-entropy and KL have the
# same gradients and train the same student; only the logged value differs: KL is 0 when
# the maps agree, cross-entropy bottoms out at the teacher's entropy.
# ```

# %% [markdown]
# ```{exercise} Easy: the rates inside a phase
# :label: ex-3-2
# In phase 1 (the second block), how fast do block 0 and block 1 learn at the phase's
# middle step, relative to $\eta_0$? And at the last step of the phase?
# ```

# %% tags=["solution", "hide-input"]
middle, last = S + max(1, S // 2), 2 * S
answer = {
    t: {b: float(schedules.layer_multiplier(t, b, S)) for b in range(min(L, 2))}
    for t in (middle, last)
}
display(
    pd.DataFrame(
        {
            f"step {t}": {f"block {b}": r for b, r in rates.items()}
            for t, rates in answer.items()
        }
    ).round(4)
)
say(
    f"At step {middle}, block 0 learns at {answer[middle][0]:.4f} $\\eta_0$ and "
    f"block 1 at {answer[middle][1]:.4f} $\\eta_0$; at step {last}, at "
    f"{answer[last][0]:.4f} and {answer[last][1]:.4f} $\\eta_0$."
)

# %% [markdown]
# ```{solution} ex-3-2
# :class: dropdown
# Block 1 learns at $3\,bg(t)$ times $\eta_0$. Block 0 has finished its phase but keeps
# learning, at a tenth of block 1's rate ($c_0 = 0.1$): the official schedule does not
# freeze a transferred block. At the phase's last step $t = 2S$, $\tau = 0$, hence $bg =
# 0$ and no block learns: the official schedule spends one step per phase without
# updating anything.
# ```

# %% [markdown]
# ```{exercise} Medium: does $\beta$ matter?
# :label: ex-3-3
# How large is each weighted term for the last block at the end of training, and for
# block 0 before training (3.2), with the code's $\beta = 5000$ and with the paper's
# 500? Does the paper's value change which term leads?
# ```

# %% tags=["solution", "hide-input"]
final = losses.layer_transfer_terms(
    teacher.backbone(transfer.backbone_inputs(x)),
    student.backbone(transfer.backbone_inputs(x)),
    layer=L - 1,
)
answer = {
    f"{when}, beta = {factors.beta:g}": {
        name: weight * float(values[name])
        for name, weight in factors.term_weights().items()
    }
    for when, values in (("block 0 before training", terms), ("last block, end", final))
    for factors in (code, paper)
}
display(pd.DataFrame(answer).round(4))
say(losses.leading_term_finding(answer))

# %% [markdown]
# ```{solution} ex-3-3
# :class: dropdown
# Only the MEAN term changes, by the ratio of the two values of $\beta$; the line above
# says whether that changes the leading term, before training and after it.
# ```

# %% [markdown]
# ```{exercise} Medium: distill MBERTA II
# :label: ex-3-4
# Distill {term}`MBERTA II` (one FFN per block) instead, for two steps per layer, and
# compare its parameter count and final FMT term with MBERTA's.
# ```

# %% tags=["solution", "hide-input"]
small_cfg = arlm.scales.resolve(scale, **{**overrides, "kt_steps_per_layer": 2})
mberta_ii = stages.build_student("mberta_ii", small_cfg, vocab_size=vocab_size)
_, ii_records = stages.run_knowledge_transfer(
    teacher,
    mberta_ii,
    make_dataset,
    small_cfg,
    ch.path("exercise_mberta_ii"),
    verbose=0,
)
ii_history = transfer.weighted_terms(ii_records, L)
answer = pd.DataFrame(
    {
        "MBERTA II": {
            "parameters": mberta_ii.backbone.count_params(),
            "last FMT term": ii_history[-1]["fmt"],
            "steps": len(ii_history),
        },
        STUDENT.upper(): {
            "parameters": student.backbone.count_params(),
            "last FMT term": float(history.fmt.iloc[-1]),
            "steps": len(history),
        },
    }
).T.astype({"parameters": int, "steps": int})
display(answer.round(4))
ii, ours = answer.loc["MBERTA II"], answer.iloc[1]
say(
    f"MBERTA II has {ii['parameters'] / ours['parameters']:.0%} of "
    f"{STUDENT.upper()}'s parameters; its FMT term comes after {ii['steps']:.0f} "
    f"steps, {STUDENT.upper()}'s after {ours['steps']:.0f}."
)

# %% [markdown]
# ```{solution} ex-3-4
# :class: dropdown
# MBERTA II drops three of the four stacked FFNs of each block, so it is smaller by
# about $3 \cdot 2BF$ parameters per block. It distills with the same code: the transfer
# only looks at a block's output and attention. Its FMT term after two steps per layer
# is not comparable with MBERTA's after this run's full phases; compare them at the
# same steps per layer.
# ```

# %% [markdown]
# ```{exercise} Hard: attention transfer with another loss
# :label: ex-3-5
# Change the method: replace AT's cross-entropy by a mean squared error between the
# attention maps (`DistillationFactors(attention_loss="mse")`, as TinyBERT matches
# attention) and run the transfer for up to 20 steps per layer, from the same initial
# student as a run with the paper's loss. On a training batch, compare the last block's
# attention cross-entropy of both students with the initial student's. Why does the KL
# form need no such experiment?
# ```

# %% tags=["solution", "hide-input"]
x_in = transfer.backbone_inputs(x)
t_out = teacher.backbone(x_in)
variant_cfg = arlm.scales.resolve(
    scale, **{**overrides, "kt_steps_per_layer": min(S, 20)}
)


def initial_student():
    keras.utils.set_random_seed(cfg.seed)  # the same initial student every time
    fresh = stages.build_student(STUDENT, variant_cfg, vocab_size=vocab_size)
    transfer.init_student_from_teacher(fresh, teacher)  # as the transfer starts
    return fresh


def last_block_at(model):
    return float(losses.layer_transfer_terms(t_out, model.backbone(x_in), L - 1)["at"])


initial = last_block_at(initial_student())
floor = last_block_at(teacher)  # the teacher against itself: its entropy
# uniform attention over the real keys of each query, as the -6 mask leaves it
zeros = np.zeros((*x_in["token_ids"].shape, 1, 1), "float32")  # every score 0
uniform = float(
    losses.attention_transfer_loss(
        t_out["attention_logits"][L - 1],
        arlm.layers.masked_logits(zeros, zeros, x_in["padding_mask"]),
    )
)
variants = {}
for kind in ("cross_entropy", "mse"):
    trained, _ = stages.run_knowledge_transfer(
        teacher,
        initial_student(),
        make_dataset,
        variant_cfg,
        ch.path("exercise_attention_loss", kind),
        factors=losses.DistillationFactors(attention_loss=kind),
        verbose=0,
    )
    variants[f"AT = {kind}"] = last_block_at(trained)
answer = {"initial": initial, **variants}
say(transfer.attention_loss_finding(initial, variants, floor, uniform))

# %% [markdown]
# ```{solution} ex-3-5
# :class: dropdown
# One factor changes the method. A squared error of probabilities is bounded and flat
# where a probability nears 0 or 1, so it pushes less where the maps disagree most; the
# line above says whether either loss moved the student in these steps, and which
# moved it further. The KL form needs no run: it differs from the cross-entropy by the
# teacher's entropy, a constant, so its gradients and the trained student are the same
# ({ref}`ex-3-1`).
# ```

# %% [markdown]
# ## Results

# %%
last_phase = history[history.layer == history.layer.max()]
ch.write_results(
    {
        "student": STUDENT,
        "student_parameters": int(student.backbone.count_params()),
        "teacher_parameters": int(teacher.backbone.count_params()),
        "steps_per_layer": cfg.kt_steps_per_layer,
        "total_steps": int(kt_model.total_steps),
        "factors": code.as_dict(),
        "final_terms": {
            name: float(last_phase[name].iloc[-1])
            for name in ("fmt", "at", "mean", "var")
        },
        "attention_cross_entropy_last_block": attention_after[-1],
        "attention_transfer": {
            "before": attention_before,
            "after": attention_after,
            "teacher_entropy": attention_floor,
            "uniform": float(np.log(len(ids))),
            "at_share": float(at_share),
        },
        "copied_from_teacher": kt_model.copied,
    }
)
