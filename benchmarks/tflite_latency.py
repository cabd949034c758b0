"""TFLite latency and size per precision, measured side by side in one run (chapter 6, spec section 6).

Goal at ``cpu`` scale: dynamic-range int8 at least 2x faster than the float32 file, and within 1 accuracy
point of the Keras model on classification. Both files run with the XNNPACK delegate that the runtime applies by
default; a second table times TFLite's built-in kernels alone, and the script lists the CPU's int8 dot-product
instructions (VNNI, AMX), without which XNNPACK's int8 kernels have little edge over its float32 ones.

The fine-tuned classifier of chapter 5 is used when it exists
(``RUN_DIR/05_finetuning/models/<model>_<task>.keras``). Otherwise a classifier of the scale's size is
fine-tuned here from random initialisation (no pretraining) with a vocabulary trained on the task's training
texts, so Keras and TFLite accuracy can still be compared (``--no-finetune``: time an untrained model).

    python benchmarks/tflite_latency.py --scale cpu --model mberta --task ajgt
"""

import argparse
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--model", default="mberta", help="preset: mberta, mberta_ii, iberta, arabert_base")
    parser.add_argument("--task", default="ajgt", help="classification task of chapter 5")
    parser.add_argument("--run-dir", help="default runs/<scale>")
    parser.add_argument("--seq", type=int, default=128, help="sequence length of a fresh model (default 128)")
    parser.add_argument("--runs", type=int, help="timed invocations (default: the scale's latency_runs)")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--no-finetune", action="store_true", help="without chapter 5's model: time an untrained one")
    return parser.parse_args(argv)


def int8_dot_product_flags():
    """The x86 CPU flags that give int8 matmuls more throughput than float32 FMA (empty on AVX2-only CPUs)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split("flags", 1)[1].split("\n", 1)[0].split()
    except (OSError, IndexError):
        return []
    return [f for f in ("avx512_vnni", "avx_vnni", "amx_int8") if f in flags]


def fresh_classifier(name, cfg, task_name, seq, finetune, folder):
    """A classifier of preset `name` at the scale's size: fine-tuned from scratch on the task, or untrained."""
    from arlm.tasks.finetune import finetune_classification, load_backbone
    from arlm.tasks.loaders import load_task
    from arlm.tokenizer import WordPieceTokenizer, train_vocabulary

    task = load_task(task_name)
    vocab = Path(folder) / "vocab.txt"
    train_vocabulary(task.train.texts, cfg.vocab_size, vocab)
    tokenizer = WordPieceTokenizer(vocab)
    backbone, _ = load_backbone(name, cfg, tokenizer.vocab_size)
    if not finetune:
        from arlm.tasks.finetune import build_classifier

        return build_classifier(backbone, len(task.labels)), task, tokenizer
    scores, model = finetune_classification(task, backbone, tokenizer, cfg, max_seq_length=seq, verbose=0)
    print(f"fine-tuned from scratch on {task_name}: Keras test accuracy {100 * scores['accuracy']:.2f}")
    return model, task, tokenizer


def main(argv=None):
    args = parse_args(argv)
    import numpy as np

    from arlm import scales
    from arlm.artifacts import read_model_index
    from arlm.quantization import PRECISIONS, export
    from arlm.quantization.evaluate import evaluate_files
    from arlm.quantization.latency import measure_files
    from arlm.quantization.study import task_data

    cfg = scales.resolve(args.scale)
    runs = args.runs or cfg.latency_runs
    threads = tuple(int(t) for t in args.threads.split(","))
    work = tempfile.mkdtemp(prefix="arlm-bench-")
    models_dir = Path(args.run_dir or Path("runs") / args.scale) / "05_finetuning" / "models"
    stem = f"{args.model}_{args.task}"
    meta = read_model_index(models_dir).get(stem)
    data = calibration = None
    if meta and (models_dir / f"{stem}.keras").is_file():
        from arlm.io import load_model
        from arlm.tasks.loaders import load_task
        from arlm.tokenizer import WordPieceTokenizer

        model = load_model(models_dir / f"{stem}.keras", compile=False)
        task, tokenizer, seq = load_task(meta["task"]), WordPieceTokenizer(meta["vocab"]), int(meta["max_seq_length"])
        data = task_data(task, tokenizer, seq, "test", cfg.quant_eval_examples)
        calibration = task_data(task, tokenizer, seq, "train", 100).features
        print(f"model: {stem} from {models_dir} (fine-tuned), {model.count_params():,} parameters, sequence {seq}")
    else:
        seq = args.seq
        model, task, tokenizer = fresh_classifier(args.model, cfg, args.task, seq, not args.no_finetune, work)
        state = "untrained" if args.no_finetune else "fine-tuned here from random initialisation"
        print(
            f"model: {args.model} at scale {args.scale} ({state}), {model.count_params():,} parameters, sequence {seq}"
        )
        if not args.no_finetune:
            data = task_data(task, tokenizer, seq, "test", cfg.quant_eval_examples)
        calibration = task_data(task, tokenizer, seq, "train", 100).features

    files = export.export_all(model, work, stem, tuple(PRECISIONS), calibration, max_seq_length=seq)
    sizes = {p: f.stat().st_size for p, f in files.items()}
    accuracy = {}
    if data is not None:
        rows = evaluate_files(model, files, data.features, data.labels, data.metric)
        accuracy = {r["precision"]: (r["metric"], r["agreement"]) for r in rows}
    latency = {(r["precision"], r["num_threads"]): r for r in measure_files(files, threads, runs)}
    builtin = {r["precision"]: r for r in measure_files(files, threads[:1], runs, xnnpack=False)}
    shutil.rmtree(work, ignore_errors=True)

    print(
        f"\n{'precision':<10}{'MiB':>9}{'size/f32':>10}"
        + "".join(f"{f'ms@{t}thr':>11}{'x f32':>7}" for t in threads)
        + f"{'mem MiB':>9}{'accuracy':>10}{'agree':>8}"
    )
    for p in files:
        line = f"{p:<10}{sizes[p] / 2**20:>9.2f}{sizes[p] / sizes['float32']:>10.2f}"
        for t in threads:
            ms = latency[(p, t)]["latency_ms"]
            line += f"{ms:>11.3f}{latency[('float32', t)]['latency_ms'] / ms:>7.2f}"
        line += f"{latency[(p, threads[0])]['memory_mib']:>9.1f}"
        if accuracy:
            line += f"{100 * accuracy[p][0]:>10.2f}{accuracy[p][1]:>8.3f}"
        print(line)
    if accuracy:
        print(f"{'keras':<10}{'':>9}{'':>10}" + " " * 18 * len(threads) + f"{'':>9}{100 * accuracy['keras'][0]:>10.2f}")
    float32_ms = latency[("float32", threads[0])]["latency_ms"]
    print(f"\nTFLite's built-in kernels only (no XNNPACK delegate), {threads[0]} thread, x = vs float32 with XNNPACK:")
    print("  ".join(f"{p} {builtin[p]['latency_ms']:.3f} ms ({float32_ms / builtin[p]['latency_ms']:.2f}x)"
                    for p in files))
    print(f"int8 dot-product instructions on this CPU: {', '.join(int8_dot_product_flags()) or 'none'}")
    speedup = float32_ms / latency[("dynamic", threads[0])]["latency_ms"]
    print(
        f"\ndynamic int8 vs float32 TFLite: {speedup:.2f}x faster ({threads[0]} thread), "
        f"{sizes['dynamic'] / sizes['float32']:.2f}x the size (goal: >= 2x faster)"
    )
    if accuracy:
        change = 100 * (accuracy["dynamic"][0] - accuracy["keras"][0]) + 0.0  # + 0.0: no "-0.00"
        print(f"dynamic int8 accuracy vs Keras: {change:+.2f} points (goal: within 1 point)")
    return 0 if np.isfinite(speedup) else 1


if __name__ == "__main__":
    raise SystemExit(main())
