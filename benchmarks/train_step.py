"""Training throughput of the paper's shapes on this machine: tokens/s and FLOP/s against a measured matmul peak.

For the `mberta` and `iberta` presets at sequence length 128, batch 8 (full size, 24 layers), it times

* a backbone training step (forward, backward, LAMB update; loss on the sequence output), and
* the full pretraining step (`MobileBertPretrainer`: MLM head on 20 masked positions + NSP, LAMB),

with and without XLA (``jit_compile``), and prints tokens/s, the achieved FLOP/s (matmul FLOPs counted in
closed form, training = 3 x forward) and its fraction of a float32 matmul peak measured here. Times are
medians over the timed steps.

The reference, PyTorch `transformers` MobileBERT at the mberta shape with AdamW (`torch_mobilebert.py`), runs
side by side in its own virtual environment, which this script builds with PyPI under ``--workdir`` the first
time (torch is large: several GB with its CUDA libraries); ``--skip-reference`` leaves it out. The issue's
numbers on a 2-core machine of this kind: about 830 tokens/s (backbone step) and 475 tokens/s (full pretraining
step; `transformers` computes the MLM logits at every position, the official code only at the masked ones).

    python benchmarks/train_step.py [--steps 10] [--presets mberta iberta] [--skip-reference]
"""

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

import arlm  # noqa: F401  (before TensorFlow: it turns on TF's oneDNN CPU kernels, as for every user)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from reference_env import torch_python  # noqa: E402

from arlm.mobilebert import MobileBertBackbone, MobileBertPretrainer, named_config  # noqa: E402
from arlm.names import INPUT_NAMES  # noqa: E402
from arlm.optimizers import Lamb  # noqa: E402

ISSUE_TOKENS_PER_S = {"backbone": 830.0, "pretraining": 475.0}  # PyTorch transformers, mberta, 2 cores
BATCH, LENGTH, PREDICTIONS = 8, 128, 20


def forward_flops_per_sequence(config, heads):
    """Matmul FLOPs (2 per multiply-add) of one forward pass of one sequence."""
    c, t = config, LENGTH
    h, f, n = c.hidden_size, c.intermediate_size, c.num_feedforward_networks
    e = c.embedding_size or h
    b = c.intra_bottleneck_size or h
    per_token = 2 * (3 if c.trigram_input else 1) * e * h
    q_in, v_in = (b, h) if c.key_query_shared_bottleneck else (h, h)
    block = 2 * (h * b + (h * b if c.key_query_shared_bottleneck else 0) + 2 * q_in * b + v_in * b + b * b
                 + n * 2 * b * f + b * h)
    attention = 2 * 2 * t * b  # QK^T and PV, per token
    total = t * (per_token + c.num_layers * (block + attention))
    if heads:
        total += PREDICTIONS * 2 * (h * h + h * c.vocab_size) + 2 * h * 2
    return total


def matmul_peak(size=1024, repeats=10, trials=5):
    """Best float32 FLOP/s of a square matmul on this machine over a few trials (the backend's own kernel)."""
    a = keras.random.normal((size, size))
    matmul = keras.ops.matmul
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        matmul = tf.function(lambda x, y: tf.linalg.matmul(x, y))
    keras.ops.convert_to_numpy(matmul(a, a))
    best = 0.0
    for _ in range(trials):
        start = time.perf_counter()
        for _ in range(repeats):
            out = matmul(a, a)
        keras.ops.convert_to_numpy(out)
        best = max(best, 2 * size**3 * repeats / (time.perf_counter() - start))
    return best


def inputs(vocab_size, rng):
    x = {"token_ids": rng.integers(5, vocab_size, (BATCH, LENGTH)).astype("int32"),
         "segment_ids": (np.arange(LENGTH) >= LENGTH // 2).astype("int32")[None].repeat(BATCH, 0),
         "padding_mask": np.ones((BATCH, LENGTH), "int32"),
         "mask_positions": np.sort(rng.choice(np.arange(1, LENGTH), (BATCH, PREDICTIONS)), axis=1).astype("int32")}
    y = {"masked_lm_ids": rng.integers(5, vocab_size, (BATCH, PREDICTIONS)).astype("int32"),
         "masked_lm_weights": np.ones((BATCH, PREDICTIONS), "float32"),
         "next_sentence_labels": rng.integers(0, 2, (BATCH,)).astype("int32")}
    return x, y


def time_steps(model, x, y, steps):
    """Median seconds of one `train_on_batch` after a first one that traces and compiles."""
    model.train_on_batch(x, y)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(preset, kind, jit, steps, rng):
    config = named_config(preset)
    keras.utils.set_random_seed(0)
    backbone = MobileBertBackbone.from_config_name(preset)
    x, y = inputs(config.vocab_size, rng)
    if kind == "backbone":
        model = keras.Model(backbone.input, backbone.output["sequence_output"])
        model.compile(optimizer=Lamb(1e-4, global_clipnorm=1.0), loss="mse", jit_compile=jit)
        x = {k: x[k] for k in INPUT_NAMES}
        y = np.zeros((BATCH, LENGTH, config.hidden_size), "float32")
    else:
        model = MobileBertPretrainer(backbone)
        model.compile(optimizer=Lamb(1e-4, global_clipnorm=1.0), jit_compile=jit)
    seconds = time_steps(model, x, y, steps)
    flops = 3 * BATCH * forward_flops_per_sequence(config, heads=kind == "pretraining")
    return BATCH * LENGTH / seconds, flops / seconds


def torch_reference(python, kind, steps):
    """tokens/s of PyTorch transformers' MobileBERT at the mberta shape, run by `python` in its own process."""
    config = json.dumps(dataclasses.asdict(named_config("mberta")))
    script = Path(__file__).with_name("torch_mobilebert.py")
    out = subprocess.run([str(python), str(script), "--config", config, "--kind", kind, "--steps", str(steps),
                          "--batch", str(BATCH), "--length", str(LENGTH)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--presets", nargs="+", default=["mberta", "iberta"])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/arlm-bench"))
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    kinds = ("backbone", "pretraining")
    reference, reason = {}, "skipped (--skip-reference)"
    if not args.skip_reference:
        try:
            args.workdir.mkdir(parents=True, exist_ok=True)
            python = torch_python(args.workdir)
            reference = {kind: torch_reference(python, kind, args.steps) for kind in kinds}
        except (subprocess.SubprocessError, OSError) as error:
            reason = f"the torch environment could not be built or run ({type(error).__name__}: {error})"
    peak = matmul_peak()
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset, TensorFlow's default")
    print(f"backend {keras.backend.backend()} (TF_ENABLE_ONEDNN_OPTS={onednn}), {os.cpu_count()} CPU cores; "
          f"float32 matmul peak {peak / 1e9:.1f} GFLOP/s")
    print(f"batch {BATCH}, sequence {LENGTH}, {PREDICTIONS} masked positions, median of {args.steps} timed steps")
    for kind, row in reference.items():
        print(f"PyTorch {row['torch']} transformers {row['transformers']} mberta {kind} (AdamW, {row['threads']} "
              f"threads), measured here: {row['tokens_per_s']:.0f} tokens/s")
    if not reference:
        print(f"PyTorch reference NOT measured: {reason}")
    print(f"{'preset':<8}{'step':<13}{'XLA':<6}{'tokens/s':>10}{'GFLOP/s':>10}{'of peak':>9}"
          f"{'vs torch here':>15}{'vs issue ref':>14}")
    for preset in args.presets:
        for kind in kinds:
            for jit in (False, True):
                tokens, flops = measure(preset, kind, jit, args.steps, rng)
                here = issue = ""
                if preset == "mberta":
                    issue = f"{tokens / ISSUE_TOKENS_PER_S[kind]:.2f}x"
                    here = f"{tokens / reference[kind]['tokens_per_s']:.2f}x" if reference else "-"
                print(f"{preset:<8}{kind:<13}{'on' if jit else 'off':<6}{tokens:>10.0f}{flops / 1e9:>10.1f}"
                      f"{flops / peak:>9.0%}{here:>15}{issue:>14}", flush=True)
    final_peak = matmul_peak()  # other processes can depress the first measurement: report both
    print(f"float32 matmul peak measured again after the runs: {final_peak / 1e9:.1f} GFLOP/s "
          f"(fractions above use the first, {peak / 1e9:.1f})")


if __name__ == "__main__":
    main()
