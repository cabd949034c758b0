"""Latency, throughput and memory of a TFLite or ONNX file on this CPU (no TensorFlow needed).

* latency: median wall time of one invocation on a batch (batch 1, sequence 128 is the paper's setting
  for a phone answering one request), in milliseconds per example;
* throughput: examples per second over back-to-back invocations;
* memory: growth of the process's resident set while the interpreter loads, allocates and runs once.

>>> measure("mberta_ajgt.dynamic.tflite", num_threads=1, runs=20)
{'latency_ms': 4.1, 'throughput': 240.0, 'memory_mib': 7.5, ...}
"""

import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from arlm.names import INPUT_NAMES


def example_batch(batch_size, max_seq_length, vocab_size=100, seed=0):
    """A full-length batch of random ids (every position real), for timing only."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocab_size, (batch_size, max_seq_length), dtype=np.int32)
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}


def resident_mib():
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def measure(path, num_threads=1, runs=10, warmup=2, features=None, xnnpack=True):
    """Time `runs` invocations of the file after `warmup` ones; returns a dict of numbers.

    ``xnnpack=False``: TFLite's built-in kernels only, without the XNNPACK delegate the runtime applies by default
    (an ``.onnx`` file runs with ONNX Runtime and ignores it).
    """
    from arlm.quantization.interpreter import open_model

    gc.collect()
    before = resident_mib()
    model = open_model(path, num_threads=num_threads, xnnpack=xnnpack)
    if features is None:
        features = example_batch(model.batch_size, model.max_seq_length)
    batch = {name: np.asarray(features[name][: model.batch_size], dtype=np.int32) for name in INPUT_NAMES}
    model.run_batch(batch)
    memory = resident_mib() - before
    for _ in range(warmup):
        model.run_batch(batch)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        model.run_batch(batch)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {
        "file": str(path),
        "num_threads": num_threads,
        "xnnpack": xnnpack,
        "batch_size": model.batch_size,
        "max_seq_length": model.max_seq_length,
        "runs": runs,
        "latency_ms": 1000 * median / model.batch_size,
        "throughput": model.batch_size * len(times) / sum(times),
        "memory_mib": max(memory, 0.0),
    }


def measure_files(files, threads=(1, 2), runs=10, warmup=2, xnnpack=True, isolated=False):
    """`measure` for each ``{precision: path}`` and each thread count; a list of rows with ``precision``.

    ``isolated=True`` measures each file in a fresh Python process (`measure_isolated`): its memory is then
    not lowered by pages an earlier file freed, and no other runtime's threads share the process.
    """
    from arlm.quantization.interpreter import open_model

    if isolated:
        return [{"precision": precision, **row} for precision, path in files.items()
                for row in measure_isolated(path, threads, runs, warmup, xnnpack)]
    if files:  # load the runtime once first, so its own memory is not charged to the first file
        first = open_model(next(iter(files.values())), num_threads=1)
        first.run_batch(example_batch(first.batch_size, first.max_seq_length))
        del first
    return [
        {"precision": precision, **measure(path, n, runs, warmup, xnnpack=xnnpack)}
        for precision, path in files.items()
        for n in threads
    ]


def measure_isolated(path, threads=(1, 2), runs=10, warmup=2, xnnpack=True, python=None):
    """`measure` of one file at each thread count in a fresh process (``python -m arlm.quantization.latency``).

    Args:
        path (str | Path): a ``.tflite`` or ``.onnx`` file.
        threads (tuple[int]): thread counts; memory is that of the first.
        runs (int): timed invocations per thread count.
        warmup (int): untimed invocations before them.
        xnnpack (bool): TFLite only: False runs the built-in kernels.
        python (str | None): the interpreter to use (default: this one).
    """
    command = [python or sys.executable, "-m", "arlm.quantization.latency", str(path),
               "--threads", ",".join(str(n) for n in threads), "--runs", str(runs), "--warmup", str(warmup)]
    if not xnnpack:
        command.append("--no-xnnpack")
    root = str(Path(__file__).resolve().parents[2])  # this arlm, also when it is a checkout, not an installed one
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"measuring {path} failed: {result.stderr.strip().splitlines()[-1:]}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def main(argv=None):
    """``python -m arlm.quantization.latency FILE [--threads 1,2] [--runs N]``: one JSON row per thread count."""
    import argparse

    parser = argparse.ArgumentParser(description="latency and memory of one .tflite/.onnx file, JSON rows")
    parser.add_argument("file")
    parser.add_argument("--threads", default="1")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--no-xnnpack", action="store_true")
    args = parser.parse_args(argv)
    # the runtime's own library is loaded before the first measurement: memory is the model's, not the library's
    if Path(args.file).suffix == ".onnx":
        import onnxruntime  # noqa: F401
    else:
        import ai_edge_litert.interpreter  # noqa: F401
    for n in (int(t) for t in args.threads.split(",")):
        row = measure(args.file, n, args.runs, args.warmup, xnnpack=not args.no_xnnpack)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
