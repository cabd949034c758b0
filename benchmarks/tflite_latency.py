"""TFLite (and ONNX) latency, size and memory per precision, against ONNX Runtime, in one run (chapter 6, spec 6).

Goal (issue 19): the book's fastest int8 file at least as fast as ONNX Runtime's int8 file of the same shape
(ratio >= 1.0 at 1 and 2 threads) and at least 1.5x faster than its own float32 TFLite file, within 1 accuracy
point of the Keras model on classification.

The reference is built here, side by side: `transformers`' MobileBERT with the same configuration (random
weights), exported to ONNX and quantized with ``onnxruntime.quantization.quantize_dynamic``
(`onnx_mobilebert.py`, run by a python that has torch and transformers: this one, or a virtual environment
built for them under ``--workdir``). Every file is timed in a fresh process (`arlm.quantization.latency`), so
one runtime's threads and freed pages do not touch the next one's numbers. Each TFLite file is profiled op by
op (`arlm.quantization.profile`: which ops take the time and which leave XNNPACK); everything is written to
``--out`` as JSON.

The fine-tuned classifier of chapter 5 is used when it exists (``RUN_DIR/05_finetuning/models/<model>_<task>.keras``).
Otherwise a classifier of the scale's size is fine-tuned here from random initialisation (no pretraining) with a
vocabulary trained on the task's training texts, so that Keras and file accuracy can still be compared;
``--no-finetune`` times an untrained model at the preset's shape with the scale's vocabulary (``--scale full``:
the paper's MBERTA, 23.7M parameters), calibrated on random ids.

    python benchmarks/tflite_latency.py --scale cpu --model mberta --task ajgt
    python benchmarks/tflite_latency.py --scale full --no-finetune --runs 40
"""

import argparse
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from reference_env import torch_python  # noqa: E402

INT8 = ("dynamic", "int8", "int8_mixed", "onnx dynamic")  # the book's int8 files (TFLite precisions, ONNX)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--model", default="mberta", help="preset: mberta, mberta_ii, iberta, arabert_base")
    parser.add_argument("--task", default="ajgt", help="classification task of chapter 5")
    parser.add_argument("--run-dir", help="default runs/<scale>")
    parser.add_argument("--seq", type=int, default=128, help="sequence length of a fresh model (default 128)")
    parser.add_argument("--runs", type=int, help="timed invocations (default: the scale's latency_runs)")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--no-finetune", action="store_true", help="time an untrained model of the preset's shape")
    parser.add_argument("--skip-reference", action="store_true", help="no transformers/ONNX Runtime reference")
    parser.add_argument("--profile-runs", type=int, default=10, help="timed runs of each op group (default 10)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/arlm-bench"), help="the reference's venv")
    parser.add_argument("--out", type=Path, help="JSON results (default: RUN_DIR/benchmarks/tflite_latency.json)")
    return parser.parse_args(argv)


def int8_dot_product_flags():
    """The x86 CPU flags that give int8 matmuls more throughput than float32 FMA (empty on AVX2-only CPUs)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split("flags", 1)[1].split("\n", 1)[0].split()
    except (OSError, IndexError):
        return []
    return [f for f in ("avx512_vnni", "avx_vnni", "amx_int8") if f in flags]


def cpu_name():
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def fresh_classifier(name, cfg, task_name, seq, folder):
    """A classifier of preset `name` at the scale's size, fine-tuned from scratch on the task."""
    from arlm.tasks.finetune import finetune_classification, load_backbone
    from arlm.tasks.loaders import load_task
    from arlm.tokenizer import WordPieceTokenizer, train_vocabulary

    task = load_task(task_name)
    vocab = Path(folder) / "vocab.txt"
    train_vocabulary(task.train.texts, cfg.vocab_size, vocab)
    tokenizer = WordPieceTokenizer(vocab)
    backbone, _ = load_backbone(name, cfg, tokenizer.vocab_size)
    scores, model = finetune_classification(task, backbone, tokenizer, cfg, max_seq_length=seq, verbose=0)
    print(f"fine-tuned from scratch on {task_name}: Keras test accuracy {100 * scores['accuracy']:.2f}")
    return model, task, tokenizer


def untrained_classifier(name, cfg, num_labels=2):
    """An untrained classifier at preset `name`'s shape at scale `cfg`, with the scale's vocabulary."""
    from arlm import mobilebert, runtime
    from arlm.tasks.finetune import build_classifier

    config = mobilebert.config_at_scale(name, cfg)
    with runtime.scope():
        return build_classifier(mobilebert.MobileBertBackbone.from_mobilebert_config(config), num_labels)


def onnx_reference(model, seq, work, workdir):
    """``{"ort float32": path, "ort int8": path}``: transformers' MobileBERT of `model`'s shape, as ONNX files."""
    python = torch_python(workdir)
    config = json.dumps(dataclasses.asdict(model.backbone.config))
    script = Path(__file__).with_name("onnx_mobilebert.py")
    num_labels = int(model.output.shape[-1])
    result = subprocess.run([str(python), str(script), "--config", config, "--num-labels", str(num_labels),
                             "--seq", str(seq), "--out", str(work)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"the ONNX reference failed: {result.stderr.strip().splitlines()[-3:]}")
    info = json.loads(result.stdout.strip().splitlines()[-1])
    return {"ort float32": Path(info["float32"]), "ort int8": Path(info["int8"])}, info


def main(argv=None):
    args = parse_args(argv)
    from arlm import scales
    from arlm.artifacts import read_model_index
    from arlm.files import write_json
    from arlm.quantization import ONNX_PRECISIONS, PRECISIONS, export
    from arlm.quantization.evaluate import evaluate_files
    from arlm.quantization.latency import example_batch, measure_files
    from arlm.quantization.profile import by_op, op_profile
    from arlm.quantization.study import task_data

    cfg = scales.resolve(args.scale)
    runs = args.runs or cfg.latency_runs
    threads = tuple(int(t) for t in args.threads.split(","))
    work = Path(tempfile.mkdtemp(prefix="arlm-bench-"))
    run_dir = Path(args.run_dir or Path("runs") / args.scale)
    models_dir = run_dir / "05_finetuning" / "models"
    stem = f"{args.model}_{args.task}"
    meta = read_model_index(models_dir).get(stem)
    data = None
    if args.no_finetune:
        seq = args.seq
        model = untrained_classifier(args.model, cfg)
        calibration = example_batch(32, seq, vocab_size=model.backbone.config.vocab_size, seed=1)
        source = f"{args.model} at scale {args.scale}, untrained (random weights), calibrated on random ids"
    elif meta and (models_dir / f"{stem}.keras").is_file():
        from arlm.saving import load_model
        from arlm.tasks.loaders import load_task
        from arlm.tokenizer import WordPieceTokenizer

        model = load_model(models_dir / f"{stem}.keras", compile=False)
        task, tokenizer, seq = load_task(meta["task"]), WordPieceTokenizer(meta["vocab"]), int(meta["max_seq_length"])
        data = task_data(task, tokenizer, seq, "test", cfg.quant_eval_examples)
        calibration = task_data(task, tokenizer, seq, "train", 100).features
        source = f"{stem} from {models_dir} (fine-tuned in chapter 5)"
    else:
        seq = args.seq
        model, task, tokenizer = fresh_classifier(args.model, cfg, args.task, seq, work)
        data = task_data(task, tokenizer, seq, "test", cfg.quant_eval_examples)
        calibration = task_data(task, tokenizer, seq, "train", 100).features
        source = f"{args.model} at scale {args.scale}, fine-tuned here on {args.task} from random initialisation"
    print(f"model: {source}; {model.count_params():,} parameters, batch 1, sequence {seq}")
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; int8 dot-product instructions: "
          f"{', '.join(int8_dot_product_flags()) or 'none (AVX2 only)'}; load average {os.getloadavg()[0]:.2f}")

    files = export.export_all(model, work, stem, tuple(PRECISIONS), calibration, max_seq_length=seq)
    try:
        from arlm.quantization.onnx_export import export_onnx

        files.update({f"onnx {p}": export_onnx(model, work / f"{stem}.{p}.onnx", p, max_seq_length=seq)
                      for p in ONNX_PRECISIONS})
    except Exception as error:  # noqa: BLE001 (the onnx extra is optional: report and go on)
        print(f"arlm's ONNX files NOT written: {error}")
    reference, versions = {}, {}
    if not args.skip_reference:
        try:
            reference, versions = onnx_reference(model, seq, work, args.workdir)
        except (RuntimeError, subprocess.SubprocessError, OSError) as error:
            print(f"ONNX Runtime reference NOT measured: {error}")
    accuracy = {}
    if data is not None:
        rows = evaluate_files(model, files, data.features, data.labels, data.metric, num_threads=1)
        accuracy = {r["precision"]: r for r in rows}
    every = {**files, **reference}
    sizes = {name: path.stat().st_size for name, path in every.items()}
    latency = {(r["precision"], r["num_threads"]): r for r in measure_files(every, threads, runs, isolated=True)}
    tflite = {p: files[p] for p in PRECISIONS}
    builtin = {r["precision"]: r for r in measure_files(tflite, threads[:1], runs, xnnpack=False, isolated=True)}
    profiles = {p: op_profile(path, num_threads=1, runs=args.profile_runs) for p, path in tflite.items()}
    shutil.rmtree(work, ignore_errors=True)

    report(files, reference, sizes, latency, builtin, accuracy, threads, profiles)
    out = args.out or run_dir / "benchmarks" / "tflite_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, {
        "model": source, "parameters": model.count_params(), "max_seq_length": seq, "runs": runs,
        "cpu": cpu_name(), "cores": os.cpu_count(), "int8_dot_product": int8_dot_product_flags(),
        "reference_versions": versions, "sizes": sizes,
        "latency": [row for row in latency.values()],
        "builtin_kernels": list(builtin.values()),
        "accuracy": {name: {k: v for k, v in row.items() if k != "file"} for name, row in accuracy.items()},
        "profile": {p: rows for p, rows in profiles.items()},
        "profile_by_op": {p: by_op(rows) for p, rows in profiles.items()},
    })
    print(f"\nresults and the per-op profiles: {out}")
    return 0


def report(files, reference, sizes, latency, builtin, accuracy, threads, profiles):
    """Print the tables and the goal's ratios."""
    from arlm.quantization.profile import by_op

    names = [*files, *reference]
    print(f"\n{'file':<14}{'MiB':>8}" + "".join(f"{f'ms@{t}thr':>11}" for t in threads)
          + f"{'mem MiB':>9}{'accuracy':>10}{'agree':>8}")
    for name in names:
        line = f"{name:<14}{sizes[name] / 2**20:>8.2f}"
        line += "".join(f"{latency[(name, t)]['latency_ms']:>11.2f}" for t in threads)
        line += f"{latency[(name, threads[0])]['memory_mib']:>9.1f}"
        if name in accuracy:
            line += f"{100 * accuracy[name]['metric']:>10.2f}{accuracy[name]['agreement']:>8.3f}"
        print(line)
    if accuracy:
        print(f"{'keras':<14}{'':>8}" + " " * 11 * len(threads) + f"{'':>9}{100 * accuracy['keras']['metric']:>10.2f}")
    print(f"\nTFLite built-in kernels only (no XNNPACK), {threads[0]} thread: "
          + ", ".join(f"{p} {row['latency_ms']:.2f} ms" for p, row in builtin.items()))

    print("\nratios (> 1: arlm faster)")
    for t in threads:
        ms = {name: latency[(name, t)]["latency_ms"] for name in names}
        int8 = [n for n in INT8 if n in ms]
        tflite_int8 = [n for n in int8 if not n.startswith("onnx")]
        fastest = min(int8, key=ms.get)
        fastest_tflite = min(tflite_int8, key=ms.get)
        line = f"  {t} thread(s): fastest arlm int8 = {fastest} {ms[fastest]:.2f} ms; fastest TFLite int8 = "
        line += f"{fastest_tflite}; vs own float32 TFLite {ms['float32'] / ms[fastest_tflite]:.2f}x (goal >= 1.5)"
        if reference:
            line += (f"; arlm/ORT float32 {ms['ort float32'] / ms['float32']:.2f}x, TFLite int8 / ORT int8 "
                     f"{ms['ort int8'] / ms[fastest_tflite]:.2f}x, fastest arlm int8 / ORT int8 "
                     f"{ms['ort int8'] / ms[fastest]:.2f}x (goal >= 1.0)")
        print(line)
    if accuracy and "dynamic" in accuracy:
        for name in (n for n in INT8 if n in accuracy):
            change = 100 * (accuracy[name]["metric"] - accuracy["keras"]["metric"]) + 0.0  # + 0.0: no "-0.00"
            print(f"  {name} accuracy vs Keras: {change:+.2f} points (goal: within 1 point)")

    print("\nper-op profile, 1 thread (ms per inference summed over the op's instances; off: ops not on XNNPACK)")
    for precision, rows in profiles.items():
        summary = by_op(rows)
        total = sum(entry["ms"] for entry in summary)
        cells = []
        for entry in summary[:5]:
            off = f", {entry['off_xnnpack']} off" if entry["off_xnnpack"] else ""
            cells.append(f"{entry['op']} {entry['ms']:.2f} ({100 * entry['share']:.0f}%{off})")
        print(f"  {precision:<11} sum {total:6.2f} ms: " + "; ".join(cells))


if __name__ == "__main__":
    raise SystemExit(main())
