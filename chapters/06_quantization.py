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
# # 6. Quantization and on-device inference
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/arlm-book/arlm/blob/main/book/edition/cpu/06_quantization.ipynb)
#
# The paper's last step is to make its models small enough for a phone: the fine-tuned
# models are converted to TensorFlow Lite ({term}`TFLite`) and "quantized", and Table 4
# reports their size. This chapter does that step for real and measures what the paper
# did not: the accuracy, latency and memory of every file.
#
# **Learning objectives**
# - Read Table 4 as arithmetic: a checkpoint with Adam state is 12 bytes per parameter,
#   and the paper's "quantized" column is 4 bytes per parameter, i.e. float32 files.
# - Export a fine-tuned model to TFLite in float32, dynamic-range int8, float16, full
#   int8 and int8 with float attention scores, with a fixed input signature.
# - Check each file against the Keras model: task metric, agreement of predictions,
#   largest logit change.
# - Measure latency, throughput and interpreter memory on this CPU with 1 and 2 threads,
#   and find op by op where the time goes and which ops leave the XNNPACK delegate.
# - Run a model from the shell without TensorFlow, as a device would: a `.tflite` file,
#   or an ONNX Runtime `.onnx` file for an x86 server.

# %% tags=["parameters"]
scale = "tiny"  # tiny | cpu | gpu | full
run_dir = None  # default: runs/<scale>
overrides = {}  # any key of arlm.scales, e.g. {"latency_runs": 50}

# %%
import arlm

cfg = arlm.scales.resolve(scale, **overrides)
ch = arlm.artifacts.Chapter("06_quantization", scale, run_dir, config=cfg)
runtime = arlm.runtime.setup(cfg)  # prints what it chose

# %%
import os

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from arlm.quantization import PRECISIONS, export, sizes, study
from arlm.quantization.latency import measure_files

# %% [markdown]
# ## 6.1 What Table 4 measured
#
# Table 4 gives two sizes per model. Divide them by the parameter count $P$ and two
# constants appear ([spec section 2.4](#spec-2-4)):
#
# $$\begin{aligned}
# \text{fine-tuned size} &= \underbrace{4P}_{\text{weights}}
#   + \underbrace{4P + 4P}_{\text{Adam } m,\ v} = 12P \text{ bytes}
# \end{aligned}$$
#
# $$\text{"quantized" size} = 4P \text{ bytes}.$$
#
# A TF checkpoint stores each variable with its two Adam slots, hence 12 bytes. The
# "quantized" file is the size of float32 weights: the authors' export applied
# `optimizations` only behind a flag, so the file they measured was not int8. Sizes are
# MiB rounded **up**, as `du -h` prints them.

# %%
paper = pd.DataFrame(sizes.paper_rows())
params = paper.parameters_millions * 1e6
paper["12 B/param (MiB, rounded up)"] = [
    sizes.du_mib(sizes.checkpoint_bytes(p)) for p in params
]
paper["4 B/param (MiB, rounded up)"] = [sizes.du_mib(4 * p) for p in params]
paper["real int8 estimate (MiB)"] = [sizes.du_mib(p) for p in params]
paper.round(2)

# %% [markdown]
# Table 4's "quantized" column comes to about 4 bytes per parameter for every model (the
# table above; the small excess is the paper's rounding of its parameter counts to
# $0.1$M). By construction a genuinely int8 file is about a quarter of that: one byte
# per weight.
#
# ## 6.2 Five ways to write a TFLite file
#
# Integer quantization {cite}`jacob2018quantization` stores a tensor $w$ as 8-bit
# integers $q$ with a scale $s$ and a zero point $z$:
#
# $$w \approx s\,(q - z)$$
#
# $$q = \operatorname{clip}\big(\operatorname{round}(w / s) + z,\ -128,\ 127\big).$$
#
# * **float32**: no quantization (the paper's file).
# * **dynamic** range ({term}`dynamic-range quantization`): weights of matmuls and the
#   embedding table are int8, symmetric ($z = 0$, $s = \max|w| / 127$ per output
#   channel); activations stay float and are quantized on the fly.
# * **float16**: weights stored as float16, computed in float32.
# * **int8** ({term}`full-integer quantization`): activations are int8 too; their ranges
#   are calibrated by running a *representative dataset* (training examples) through the
#   model.
# * **int8_mixed**: full integer except the attention scores: $QK^\top$, its scale, the
#   $-6$ mask, the softmax and the product with $V$ stay float32 (the converter's
#   selective quantization). Section 6.5 shows why this pays.
#
# Each is one set of `tf.lite.TFLiteConverter` settings. `arlm.quantization.export`
# saves the model once as a SavedModel (`model.export(dir, format="tf_saved_model")`,
# the first step of `format="litert"`) and converts that SavedModel once per precision,
# instead of tracing the model four times:

# %%
display(
    pd.DataFrame(
        {
            precision: {"meaning": meaning, **export.converter_settings(precision)}
            for precision, meaning in PRECISIONS.items()
        }
    ).T.fillna("")
)

# %% [markdown]
# Every file has the fixed input signature `[1, max_seq_length]` int32 `token_ids`,
# `segment_ids`, `padding_mask`: a device allocates its buffers once. MobileBERT was
# designed for this step: NoNorm ($h \circ \gamma + \beta$) instead of LayerNorm, ReLU
# instead of GELU, and a $-6$ (not $-10^4$) additive attention mask keep every
# activation in a range int8 can hold.
#
# ## 6.3 The fine-tuned models of chapter 5

# %%
from arlm.quantization.study import heads_on, task_data
from arlm.tasks.loaders import POS_LABELS, load_task
from arlm.tasks.loaders import available as task_available
from arlm.tokenizer import WordPieceTokenizer

models_dir = ch.require("05_finetuning", "models", "index.json").parent
index = arlm.artifacts.read_model_index(models_dir)
display(pd.DataFrame(index).T)

# %% [markdown]
# We export every classifier of the first classification task (so model sizes can be
# compared on one task), plus a tagger and a QA model. When chapter 5 saved no tagger or
# QA model, we put `arlm.mobilebert`'s `TokenTagger` and `SpanQA` on the classifier's
# fine-tuned backbone: their heads are untrained, so their task metric is meaningless,
# but the agreement between Keras and TFLite still tests the export.

# %%
tasks = {name: load_task(name) for name in {meta["task"] for meta in index.values()}}
kinds = {stem: tasks[meta["task"]].kind for stem, meta in index.items()}
first_task, chosen = study.choose_models(index, kinds, cfg.quant_max_classifiers)
print("exporting:", ", ".join(chosen))

out_dir = ch.path("tflite")
results, loaded = [], {}
for stem, meta in chosen.items():
    task = tasks[meta["task"]]
    tokenizer = WordPieceTokenizer(meta["vocab"])
    model = arlm.saving.load_model(models_dir / f"{stem}.keras", compile=False)
    length = int(meta.get("max_seq_length") or cfg.finetune_max_seq_length)
    test = task_data(
        task, tokenizer, length, "test", cfg.quant_eval_examples, cfg.qa_doc_stride
    )
    train = task_data(
        task, tokenizer, length, "train", 100, cfg.qa_doc_stride
    )  # calibration for full int8
    results.append(
        study.study(
            model,
            stem,
            test,
            out_dir,
            train.features,
            threads=(1, 2),
            runs=cfg.latency_runs,
        )
    )
    results[-1].update(
        model=stem,
        task=task.name,
        kind=task.kind,
        metric_name=test.metric_name,
        parameters=model.count_params(),
    )
    export.write_sidecar(
        results[-1]["files"]["dynamic"],
        meta["vocab"],
        task.kind,
        meta.get("labels", task.labels),
        length,
        "dynamic",
        source=stem,
    )
    loaded[stem] = (model, task, tokenizer, length)

# %%
have = {r["kind"] for r in results}
classifier_stem = next(r["model"] for r in results if r["kind"] == "classification")
model, task, tokenizer, length = loaded[classifier_stem]
for head, extra in zip(
    ("tagging", "qa"), heads_on(model, len(POS_LABELS), length), strict=True
):
    name = "padt" if head == "tagging" else "arcd"
    if head in have or not task_available(name):
        continue
    head_task = load_task(name)
    test = task_data(
        head_task, tokenizer, length, "test", min(cfg.quant_eval_examples, 32)
    )
    stem = f"{classifier_stem}_{head}_untrained_head"
    results.append(
        study.study(
            extra,
            stem,
            test,
            out_dir,
            test.features,
            precisions=("float32", "int8"),
            threads=(1,),
            runs=cfg.latency_runs,
        )
    )
    results[-1].update(
        model=stem,
        task=head_task.name,
        kind=head,
        metric_name=test.metric_name,
        parameters=extra.count_params(),
    )

# %% [markdown]
# ## 6.4 Accuracy of every file
#
# For each file: the task metric on the test set, the **agreement** (fraction of argmax
# predictions equal to the Keras model's, over real tokens for per-token outputs), and
# the largest absolute logit difference.

# %%
evaluation = pd.DataFrame(
    [
        {**row, "task": r["task"], "kind": r["kind"], "metric_name": r["metric_name"]}
        for r in results
        for row in r["evaluation"]
    ]
)
evaluation["MiB"] = evaluation["bytes"] / 2**20
evaluation[
    [
        "model",
        "task",
        "precision",
        "metric_name",
        "metric",
        "agreement",
        "max_logit_diff",
        "MiB",
    ]
].round(4)

# %%
figure = arlm.book.figures.accuracy_against_size(evaluation, first_task)
plt.show()

# %% [markdown]
# ## 6.5 Latency on this CPU
#
# Latency per example at batch 1 (the median of `latency_runs` invocations), throughput,
# and the growth of the process's memory while the interpreter loads. The runtime hands
# every file to its default {term}`XNNPACK` delegate, whose float32 kernels are fast.
# Int8 matmuls pay off most where the processor has int8 dot-product instructions (ARM's
# `dotprod` on most current phones, VNNI on recent x86); on a CPU with AVX2 alone an
# int8 file may gain little beyond its size. This machine:

# %%
from pathlib import Path

cpu_flags = (
    Path("/proc/cpuinfo").read_text().split("flags", 1)[-1].split("\n", 1)[0].split()
    if Path("/proc/cpuinfo").exists()
    else []
)
dot_product = [
    f for f in ("avx512_vnni", "avx_vnni", "amx_int8", "asimddp") if f in cpu_flags
]
print(
    f"{os.cpu_count()} cores; int8 dot-product instructions: "
    f"{', '.join(dot_product) or 'none found'}"
)

# %%
latency = pd.DataFrame([row for r in results for row in r["latency"]])
latency[
    [
        "model",
        "precision",
        "num_threads",
        "max_seq_length",
        "latency_ms",
        "throughput",
        "memory_mib",
    ]
].round(3)

# %%
fig, ax = plt.subplots(figsize=(7, 4))
main = latency[latency.model == classifier_stem]
pivot = main.pivot(index="precision", columns="num_threads", values="latency_ms").loc[
    list(PRECISIONS)
]
pivot.plot.bar(ax=ax, rot=0)
ax.set(
    ylabel="ms per example (batch 1)",
    title=f"Latency vs. precision: {classifier_stem}, sequence {length}",
)
ax.legend(title="threads")
plt.show()

# %% [markdown]
# What the delegate does: the same files on TFLite's built-in kernels alone
# (`xnnpack=False`), one thread.

# %%
classifier_files = next(r["files"] for r in results if r["model"] == classifier_stem)
builtin = pd.DataFrame(
    measure_files(classifier_files, threads=(1,), runs=cfg.latency_runs, xnnpack=False)
)
pd.DataFrame(
    {
        "XNNPACK (default), ms": pivot[1],
        "built-in kernels, ms": builtin.set_index("precision")["latency_ms"],
    }
).round(3)

# %% [markdown]
# ### Where the time goes, op by op
#
# The interpreter has no op profiler in Python, so
# `arlm.quantization.profile.op_profile` times a split graph: it groups the file's ops
# by what they compute (op, tensor types and shapes), builds a small model of each group
# with its real weights, feeds it the activations the whole file computed, and times it
# with XNNPACK and with the built-in kernels. A group the delegate does not take is an
# op that leaves XNNPACK in the whole file too. Per op, summed over its instances (ms
# per inference, one thread; `off`: instances that run on TFLite's own kernels):

# %%
from arlm.book.prose import say
from arlm.quantization.profile import by_op, op_profile, profile_finding

profiles = {
    p: by_op(op_profile(f, num_threads=1, runs=cfg.latency_runs))
    for p, f in classifier_files.items()
}
op_table = pd.DataFrame(
    [{"precision": p, **entry} for p, entries in profiles.items() for entry in entries]
)
op_ms = op_table.pivot(index="op", columns="precision", values="ms").loc[
    :, list(classifier_files)
]
op_off = op_table.pivot(index="op", columns="precision", values="off_xnnpack").loc[
    :, list(classifier_files)
]
display(op_ms.fillna(0).sort_values("float32", ascending=False).round(3).head(10))
display(
    op_off.fillna(0)
    .astype(int)
    .loc[lambda t: t.sum(axis=1) > 0]
    .rename_axis("ops off XNNPACK")
)

# %%
say(
    profile_finding(
        profiles,
        dict(pivot[1]),
        f"{classifier_stem}, sequence {length}, 1 thread, this machine",
    )
)

# %% [markdown]
# What the profiles of these files showed at the `tiny`, `cpu` and `gpu` scales
# (`benchmarks/README.md`, `ai-edge-litert 2.3`): XNNPACK has int8 kernels for the fully
# connected layers, which hold most of the model's arithmetic, but not for a batch
# matmul of two int8 activations ($QK^\top$, $PV$), for the broadcast $-6$ mask ADD, or
# for an int8 softmax. In the full-int8 file those ops fall back to TFLite's reference
# kernels, and the graph is cut into many delegate partitions with a hand-over at each
# cut. `int8_mixed` gives those ops back their float32 XNNPACK kernels and keeps int8
# everywhere else. `benchmarks/tflite_latency.py` times the same files at any scale next
# to ONNX Runtime's int8 file (`transformers` MobileBERT quantized with
# `quantize_dynamic`), with this profile.

# %% [markdown]
# ## 6.6 Table 4, paper vs. this book
#
# Our rows use the real parameter count of each fine-tuned model and the sizes of the
# files just written.

# %%
ours = sizes.table4(
    {
        r["model"]: {
            "parameters": r["parameters"],
            "files": {p: f.stat().st_size for p, f in r["files"].items()},
        }
        for r in results
        if r["kind"] == "classification"
    }
)
pd.DataFrame(ours)

# %% [markdown]
# A float32 file can hold slightly less than 4 bytes per parameter: the converter folds
# the slice of the position table that a fixed sequence length uses, and drops the rest.
#
# At the paper's sizes (the closed-form parameter counts of `arlm.params`, which match
# Table 4), the same arithmetic gives MBERTA 91 MiB as float32 (the paper's "quantized"
# column) but about 23 MiB as int8:

# %%
paper_sizes = pd.DataFrame(sizes.table4(sizes.paper_models()))
display(paper_sizes)

# %% [markdown]
# ## 6.7 On the device: no TensorFlow
#
# `arlm.predict` loads a `.tflite` file with its sidecar (`<file>.json`: task, labels,
# sequence length) and vocabulary, tokenizes with the pure-Python `WordPieceTokenizer`,
# and runs the `ai-edge-litert` interpreter. It imports neither TensorFlow nor Keras.
# From the shell:
#
# ```bash
# arlm export runs/cpu/05_finetuning/models --name mberta_ajgt --quantize dynamic \
#     --out mberta_ajgt.tflite
# arlm predict mberta_ajgt.tflite "الخدمة ممتازة والموظفين محترمين"
# ```

# %%
from arlm.predict import predict

device_file = next(
    r["files"]["dynamic"] for r in results if r["model"] == classifier_stem
)
sentence, gold = (
    task.test.texts[0],
    task.labels[task.test.labels[0]],
)  # from the task it was trained on
print(f"{task.name} test example (gold label {gold}):")
print(sentence)
print(device_file.name, "->", predict(device_file, sentence, num_threads=1))

# %% [markdown]
# On an x86 server, ONNX Runtime's int8 kernels are the other common choice.
# `arlm export --format onnx` writes the same model as an `.onnx` file (float32, or
# `dynamic`: `onnxruntime.quantization.quantize_dynamic`, int8 weights per output
# channel), and `arlm predict` runs it with ONNX Runtime, again without TensorFlow
# (`pip install "arlm[onnx]"`):
#
# ```bash
# arlm export runs/cpu/05_finetuning/models --name mberta_ajgt --format onnx \
#     --out mberta_ajgt.onnx
# arlm predict mberta_ajgt.onnx "الخدمة ممتازة والموظفين محترمين"
# ```

# %%
import importlib.util

if all(importlib.util.find_spec(name) for name in ("onnx", "onnxruntime", "tf2onnx")):
    from arlm.quantization.evaluate import evaluate_files
    from arlm.quantization.onnx_export import export_onnx

    model, task, tokenizer, length = loaded[classifier_stem]
    onnx_file = export_onnx(
        model, ch.path("onnx", f"{classifier_stem}.dynamic.onnx"), "dynamic", length
    )
    onnx_test = task_data(task, tokenizer, length, "test", cfg.quant_eval_examples)
    onnx_rows = evaluate_files(
        model,
        {"onnx dynamic": onnx_file},
        onnx_test.features,
        onnx_test.labels,
        onnx_test.metric,
        num_threads=1,
    )
    display(pd.DataFrame(onnx_rows).drop(columns=["file"]).round(4))
    display(
        pd.DataFrame(
            measure_files(
                {"onnx dynamic": onnx_file}, threads=(1, 2), runs=cfg.latency_runs
            )
        )[["precision", "num_threads", "latency_ms", "memory_mib"]].round(3)
    )
else:
    print(
        'ONNX Runtime is not installed here: pip install "arlm[onnx]" to write and '
        "time the .onnx file"
    )

# %% [markdown]
# ## 6.8 In your browser
#
# The device every reader has is a web browser. ONNX Runtime Web is ONNX Runtime
# compiled to WebAssembly, so the int8 `.onnx` file above runs there unchanged.
# `arlm.book.demo.write_demo` puts it in a folder `demo/` with its sidecar (so
# `arlm predict demo/model.onnx TEXT` runs the same file) and a `tokenizer.json`
# (`arlm.hf_tokenizer`): the normalization of section 1.2 written as the normalizers of
# Hugging Face's `tokenizers` format, then the BERT pre-tokenizer and WordPiece. The
# page's script reads that file, so the browser cuts a text into the ids
# `WordPieceTokenizer` gives.

# %%
if all(importlib.util.find_spec(name) for name in ("onnx", "onnxruntime", "tf2onnx")):
    import itertools

    from arlm.book.demo import write_demo
    from arlm.hf_tokenizer import normalizer

    demo_dir = write_demo(
        onnx_file,
        tokenizer.vocab_path,
        chosen[classifier_stem].get("labels", task.labels),
        length,
        ch.path("demo"),
        parameters=model.count_params(),
        dataset=task.name,
        source=classifier_stem,
    )
    print(", ".join(sorted(p.name for p in demo_dir.iterdir())))
    # the normalizers of tokenizer.json, in order (runs of one kind counted)
    kinds = [step["type"] for step in normalizer()["normalizers"]]
    runs = [(kind, len(list(group))) for kind, group in itertools.groupby(kinds)]
    print(" -> ".join(kind + (f" x{n}" if n > 1 else "") for kind, n in runs))
else:
    print('the browser demo needs the .onnx file: pip install "arlm[onnx]"')

# %% [markdown]
# `arlm book` builds the box below from the `demo/` folder of the run it shows (a run
# without one gets the cpu edition's, `book/edition/cpu/demo/`, and the box says so):
# type or paste Arabic and the int8 student answers. The text, the tokenizer and the
# model stay in your browser, the page works offline from the built folder, and the box
# says how long the model took on your machine.
#
# ```{arlm-demo}
# ```

# %% [markdown]
# ## Summary
#
# - Table 4's "quantized" sizes are float32 TFLite files (4 bytes per parameter) and its
#   "fine-tuned" sizes TensorFlow checkpoints with Adam's two slots (12 bytes per
#   parameter); a real int8 file is about 1 byte per parameter.
# - Dynamic-range quantization stores large kernels as int8 with one scale per output
#   channel and computes in float; tensors under $1024$ elements stay float32.
# - Full-integer quantization also quantizes activations, so it needs a representative
#   dataset to calibrate their ranges.
# - Agreement with the Keras model (the share of identical predictions) and the largest
#   logit difference measure what quantization changed, apart from the test metric.

# %%
rows_main = evaluation[evaluation.model == classifier_stem].set_index("precision")
lat_main = latency[(latency.model == classifier_stem) & (latency.num_threads == 1)]
lat_main = lat_main.set_index("precision")["latency_ms"]
size_ratio = rows_main.loc["dynamic", "bytes"] / rows_main.loc["float32", "bytes"]
say(
    f"In this run (`{scale}`, {classifier_stem} on {first_task}): the "
    "dynamic-range "
    f"file is {size_ratio:.0%} of the float32 one, runs in "
    f"{lat_main['dynamic']:.2f} ms against {lat_main['float32']:.2f} ms on one "
    "thread, "
    f"and agrees with Keras on "
    f"{rows_main.loc['dynamic', 'agreement']:.1%} of the test examples."
)

# %% tags=["remove-input"]
arlm.book.classroom.quiz("06_quantization")

# %% [markdown]
# ## Exercises
#
# ```{exercise} Easy: bytes per parameter in Table 4
# :label: ex-6-1
# Compute from Table 4 alone how many bytes per parameter the "fine-tuned" column
# implies for AraBERT, and explain why it is not exactly 12.
# ```

# %% tags=["solution", "hide-input"]
row = paper.iloc[0]
answer = row["finetuned_size_on_disk_mb"] * 2**20 / (row["parameters_millions"] * 1e6)
exact = sizes.du_mib(sizes.checkpoint_bytes(row["parameters_millions"] * 1e6))
say(
    f"{row['model']}: {answer:.2f} bytes per parameter; 12 bytes per parameter would "
    f"be {exact:,.1f} MiB against Table 4's {row['finetuned_size_on_disk_mb']:,} MB."
)

# %% [markdown]
# ```{solution} ex-6-1
# :class: dropdown
# A checkpoint with Adam holds three float32 copies of each parameter (the weight and
# two moment slots): 12 bytes. The paper prints a rounded "1.6 GB" for AraBERT, and the
# rounding puts the implied ratio off 12 by the amount the line above gives.
# ```

# %% [markdown]
# ```{exercise} Medium: what stays float32
# :label: ex-6-2
# Dynamic-range quantization leaves tensors of under $1024$ elements in float32. For the
# classifier above, what fraction of its parameters live in tensors that small, and how
# does that explain the ratio between its float32 and dynamic file sizes?
# ```

# %% tags=["solution", "hide-input"]
model, task, tokenizer, length = loaded[classifier_stem]
weights = [w.numpy() for w in model.weights]
small = sum(w.size for w in weights if w.size < 1024)
total = sum(w.size for w in weights)
files = next(r for r in results if r["model"] == classifier_stem)["files"]
answer = {
    "float32_share": small / total,
    "size_ratio": files["dynamic"].stat().st_size / files["float32"].stat().st_size,
}
say(
    f"{answer['float32_share']:.1%} of the {total:,} parameters stay float32; the "
    f"dynamic file is {answer['size_ratio']:.2f} of the float32 one (0.25 if every "
    "byte were an int8 weight)."
)

# %% [markdown]
# ```{solution} ex-6-2
# :class: dropdown
# By construction an int8 weight takes a quarter of a float32 one. The rest of the ratio
# is the float32 share printed and the file's fixed part (the graph, op and tensor
# metadata, the int8 scales), which weighs more the smaller the model: it can be a large
# share of a `tiny` file and is a small one at the paper's sizes.
# ```

# %% [markdown]
# ```{exercise} Medium: calibrating on too little data
# :label: ex-6-3
# Calibrate the full-int8 file on 5 training examples instead of 100. What happens to
# its agreement with Keras and to the test metric?
# ```

# %% tags=["solution", "hide-input"]
from arlm.quantization.evaluate import evaluate_files

test = task_data(task, tokenizer, length, "test", cfg.quant_eval_examples)
few = task_data(task, tokenizer, length, "train", 5).features
path = export.export_tflite(
    model,
    ch.path("tflite", "few.int8.tflite"),
    "int8",
    length,
    representative_features=few,
)
calibrated = evaluate_files(
    model,
    {"5 examples": path, "100 examples (6.3)": files["int8"]},
    test.features,
    test.labels,
    test.metric,
)
answer = pd.DataFrame(calibrated).set_index("precision")[
    ["metric", "agreement", "max_logit_diff"]
]
display(answer.round(4))
say(
    "Calibrated on "
    + "; on ".join(
        f"{label}: agreement {row.agreement:.1%}, largest logit change "
        f"{row.max_logit_diff:.3f}, {test.metric_name} {row.metric:.3f}"
        for label, row in answer.drop(index="keras", errors="ignore").iterrows()
    )
    + "."
)

# %% [markdown]
# ```{solution} ex-6-3
# :class: dropdown
# The activation ranges come from the calibration examples only: with 5, some ranges can
# be too narrow, and larger activations of other inputs are then clipped, so the logits
# can move more and agreement can fall; the line above says how much in this run. With
# a model whose predictions barely depend on its input, the metric may not move at all.
# ```

# %% [markdown]
# ```{exercise} Hard: quantize only the feed-forward networks
# :label: ex-6-4
# Change the method: quantize only the FFN kernels of every block to int8 (weights
# rounded per output channel, as dynamic-range quantization does), and compare with
# quantizing every other large kernel instead, and with all of them. The converter
# cannot do this, so simulate it in Keras
# (`arlm.quantization.simulate.quantized_weights`). Which part of the model is more
# sensitive per parameter quantized?
# ```

# %% tags=["solution", "hide-input"]
from arlm.quantization import simulate
from arlm.quantization.evaluate import compare, keras_outputs

reference = keras_outputs(model, test.features)
choices = {
    "FFNs only": lambda p: "ffn_" in p,
    "all but the FFNs": lambda p: "ffn_" not in p,
    "every large kernel": lambda p: True,
}
answer = {}
for label, select in choices.items():
    with simulate.quantized_weights(model, select) as count:
        outputs = keras_outputs(model, test.features)
    score = test.metric(outputs, test.labels, test.features)
    answer[label] = {
        "parameters int8": count,
        "share": count / model.count_params(),
        test.metric_name: score,
        **compare(reference, outputs, test.features),
    }
display(pd.DataFrame(answer).T.round(4))
say(simulate.sensitivity_finding(answer))

# %% [markdown]
# ```{solution} ex-6-4
# :class: dropdown
# Three lines of selection change the method. The share column says how much of this
# model the FFNs are: at the paper's sizes the stacked FFNs of MobileBERT blocks are a
# large part of the weights, while in a small model the embeddings can weigh more.
# Rounding errors in the embeddings and attention projections reach every later block,
# so they can cost more per parameter; the line above says which part changed the logits
# most here. A real mixed-precision file (FFNs in int8, the rest in float) needs the
# converter's per-op quantization debugger, or a Keras model whose FFN layers are int8
# (Keras's `quantize("int8")` on those layers).
# ```

# %% [markdown]
# ## Results

# %%
saved = evaluation.drop(columns=["file"])
ch.write_results(
    {
        "classifier": classifier_stem,
        "task": first_task,
        "evaluation": saved.astype(object)
        .where(saved.notna(), None)
        .to_dict("records"),
        "latency": latency.drop(columns=["file"]).to_dict("records"),
        "sizes": ours,
        **study.headline(
            evaluation.to_dict("records"), latency.to_dict("records"), classifier_stem
        ),
        "paper_quantized_bytes_per_param": [
            round(r["quantized_bytes_per_param"], 3) for r in sizes.paper_rows()
        ],
        "int8_dot_product": dot_product,
        "profile_by_op": profiles,
    }
)
