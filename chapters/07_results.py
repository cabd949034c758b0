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
# # 7. Results: the paper beside this book
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/arlm-book/arlm/blob/main/book/edition/cpu/07_results.ipynb)
#
# Chapters 1 to 6 each wrote a `results.json` into the run folder. This chapter reads
# them all and puts every number the paper published beside the one this run produced:
# Table 1 (the pretraining corpus), Table 2 (distillation hyper-parameters), Table 3
# (fine-tuning), Table 4 (sizes) and Figure 1 (vocabulary size). It trains nothing, so
# it runs in seconds on any run folder, including one copied from a TPU run.
#
# **Learning objectives**
# - Trace each number to the chapter, scale and data that produced it.
# - Read a replication honestly: a number this run did not produce is "not run", never
#   zero, and a number at reduced scale is a check of the pipeline, not of the paper's
#   claim.
# - Relate accuracy to model size, and size to the bytes stored per parameter before and
#   after quantization.

# %% tags=["parameters"]
scale = "tiny"  # tiny | cpu | gpu | full
run_dir = None  # default: runs/<scale>; any finished run folder (or a gs:// bucket)
overrides = {}  # any key of arlm.scales (unused here: this chapter only reads results)

# %%
import arlm

cfg = arlm.scales.resolve(scale, **overrides)
ch = arlm.artifacts.Chapter("07_results", scale, run_dir, config=cfg)

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from arlm.book import claims, reporting
from arlm.book.prose import say

run = reporting.collect(ch.run_dir)
pd.set_option("display.max_colwidth", None)  # sources and reasons in full

# %% [markdown]
# ## 7.0 How far this run is from the paper
#
# Before any score: what this run did next to what the paper did. The paper's side comes
# from its Tables 1 and 4 and from the training settings its text states (sections 3.1
# to 3.3, `arlm.paper.setting`). The last column says how many times larger the paper's
# side is.

# %%
display(reporting.display(reporting.gap_table(run), paper_columns=("the paper",)))

# %% [markdown]
# ### The paper's claims, and what this run can say about them
#
# Every result the paper states, in its own words, with the section it is in
# (`arlm.book.claims`). Each verdict is computed from this run's numbers:
#
# - a claim that one model is ahead of another *holds* if the difference points the
#   claim's way and is larger than the seed spread (the mean ± sd intervals over
#   `finetune_seeds` do not overlap); a difference within the spread is *not
#   distinguishable*;
# - a claim that two models are *comparable* holds if their scores are within $\pm 1$
#   point of each other, in either direction;
# - if neither fine-tuned model beats the simplest baseline on the task (the majority
#   class, or TF-IDF with logistic regression on the same examples), the claim is *not
#   testable at this scale*: the run checks the pipeline, not the paper;
# - a claim about AraBERT is *not testable here*: this book does not train it.

# %%
claim_rows = claims.check(run)
display(pd.DataFrame(claim_rows).set_index("claim")[["section", "verdict"]])
say(claims.finding(claim_rows, scale))

# %% [markdown]
# Each claim with the paper's words, the paper's own numbers, and this run's:

# %%
say(claims.details(claim_rows))

# %% [markdown]
# ### What worked and what did not at this scale
#
# Chapters 3 to 5 each say whether their stage did what it is for; here they are
# together, with the likely reason where it did not:

# %%
for sentence in reporting.shortfalls(run) or ["Chapters 3 to 5 have not run."]:
    say(sentence)

# %% [markdown]
# ## 7.1 Where each number comes from
#
# Every chapter records its scale; chapter 1 records the corpus it read (the data
# mirror's stand-ins for the paper's sources, or the embedded default corpus when there
# is no mirror), chapter 5 the tasks it could load.

# %%
display(reporting.display(reporting.provenance(run)))
print(
    "pretraining data:", run.get("01_corpus", "data_source", default=reporting.NOT_RUN)
)

# %% [markdown]
# ## 7.2 Table 1: the pretraining corpus
#
# The paper pretrained on 1.6B tokens from four sources. None of them is
# redistributable; chapter 1 maps each to a stand-in of the same genre. The *shares* are
# what a replication can keep:
#
# $$\text{share}_s = \frac{\text{tokens}_s}{\sum_{s'} \text{tokens}_{s'}}.$$

# %%
table1 = reporting.display(reporting.table1(run))
display(table1)

# %%
numeric1 = pd.DataFrame(reporting.table1(run)).dropna(subset=["ours_share"])
if numeric1.empty:
    print("chapter 1 has not run: no corpus shares to plot")
else:
    ax = numeric1.set_index("dataset")[["paper_share", "ours_share"]].plot.barh(
        figsize=(7, 3)
    )
    ax.set_xlabel("share of the corpus (%)")
    ax.set_title("Table 1: paper vs. this run")
    plt.show()

# %% [markdown]
# ## 7.3 Table 2: distillation hyper-parameters
#
# Chapter 3's layer-wise loss weighs the mean and variance terms by $\beta$ and $\gamma$
# and the feature maps by the hidden factor; chapter 4 mixes ground truth and teacher
# with $\alpha$:
#
# $$\mathcal{L}_{PD} = \alpha\,\mathcal{L}_{MLM} + (1-\alpha)\,\mathcal{L}_{KD}
#   + \mathcal{L}_{NSP}.$$
#
# The paper's Table 2 prints $\beta = 500$; the authors' scripts use 5000, and so does
# this book (chapter 3 explains why; `arlm.distillation` offers both).

# %%
display(reporting.display(reporting.table2(run)))

# %% [markdown]
# ## 7.4 Table 3: fine-tuning on the eight tasks
#
# Scores are percentages: accuracy for the classification tasks, the paper's macro
# precision, recall and F1 over the label ids for PADT, and SQuAD v1.1 exact match and
# F1 for ARCD. Each model's cell reads "paper / this run"; "–" on the right marks a
# model this run did not fine-tune (set `finetune_models` in chapter 5) or a task whose
# data was not available. Beside the accuracy rows: the majority class and TF-IDF +
# logistic regression on the same test examples, the floor any model must clear.

# %%
table3 = reporting.table3(run)
display(
    reporting.display(reporting.table3_compact(run)).set_index(["dataset", "metric"])
)
not_run = reporting.not_run_tasks(run)
if not_run:
    display(pd.DataFrame({"reason": not_run}).rename_axis("task"))
say(reporting.table3_finding(table3, scale))

# %% [markdown]
# Tasks outside the paper's table that chapter 5 also ran (the ASTD 4-class variant, and
# the embedded hadith task that stands in for all of them without the data mirror):

# %%
other = reporting.other_scores(run)
if other:
    display(reporting.display(other))
else:
    print("none in this run")

# %%
figure = arlm.book.figures.table3_by_model(table3, scale)
plt.show()

# %% [markdown]
# How far this run is from the paper in training is the gap table's story (7.0);
# chapter 4 says how distillation compared with the same student trained from scratch
# in this run.
#
# ## 7.5 Accuracy against model size
#
# Tables 3 and 4 in one plot: the mean classification accuracy of each model against its
# parameters, the paper's models at their full size and this run's at theirs (the
# backbones chapter 3 counted). The mean is over the classification tasks each model
# has scores for.

# %%
size_rows = pd.DataFrame(reporting.accuracy_vs_size(run))
display(size_rows)
figure = arlm.book.figures.accuracy_against_parameters(size_rows, scale)
plt.show()
say(reporting.size_finding(run))

# %% [markdown]
# ## 7.6 Table 4: parameters and sizes
#
# Chapter 2 reproduces the parameter counts exactly; chapter 6 explains the size
# columns: a fine-tuned checkpoint stores the weights and Adam's two moments, and the
# paper's "quantized" file stores 4 bytes per parameter, i.e. float32:
#
# $$\text{size}_{\text{fine-tuned}} = 12P \text{ bytes}$$
#
# $$\text{size}_{\text{paper, quantized}} = 4P$$
#
# $$\text{size}_{\text{int8}} \approx P.$$

# %%
display(reporting.display(reporting.table4(run)))

# %% [markdown]
# The files chapter 6 exported at this run's scale, with their task metric and agreement
# with the Keras model:

# %%
files = pd.DataFrame(reporting.quantized_files(run))
if files.empty:
    print("chapter 6 has not run: no TFLite files to show")
else:
    display(files)
    figure = arlm.book.figures.file_sizes(
        reporting.table4(run), reporting.quantized_files(run), scale
    )
    plt.show()

# %% [markdown]
# ## 7.7 Figure 1: 30K against 50K vocabulary
#
# The paper plots AJGT accuracy of its two teachers against pretraining iterations and
# publishes no numbers; what it says about the plot is what this run can check.

# %%
points = pd.DataFrame(reporting.figure1(run))
if points.empty:
    print(
        "Figure 1: not run (chapter 2's snapshots or chapter 5's AJGT fine-tuning are "
        "missing)"
    )
else:
    fig, ax = plt.subplots(figsize=(6, 4))
    for (teacher, vocab), part in points.groupby(["teacher", "vocab_size"]):
        ax.plot(
            part.step,
            100 * part.accuracy,
            marker="o",
            label=f"{teacher} (vocabulary {vocab})",
        )
    ax.set_xlabel("pretraining step")
    ax.set_ylabel("AJGT accuracy (%)")
    ax.legend()
    plt.show()
    say(claims.figure1_of_run(run, scale))

# %% [markdown]
# ## Summary
#
# - Every number of the paper's tables is set beside this run's, with the scale and data
#   it came from; a cell this run did not produce says "not run", never a guess.
# - Parameter counts reproduce Table 4 from the presets alone; sizes on disk follow from
#   them (12 bytes per parameter for a checkpoint with Adam, 4 for a float32 TFLite
#   file, about 1 for dynamic-range int8).
# - How close this run comes to the paper's accuracies depends on its scale: at `tiny`
#   the pipeline is checked end to end, not the paper's numbers.

# %%
say(reporting.table3_finding(table3, scale) + " 7.4 lists the tasks it did not run.")

# %% tags=["remove-input"]
arlm.book.classroom.quiz("07_results")

# %% [markdown]
# ## Exercises
#
# ```{exercise} Easy: sizes from the parameter count
# :label: ex-7-1
# Without running anything, predict the size in MiB of a dynamic-range int8 MBERTA II
# file and of a float16 one. Then compute them from the parameter count.
# ```

# %% tags=["solution", "hide-input"]
from arlm.mobilebert.config import named_config
from arlm.params import count_parameters
from arlm.quantization import sizes

count = count_parameters(named_config("mberta_ii"), "classifier")
paper_mb = {
    r["model"]: r["finetuned_quantized_size_mb"]
    for r in arlm.paper.table("table4_sizes")
}["MBERTA_II"]
answer = {"int8": sizes.du_mib(count), "float16": sizes.du_mib(2 * count)}  # MiB
say(
    f"{count / 1e6:.1f}M parameters: int8 about {answer['int8']} MiB, float16 about "
    f"{answer['float16']} MiB; the paper's 'quantized' file: {paper_mb} MB."
)

# %% [markdown]
# ```{solution} ex-7-1
# :class: dropdown
# About 1 and 2 bytes per parameter, plus a small fixed part. The paper's "quantized"
# file is about 4 bytes per parameter, a float32 TFLite file (chapter 6).
# ```

# %% [markdown]
# ```{exercise} Medium: accuracy per parameter saved
# :label: ex-7-2
# For each model the paper reports, how much accuracy (mean over the six classification
# tasks) does it lose against IBERTA per million parameters saved?
# ```

# %% tags=["solution", "hide-input"]
paper_sizes = pd.DataFrame(reporting.accuracy_vs_size(run)).query("source == 'paper'")
paper_sizes = paper_sizes.set_index("model")
teacher = paper_sizes.loc["IBERTA"]
saved = teacher.parameters_millions - paper_sizes.parameters_millions
answer = pd.DataFrame(
    {
        "points lost": teacher.mean_accuracy - paper_sizes.mean_accuracy,
        "M parameters saved": saved,
    }
).drop("IBERTA")
answer["points per M saved"] = answer["points lost"] / answer["M parameters saved"]
display(answer.round(3))
say(
    "Per million parameters saved against IBERTA, in the paper's numbers: "
    + "; ".join(
        f"{model} {row['points per M saved']:+.3f} points lost"
        + (
            " (it is larger than IBERTA: no parameters saved)"
            if row.iloc[1] < 0
            else ""
        )
        for model, row in answer.iterrows()
    )
    + "."
)

# %% [markdown]
# ```{solution} ex-7-2
# :class: dropdown
# The last column divides the accuracy a model gives up by the parameters it saves.
# AraBERT's row has negative "parameters saved": it is larger than IBERTA, so its ratio
# reads the other way round (the sign of its points lost says whether it is also less
# accurate on these tasks).
# ```

# %% [markdown]
# ```{exercise} Medium: which cells are close to the paper?
# :label: ex-7-3
# Write a function that lists every Table 3 cell where this run is within $5$ points of
# the paper, and run it on this run. Is the student trained from scratch (chapter 4),
# or TF-IDF, as close on those cells? What would you need to change to make the list
# longer for the right reason?
# ```


# %% tags=["solution", "hide-input"]
def close_to_paper(rows, tolerance=5.0):
    return [
        (row["dataset"], row["metric"], model)
        for row in rows
        for model in arlm.params.PAPER_NAMES.values()
        if row[f"ours {model}"] is not None
        and abs(row[f"ours {model}"] - row[f"paper {model}"]) <= tolerance
    ]


answer = close_to_paper(table3)
say(reporting.closeness_finding(answer, run, 5.0))

# %% [markdown]
# ```{solution} ex-7-3
# :class: dropdown
# A larger scale: more pretraining and fine-tuning steps, the full task data and the
# full model sizes. A cell close to the paper counts only where a model without the
# method (the scratch student, TF-IDF) is not as close: otherwise the task, not the
# method, explains it.
# ```

# %% [markdown]
# ```{exercise} Hard: drop half of the blocks
# :label: ex-7-4
# Change the method: make the distilled student of chapter 4 smaller by keeping only its
# even blocks (0, 2, ...) or only its odd ones, without retraining
# (`arlm.distillation.transfer.drop_blocks`). Compare the parameters and the held-out
# masked-LM accuracy and loss with the full student, and compute what the int8 file of a
# full-size MBERTA with 12 of its 24 blocks would weigh.
# ```

# %% tags=["solution", "hide-input"]
from arlm.distillation import stages, transfer

student_path = ch.find("04_distillation", "student.keras")
answer = {}
if student_path is None:
    say("Chapter 4 has not run: no distilled student to drop blocks from.")
else:
    distilled = arlm.saving.load_model(student_path, compile=False)
    held_out = stages.evaluation_batches(
        ch.require("01_corpus", "pretraining_held_out"),
        cfg,
        distilled.backbone.config.vocab_size,
    )
    n = stages.num_layers(distilled)
    for label, keep in (
        ("all blocks", range(n)),
        ("even blocks", range(0, n, 2)),
        ("odd blocks", range(1, n, 2)),
    ):
        smaller = transfer.drop_blocks(distilled, list(keep), held_out[0][0])
        scores_ = stages.evaluate_masked_lm(smaller, held_out)
        answer[label] = {
            "blocks": len(keep),
            "parameters": smaller.backbone.count_params(),
            "mlm_accuracy": scores_["mlm_accuracy"],
            "mlm_loss": scores_["mlm_loss"],
        }
    display(pd.DataFrame(answer).T.convert_dtypes().round(4))
    whole = answer["all blocks"]
    say(
        "Held-out masked-LM loss: "
        + "; ".join(
            f"{label} {row['mlm_loss']:.4f} ({row['mlm_loss'] - whole['mlm_loss']:+.4f}"
            f" with {row['parameters'] / whole['parameters']:.0%} of the parameters)"
            for label, row in answer.items()
            if label != "all blocks"
        )
        + f", against {whole['mlm_loss']:.4f} for the whole student."
    )
half = count_parameters(named_config("mberta", num_layers=12), "classifier")
full_mberta = count_parameters(named_config("mberta"), "classifier")
say(
    f"A full-size MBERTA with 12 of its 24 blocks: {half / 1e6:.1f}M parameters (all "
    f"24: {full_mberta / 1e6:.1f}M), an int8 file of about {sizes.du_mib(half)} MiB."
)

# %% [markdown]
# ```{solution} ex-7-4
# :class: dropdown
# Dropping blocks removes their parameters but not the embeddings and heads, so the
# model shrinks by less than half. Without retraining, the blocks that are left receive
# inputs they were not trained on (each block was fitted to its predecessor's output in
# chapter 3), so with a well-trained student the masked-LM loss would rise; a short
# stage-3 distillation of the smaller student (`drop_blocks`, then
# `run_pretraining_distillation` of chapter 4) usually recovers much of it, which is how
# layer-dropped students are made. The line above gives this run's change.
# ```

# %% [markdown]
# ## Results

# %%
ch.write_results({**reporting.summary(run), "claims": claim_rows})
