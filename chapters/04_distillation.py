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
# # 4. Pretraining distillation, and does it help?
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/arlm-book/arlm/blob/main/book/edition/cpu/04_distillation.ipynb)
#
# After chapter 3 every block of the student imitates its teacher block, but the student
# has not yet been trained on the task the teacher was: predicting masked words. The
# last MobileBERT stage ({term}`pretraining distillation`) does that, with the teacher's
# predictions as soft labels {cite}`hinton2015distilling`. Then we test the claim behind
# the whole method: at the same compute, is a distilled student better than the same
# student pretrained from scratch?
#
# **Learning objectives**
# - Say what soft labels and a temperature do in {term}`knowledge distillation`.
# - Write the pretraining-distillation loss $\alpha L_{MLM} + (1-\alpha) L_{KD} +
#   L_{NSP}$ and see why it is one cross-entropy against a mixed target.
# - Place the temperature where the official code puts it: on the teacher's hidden
#   state, not its logits.
# - Train with LAMB, warmup and linear decay, resumably, and follow each loss term and
#   the MLM accuracy.
# - Compare a distilled and a from-scratch student at equal compute on held-out
#   masked-LM accuracy and on two sentiment tasks (AJGT, ASTD-B), and read the result
#   honestly at small scale.

# %% tags=["parameters"]
scale = "tiny"  # tiny | cpu | gpu | full
run_dir = None  # default: runs/<scale>
overrides = {}  # any key of arlm.scales, e.g. {"distill_steps": 200}

# %%
import arlm
from arlm.book import claims
from arlm.book.prose import say

cfg = arlm.scales.resolve(scale, **overrides)
ch = arlm.artifacts.Chapter("04_distillation", scale, run_dir, config=cfg)
runtime = arlm.runtime.setup(cfg)  # prints what it chose

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from arlm.distillation import losses, stages
from arlm.tasks import evidence
from arlm.tokenizer import WordPieceTokenizer

# %% [markdown]
# ## Before you start: soft targets and temperature
#
# A classifier trained on labels learns that the answer is class $k$ and nothing about
# the others. A trained teacher's output distribution $p^T$ can say more, such as which
# wrong answers are nearly right (a near-synonym of the masked word can get a high
# probability, an unrelated word almost none). **Knowledge distillation**
# {cite}`hinton2015distilling` trains the student on these *soft targets*: its loss is
# the cross-entropy $-\sum_k p^T_k \log p^S_k$ to the teacher's distribution, alone or
# mixed with the usual loss on the true label.
#
# A confident teacher can put almost all of its probability on one answer, and its
# soft targets then carry little more than the label. A *temperature* $\tau > 1$ softens
# them: Hinton et al. divide the logits $z$ by $\tau$ before the softmax,
# $p_k = e^{z_k/\tau} / \sum_j e^{z_j/\tau}$, which raises the small probabilities
# (with $\tau = 1$ the distribution is unchanged). The MobileBERT code places its
# temperature elsewhere, as 4.1 shows.
#
# ## 4.1 The loss
#
# For every masked slot $i$ (weight $w_i = 1$ for a real slot, 0 for padding) the
# student's distribution $p^S_i$ over the vocabulary is trained towards a mixture of the
# true word $x_i$ and the teacher's distribution $p^T_i$:
#
# $$y_i = \alpha\,\mathrm{onehot}(x_i) + (1-\alpha)\,p^T_i$$
#
# $$p^T_i = \operatorname{softmax}\big(\mathrm{MLM}_T(\tau\, Y^T_L)\big)_i$$
#
# $$\begin{aligned}
# L_{PD} &= \frac{\sum_i w_i\,\mathrm{CE}(y_i, p^S_i)}{\sum_i w_i + 10^{-5}}
#   + L_{NSP} \\
#        &= \alpha L_{MLM} + (1-\alpha) L_{KD} + L_{NSP}
# \end{aligned}$$
#
# Here $Y^T_L$ is the teacher's last block output, $\mathrm{MLM}_T$ its masked-LM head
# (transform, then the tied output layer of chapter 2) and $\mathrm{CE}(y, p) = -\sum_k
# y_k \log p_k$. The equality holds because cross-entropy is linear in its target.
# $L_{MLM}$ is the cross-entropy to the true words, $L_{KD}$ the cross-entropy to the
# teacher's soft labels (KL plus the teacher's entropy). $\alpha = 0.5$ (Table 2's
# "distillation ground truth") and $\tau = 1$ (the scripts); the temperature multiplies
# the teacher's last hidden state $Y^T_L$ before its MLM head, as in the official code,
# not the logits. {term}`NSP` uses hard labels on the student's raw `[CLS]` state
# (MBERTA has no pooler). There are no hidden-state or attention losses in this stage,
# and every student variable trains.

# %%
y_demo = {
    "masked_lm_ids": np.array([[0]]),
    "masked_lm_weights": np.array([[1.0]], "float32"),
    "next_sentence_labels": np.array([0]),
}
student_logits, teacher_logits = (
    np.array([[[2.0, 0.0, -1.0]]], "float32"),
    np.array([[[0.0, 2.0, 0.0]]], "float32"),
)
total, terms = losses.pretraining_distillation_loss(
    y_demo, student_logits, np.zeros((1, 2)), teacher_logits
)
pd.Series({"total": float(total), **{k: float(v) for k, v in terms.items()}})

# %% [markdown]
# ## 4.2 Stage 3: distillation
#
# The student starts from chapter 3's weights with a fresh optimizer at step 0 (the
# official code restores only the weights). LAMB at `distill_learning_rate`, warmup then
# linear decay to $10^{-4}\eta_0$, gradient clipping at global norm 1; resumable like
# chapter 3.

# %%
teacher = arlm.saving.load_model(
    ch.require("02_teacher", "teacher.keras"), compile=False
)
student = arlm.saving.load_model(
    ch.require("03_knowledge_transfer", "student_kt.keras"), compile=False
)
kt_results = ch.results("03_knowledge_transfer")
pretraining_dir = ch.require("01_corpus", "pretraining")
make_dataset = stages.pretraining_dataset_factory(pretraining_dir, cfg)
factors = losses.DistillationFactors()
student, history = stages.run_pretraining_distillation(
    teacher, student, make_dataset, cfg, ch.dir, factors, verbose=2
)
history = pd.DataFrame(history).drop(columns="loss")
history.tail()

# %% [markdown]
# The history holds each step's own values: the three terms of 4.1, unweighted (the
# scale of every loss in this chapter), and the masked-LM accuracy on the training
# batch. (Keras' `loss`, a running mean over each epoch, is left out.)

# %%
fig, axes = plt.subplots(1, 2, figsize=(7, 2.6))
for name in ("mlm", "kd", "nsp"):
    axes[0].plot(history.step, history[name], label=name)
axes[0].set(title="loss terms, per step", xlabel="step")
axes[0].legend()
axes[1].plot(history.step, history.mlm_accuracy)
axes[1].set(title="masked-LM accuracy, training batch", xlabel="step")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4.3 The control: the same student from scratch
#
# Same architecture, random initialisation, plain $L_{MLM} + L_{NSP}$, the same
# optimizer and batches, and as many updates as the distilled student received in stages
# 2 and 3 together. The teacher's own pretraining is not charged to the distilled
# student: the question is what a given student budget buys.

# %%
num_layers = stages.num_layers(student)
budget = stages.student_steps(cfg, num_layers)
print(
    f"student updates: {num_layers} x {cfg.kt_steps_per_layer} (stage 2) + "
    f"{cfg.distill_steps} (stage 3) = {budget}"
)
scratch = stages.build_student(
    kt_results.get("student", "mberta"),
    cfg,
    vocab_size=teacher.backbone.config.vocab_size,
)
scratch, scratch_history = stages.run_scratch_pretraining(
    scratch, make_dataset, cfg, ch.dir, budget, verbose=2
)
scratch_history = pd.DataFrame(scratch_history)

# %% [markdown]
# ## 4.4 Evidence
#
# First the masked-LM accuracy of the three models on fixed batches of held-out
# sentences: the documents chapter 1 kept out of training, masked as in pretraining.
# Then each student fine-tuned on AJGT and ASTD-B with chapter 5's recipe at this scale
# (without the data mirror, on the embedded hadith task, whose records chapter 1 held
# out of the pretraining corpus), once per training seed (`finetune_seeds`): the seeds
# change the head's initialisation, dropout and batch order, not the examples, so their
# spread says how much of a difference is luck.

# %%
tokenizer = WordPieceTokenizer(ch.require("01_corpus", "vocab.txt"))
held_out_dir = ch.require("01_corpus", "pretraining_held_out")
eval_batches = stages.evaluation_batches(held_out_dir, cfg, tokenizer.vocab_size)
mlm_scores = {
    "distilled": stages.evaluate_masked_lm(student, eval_batches),
    "scratch": stages.evaluate_masked_lm(scratch, eval_batches),
    "teacher": stages.evaluate_masked_lm(teacher, eval_batches),
}
pd.DataFrame(mlm_scores)

# %%
rows = evidence.finetune_comparison(
    {"distilled": ch.path("student.keras"), "scratch": ch.path("scratch.keras")},
    tokenizer,
    cfg,
)
finetune = pd.DataFrame(rows)
finetune[["model", "task", "accuracy", "accuracy_sd", "macro_f1", "seeds"]].round(3)

# %%
figure = arlm.book.figures.distillation_evidence(mlm_scores, finetune)
plt.show()

# %%
summary = evidence.summarize({k: mlm_scores[k] for k in ("distilled", "scratch")}, rows)
print("distilled minus scratch:", {k: round(v, 4) for k, v in summary["gap"].items()})
say(
    claims.spread_finding(
        {(row["model"], row["task"]): row for row in rows},
        pairs=[("distilled", "scratch")],
    )
)

# %% [markdown]
# ## Summary
#
# - Pretraining distillation trains the whole student on $\alpha L_{MLM} + (1-\alpha)
#   L_{KD} + L_{NSP}$: the masked-LM target is a mix of the true token and the teacher's
#   distribution, with $\alpha = 0.5$.
# - Because cross-entropy is linear in its target, the mixed target equals the weighted
#   sum of the two losses: one softmax of the student serves both.
# - The distillation temperature multiplies the teacher's last hidden state before its
#   MLM head, not its logits; the head normalises what it reads, so such a temperature
#   can move the soft labels far less than one on the logits ({ref}`ex-4-3` measures
#   it).
# - A fair test of distillation gives a student trained from scratch the same number of
#   updates ($L \cdot S$ of stage 2 plus the stage-3 steps) and compares both on
#   held-out masked-LM batches and after fine-tuning.

# %%
accuracy = {k: v["mlm_accuracy"] for k, v in mlm_scores.items()}
say(
    evidence.masked_lm_finding(
        accuracy,
        scale,
        budget,
        mlm_scores["teacher"]["eval_masked_tokens"],
        ch.results("02_teacher")
        .get("config", {})
        .get("teacher_steps", cfg.teacher_steps),
    )
)

# %% tags=["remove-input"]
arlm.book.classroom.quiz("04_distillation")

# %% [markdown]
# ## Exercises
#
# ```{exercise} Easy: one target, two losses
# :label: ex-4-1
# Check numerically that $\mathrm{CE}(\alpha\,\mathrm{onehot} + (1-\alpha)p_T, p_S) =
# \alpha\,\mathrm{CE}(\mathrm{onehot}, p_S) + (1-\alpha)\,\mathrm{CE}(p_T, p_S)$ on the
# demo logits of 4.1, with $\alpha = 0.5$.
# ```

# %% tags=["solution", "hide-input"]
import keras

p_t = keras.ops.softmax(teacher_logits)
target = 0.5 * keras.ops.one_hot(y_demo["masked_lm_ids"], 3) + 0.5 * p_t
mixed = float(
    losses.masked_lm_cross_entropy(target, student_logits, y_demo["masked_lm_weights"])
)
separate = 0.5 * float(terms["mlm"]) + 0.5 * float(terms["kd"])
answer = bool(np.isclose(mixed, separate))  # the two sides agree
say(
    f"Mixed target: {mixed:.6f}; weighted sum: {separate:.6f}: "
    f"{'equal' if answer else 'not equal'} to float precision."
)

# %% [markdown]
# ```{solution} ex-4-1
# :class: dropdown
# $\mathrm{CE}(q, p) = -\sum_j q_j \log p_j$ is linear in $q$, so a mixture of targets
# gives the same mixture of losses; the official code builds the mixed target and calls
# the cross-entropy once.
# ```

# %% [markdown]
# ```{exercise} Easy: the update budget
# :label: ex-4-2
# How many student updates does the paper give its students, and how many do the
# authors' launch scripts (the `full` scale: 24 blocks, its steps per layer and
# distillation steps)? Which share of them is layer-wise transfer? Compare with this
# run's budget (`arlm.paper.setting`, `stages.student_steps`).
# ```

# %% tags=["solution", "hide-input"]
full = arlm.scales.resolve("full")
paper_kt = arlm.paper.setting("attention_transfer_steps")
paper_distill = arlm.paper.setting("distill_steps")
answer = {"the paper (section 3.3.2)": (paper_kt, paper_distill)}
for name, c, layers in (
    ("`full` scale", full, 24),
    (f"this run (`{scale}`)", cfg, num_layers),
):
    answer[name] = (layers * c.kt_steps_per_layer, c.distill_steps)
display(
    pd.DataFrame(
        {
            name: {
                "layer-wise transfer": kt,
                "pretraining distillation": distill,
                "total": kt + distill,
                "transfer share": f"{kt / (kt + distill):.0%}",
            }
            for name, (kt, distill) in answer.items()
        }
    ).T
)
say(
    "; ".join(
        f"{name}: {kt + distill:,} updates, {kt / (kt + distill):.0%} of them "
        "layer-wise transfer"
        for name, (kt, distill) in answer.items()
    )
    + "."
)

# %% [markdown]
# ```{solution} ex-4-2
# :class: dropdown
# The paper states "500K steps for attention transfer and 2 million steps for
# pretraining distillation" (section 3.3.2); the authors' launch scripts, which the
# `full` scale follows, run $24 \times 10{,}000$ transfer steps instead (appendix C). In
# both, stage 3 is most of the budget; the scratch baseline of 4.3 gets the same total
# as this run's distilled student.
# ```

# %% [markdown]
# ```{exercise} Medium: a temperature on the hidden state
# :label: ex-4-3
# What does a temperature $\tau = 2$ on the hidden state do to the teacher's soft labels
# for one batch? Compare their mean entropy with $\tau = 1$. (Hint:
# `PretrainingDistiller` with `DistillationFactors(temperature=2.0)`.)
# ```

# %% tags=["solution", "hide-input"]
from arlm.distillation.pretraining_distiller import PretrainingDistiller

xb, _ = eval_batches[0]
answer = {}  # temperature -> mean entropy of the soft labels (nats)
for tau in (1.0, 2.0):
    distiller = PretrainingDistiller(
        teacher, student, losses.DistillationFactors(temperature=tau)
    )
    soft = keras.ops.softmax(distiller(xb)["teacher_mlm_logits"])
    p = keras.ops.convert_to_numpy(soft)
    answer[tau] = float(-(p * np.log(p + 1e-12)).sum(-1).mean())
uniform = np.log(p.shape[-1])
say(
    f"Mean entropy of the soft labels: {answer[1.0]:.4f} nats at $\\tau = 1$, "
    f"{answer[2.0]:.4f} at $\\tau = 2$ ({answer[2.0] - answer[1.0]:+.4f}); uniform "
    f"over {p.shape[-1]:,} pieces: {uniform:.4f}."
)

# %% [markdown]
# ```{solution} ex-4-3
# :class: dropdown
# $\tau$ scales the input of the head's dense layer and activation, whose output is
# normalised before the tied output layer, so the soft labels can move far less than
# with a temperature on the logits (which divides the logits by $\tau$ and raises the
# entropy towards the uniform value). The line above gives the change in this run.
# ```

# %% [markdown]
# ```{exercise} Medium: what the MLM head shares
# :label: ex-4-4
# How many of the MLM head's variables are tied to (the same variables as) the student's
# backbone, which are they, and how many parameters does the head add of its own?
# ```

# %% tags=["solution", "hide-input"]
head = student.mlm_head
in_backbone = {id(w) for w in student.backbone.weights}
held = [w for w in head.weights if id(w) in in_backbone]
own = [w for w in head.weights if id(w) not in in_backbone]
table = head.token_embedding.embeddings  # what `output_weights()` reads
tied = [w for w in held if w is table]
display(
    pd.DataFrame(
        {
            "shape": [tuple(w.shape) for w in own],
            "parameters": [int(np.prod(w.shape)) for w in own],
        },
        index=[w.path for w in own],
    )
)
answer = sum(int(np.prod(w.shape)) for w in own)  # the head's own parameters
say(
    f"The head holds {len(held)} backbone variables (its embedding layer's); "
    f"{len(tied)} of them is tied into its output layer, `{table.path}` "
    f"{tuple(table.shape)}. Its own parameters: {answer:,}."
)

# %% [markdown]
# ```{solution} ex-4-4
# :class: dropdown
# The tied variable is the word-embedding table, the $V \times E$ part of the output
# matrix $[W_{word} | W_{extra}]$, so the output layer stores no copy of it. The head
# also holds the embedding layer's trigram projection (it keeps the whole layer to reach
# the table) but does not use it. What the head adds of its own is in the table: its
# transform (dense and normalisation), the output bias and, since $H > E$, the extra
# output columns $V \times (H - E)$.
# ```

# %% [markdown]
# ```{exercise} Hard: how much of the teacher to use
# :label: ex-4-5
# Change the method: run stage 3 from the stage-2 student with $\alpha = 1$ (true tokens
# only: no teacher in the masked-LM loss) and with $\alpha = 0$ (the teacher's
# distribution only), for 20 steps each, and compare them with the paper's $\alpha =
# 0.5$ on the held-out batches. What would you expect at a scale where the teacher is
# good?
# ```

# %% tags=["solution", "hide-input"]
steps = min(20, cfg.distill_steps)
answer = {}  # "alpha = a" -> held-out masked-LM scores
for alpha in (1.0, 0.5, 0.0):
    start = arlm.saving.load_model(
        ch.require("03_knowledge_transfer", "student_kt.keras"), compile=False
    )
    trained, _ = stages.run_pretraining_distillation(
        teacher,
        start,
        make_dataset,
        cfg,
        ch.path("exercise_alpha", f"alpha_{alpha}"),
        losses.DistillationFactors(alpha=alpha),
        total_steps=steps,
        verbose=0,
    )
    answer[f"alpha = {alpha}"] = stages.evaluate_masked_lm(trained, eval_batches)
display(pd.DataFrame(answer).T[["mlm_accuracy", "mlm_loss"]].round(4))
say(evidence.alpha_finding(answer, steps))

# %% [markdown]
# ```{solution} ex-4-5
# :class: dropdown
# One factor changes the method. $\alpha = 1$ is ordinary pretraining from the stage-2
# weights; $\alpha = 0$ teaches the student only what the teacher's distribution holds,
# which for a teacher that is barely trained (see the line under the Summary) would be
# little more than the piece frequencies. With a good teacher the soft labels carry what
# the teacher knows about near-synonyms, and the usual finding
# {cite:p}`hinton2015distilling,sun2020mobilebert` is that a mix can beat either end;
# testing that takes the `gpu` scale or above and repeated runs.
# ```

# %% [markdown]
# ## Results

# %%
ch.write_results(
    {
        "student": kt_results.get("student", "mberta"),
        "distill_steps": cfg.distill_steps,
        "student_update_budget": int(budget),
        "factors": factors.as_dict(),
        "final_distillation_terms": {
            k: float(history[k].iloc[-1]) for k in ("mlm", "kd", "nsp", "mlm_accuracy")
        },
        "masked_lm": mlm_scores,
        "finetuning": rows,
        "evidence": summary,
    }
)
