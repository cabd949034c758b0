"""Latency, throughput and memory of a TFLite file on this CPU (no TensorFlow needed).

* latency: median wall time of one invocation on a batch (batch 1, sequence 128 is the paper's setting
  for a phone answering one request), in milliseconds per example;
* throughput: examples per second over back-to-back invocations;
* memory: growth of the process's resident set while the interpreter loads, allocates and runs once.

>>> measure("mberta_ajgt.dynamic.tflite", num_threads=1, runs=20)
{'latency_ms': 4.1, 'throughput': 240.0, 'memory_mib': 7.5, ...}
"""

import gc
import statistics
import time

import numpy as np

from arlm.quantization import INPUT_NAMES


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

    ``xnnpack=False``: TFLite's built-in kernels only, without the XNNPACK delegate the runtime applies by default.
    """
    from arlm.quantization.interpreter import TFLiteModel

    gc.collect()
    before = resident_mib()
    model = TFLiteModel(path, num_threads=num_threads, xnnpack=xnnpack)
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


def measure_files(files, threads=(1, 2), runs=10, warmup=2, xnnpack=True):
    """`measure` for each ``{precision: path}`` and each thread count; a list of rows with ``precision``."""
    from arlm.quantization.interpreter import TFLiteModel

    if files:  # load the runtime once first, so its own memory is not charged to the first file
        first = TFLiteModel(next(iter(files.values())), num_threads=1)
        first.run_batch(example_batch(first.batch_size, first.max_seq_length))
        del first
    return [
        {"precision": precision, **measure(path, n, runs, warmup, xnnpack=xnnpack)}
        for precision, path in files.items()
        for n in threads
    ]
