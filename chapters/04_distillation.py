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
# has never been trained on the task the teacher was: predicting masked words. The last
# MobileBERT stage does that, with the teacher's predictions as soft labels
# {cite}`hinton2015distilling`. Then we test the claim behind the whole method: at the
# same compute, is a distilled student better than the same student pretrained from
# scratch?
#
# **Learning objectives**
# - Write the pretraining-distillation loss $\alpha L_{MLM} + (1-\alpha) L_{KD} +
#   L_{NSP}$ and see why it is one cross-entropy against a mixed target.
# - Place the temperature where the official code puts it: on the teacher's hidden
#   state, not its logits.
# - Train with LAMB, warmup and linear decay, resumably, and follow each loss term and
#   the MLM accuracy.
# - Compare a distilled and a from-scratch student at equal compute on masked-LM
#   accuracy and on two sentiment tasks (AJGT, ASTD-B), and read the result honestly at
#   small scale.

# %%
# On Colab: install this book's library at the commit this page was run with (with
# the extras a TPU needs) and pick the Keras backend (JAX on a TPU) before Keras is
# imported. Elsewhere this cell does nothing.
import os
import sys

REPOSITORY = "https://github.com/arlm-book/arlm"  # book/_config.yml's repository.url
REVISION = "main"  # the commit it runs with (`arlm run` writes both)
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
overrides = {}  # any key of arlm.scales, e.g. {"distill_steps": 200}

# %%
import arlm
from arlm.prose import say

cfg = arlm.scales.resolve(scale, **overrides)
ch = arlm.artifacts.Chapter("04_distillation", scale, run_dir, config=cfg)
runtime = arlm.runtime.setup(cfg)  # prints what it chose

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from arlm.distillation import losses, stages
from arlm.tasks import evidence, experiments
from arlm.tokenizer import WordPieceTokenizer

# %% [markdown]
# ## 4.1 The loss
#
# For every masked slot $i$ (weight $w_i = 1$ for a real slot, 0 for padding) the
# student's distribution $p^S_i$ is trained towards a mixture of the true word and the
# teacher's distribution:
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
# The equality holds because cross-entropy is linear in its target. $L_{KD}$ is the
# cross-entropy to the teacher's soft labels (KL plus the teacher's entropy). With
# $\alpha = 0.5$ and $\tau = 1$ (Table 2 and the scripts), the temperature multiplies
# the teacher's last hidden state $Y^T_L$ before its MLM head, as in the official code,
# not the logits. NSP uses hard labels on the student's raw [CLS] state (MBERTA has no
# pooler). There are no hidden-state or attention losses in this stage, and every
# student variable trains.

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
teacher = arlm.io.load_model(ch.require("02_teacher", "teacher.keras"), compile=False)
student = arlm.io.load_model(
    ch.require("03_knowledge_transfer", "student_kt.keras"), compile=False
)
kt_results = ch.results("03_knowledge_transfer")
pretraining_dir = ch.require("01_corpus", "pretraining")
make_dataset = stages.pretraining_dataset_factory(pretraining_dir, cfg)
factors = losses.DistillationFactors()
student, history = stages.run_pretraining_distillation(
    teacher, student, make_dataset, cfg, ch.dir, factors, verbose=2
)
history = pd.DataFrame(history)
history.tail()

# %%
fig, axes = plt.subplots(1, 2, figsize=(7, 2.6))
for name in ("mlm", "kd", "nsp"):
    axes[0].plot(history.step, history[name], label=name)
axes[0].set(title="loss terms (unweighted)", xlabel="step")
axes[0].legend()
axes[1].plot(history.step, history.mlm_accuracy)
axes[1].set(title="masked-LM accuracy (training batches)", xlabel="step")
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
# Masked-LM accuracy on fixed batches (the training sentences masked afresh with another
# seed), then each student fine-tuned on AJGT and ASTD-B with chapter 5's recipe at this
# scale (without the data mirror, on the embedded hadith task, whose records chapter 1
# held out of the pretraining corpus), once per training seed (`finetune_seeds`): the
# seeds change the head's initialisation, dropout and batch order, not the examples, so
# their spread says how much of a difference is luck.

# %%
tokenizer = WordPieceTokenizer(ch.require("01_corpus", "vocab.txt"))
eval_batches = stages.evaluation_batches(pretraining_dir, cfg, tokenizer.vocab_size)
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
fig, axes = plt.subplots(1, 2, figsize=(7, 2.8))
labels = ["distilled", "scratch"]
axes[0].bar(
    labels,
    [mlm_scores[k]["mlm_accuracy"] for k in labels],
    color=["tab:blue", "tab:grey"],
)
axes[0].axhline(
    mlm_scores["teacher"]["mlm_accuracy"], color="tab:red", ls="--", label="teacher"
)
axes[0].set(title="masked-LM accuracy", ylim=(0, None))
axes[0].legend()
pivot = finetune.pivot(index="task", columns="model", values="accuracy")[labels]
spread = finetune.pivot(index="task", columns="model", values="accuracy_sd")[labels]
pivot.plot.bar(
    ax=axes[1], yerr=spread, capsize=3, color=["tab:blue", "tab:grey"], rot=0
)
axes[1].set(title="fine-tuned test accuracy (mean ± sd)", ylim=(0, 1))
plt.tight_layout()
plt.show()

# %%
summary = evidence.summarize({k: mlm_scores[k] for k in labels}, rows)
print("distilled minus scratch:", {k: round(v, 4) for k, v in summary["gap"].items()})
say(
    experiments.spread_finding(
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
#   MLM head, not its logits, so it moves the soft labels far less than a logit
#   temperature.
# - A fair test of distillation gives a student trained from scratch the same number of
#   updates ($L \cdot S$ of stage 2 plus the stage-3 steps) and compares both on
#   held-out masked-LM batches and after fine-tuning.

# %%
accuracy = {k: v["mlm_accuracy"] for k, v in mlm_scores.items()}
say(evidence.masked_lm_finding(accuracy, scale, budget))

# %% tags=["remove-input"]
arlm.classroom.quiz("04_distillation")

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
print(
    f"mixed target: {mixed:.6f}; weighted sum: {separate:.6f}; "
    f"equal: {np.isclose(mixed, separate)}"
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
# How many student updates does the paper's recipe give (24 blocks, the `full` scale's
# steps per layer and distillation steps), and which share of them is layer-wise
# transfer? Compare with this run's budget.
# ```

# %% tags=["solution", "hide-input"]
full = arlm.scales.resolve("full")
for name, c, layers in (("full", full, 24), (scale, cfg, num_layers)):
    total_updates = stages.student_steps(c, layers)
    kt_share = layers * c.kt_steps_per_layer / total_updates
    print(
        f"{name}: {layers} x {c.kt_steps_per_layer:,} + {c.distill_steps:,} = "
        f"{total_updates:,} updates, {kt_share:.0%} of them layer-wise transfer"
    )

# %% [markdown]
# ```{solution} ex-4-2
# :class: dropdown
# The printed lines give both budgets. With the `full` scale's 10,000 steps per layer
# (the authors' script has 240K, appendix C) layer-wise transfer is a small part of the
# budget and stage 3 is most of it; the scratch baseline of 4.3 gets the same total.
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
entropies = {}
for tau in (1.0, 2.0):
    distiller = PretrainingDistiller(
        teacher, student, losses.DistillationFactors(temperature=tau)
    )
    soft = keras.ops.softmax(distiller(xb)["teacher_mlm_logits"])
    p = keras.ops.convert_to_numpy(soft)
    entropies[tau] = float(-(p * np.log(p + 1e-12)).sum(-1).mean())
print(
    {f"tau = {t}": round(h, 4) for t, h in entropies.items()},
    f"| uniform over {p.shape[-1]:,} pieces: {np.log(p.shape[-1]):.4f}",
)

# %% [markdown]
# ```{solution} ex-4-3
# :class: dropdown
# $\tau$ scales the input of the head's dense layer and activation, whose output is
# normalised before the tied output layer: the soft labels move far less than with a
# temperature on the logits (which would divide the logits by $\tau$ and raise the
# entropy towards the uniform value printed). Compare the two entropies printed.
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
print(
    f"the head holds {len(held)} backbone variables (its embedding layer's); "
    f"{len(tied)} of them is tied into its output layer: {table.path} "
    f"{tuple(table.shape)}"
)
display(
    pd.DataFrame(
        {
            "shape": [tuple(w.shape) for w in own],
            "parameters": [int(np.prod(w.shape)) for w in own],
        },
        index=[w.path for w in own],
    )
)
print("parameters of the head's own:", sum(int(np.prod(w.shape)) for w in own))

# %% [markdown]
# ```{solution} ex-4-4
# :class: dropdown
# One variable is tied: the word-embedding table, the $V \times E$ part of the output
# matrix $[W_{word} | W_{extra}]$, so the output layer stores no copy of it. The head
# also holds the embedding layer's trigram projection (it keeps the whole layer to reach
# the table) but never uses it. What the head adds of its own is in the table: its
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
alphas = {}
for alpha in (1.0, 0.5, 0.0):
    start = arlm.io.load_model(
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
    alphas[f"alpha = {alpha}"] = stages.evaluate_masked_lm(trained, eval_batches)
display(pd.DataFrame(alphas).T[["mlm_accuracy", "mlm_loss"]].round(4))
best = min(alphas, key=lambda k: alphas[k]["mlm_loss"])
print(f"after {steps} steps the lowest held-out masked-LM loss is at {best}")

# %% [markdown]
# ```{solution} ex-4-5
# :class: dropdown
# One factor changes the method. The table and the line under it say which mix did best
# in this run; with a teacher that is barely trained (see the line under the Summary)
# the soft labels are close to the piece frequencies, so $\alpha = 0$ teaches the
# student little more than those frequencies, and $\alpha = 1$ is ordinary pretraining
# from the stage-2 weights. With a good teacher the soft labels carry what the teacher
# knows about near-synonyms, and the usual finding
# {cite:p}`hinton2015distilling,sun2020mobilebert` is that a mix beats either end;
# testing that takes the `gpu` scale or above.
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
