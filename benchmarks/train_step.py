"""Training throughput of the paper's MBERTA shape in both precisions, arlm against PyTorch, as fractions of the
matmul peaks measured in the same run.

The pretraining step of `mberta` (24 blocks, `MobileBertPretrainer`: MLM head on the 20 masked positions + NSP,
LAMB), batch 16, sequence 128, by default:

* arlm (TensorFlow, oneDNN) in ``float32`` and ``mixed_bfloat16`` (the precision `arlm.runtime` picks on a CPU
  with bfloat16 units), XLA off; ``--xla`` adds both with XLA on (which `arlm.runtime` turns off in bfloat16 on
  a CPU: XLA's CPU compiler has no bfloat16 matmul kernels);
* PyTorch `transformers` MobileBERT (`torch_mobilebert.py`, AdamW) in float32 and with
  ``torch.autocast("cpu", dtype=torch.bfloat16)``, in its own process;
* the best float32 and bfloat16 matmul rates of TensorFlow here (2048^3 by default, at the start and the end of
  the run; fractions use the higher).

Every configuration runs once per round, rounds interleaved, so that other load on a shared machine falls on all
of them alike; rates are medians over the rounds' steps (the CPU seconds per step, less sensitive to other load,
are printed too). It prints tokens/s, arlm's GFLOP/s (matmul FLOPs in closed form, training = 3 x forward) and
fraction of the peak of its precision, the ratio to PyTorch's best mode, and the issue's two goals for arlm in
bfloat16: at least 2x PyTorch's best mode, at least 30% of the bfloat16 peak. A CPU without bfloat16 units
(`arlm.runtime.cpu_bfloat16_flags`) gets float32 only, and the script says so. ``--profile`` adds arlm's per-op
profile of one bfloat16 step (TensorFlow's profiler), grouped by where the time goes. ``--cpuinfo FILE`` reads
the CPU's flags from FILE instead of /proc/cpuinfo (what the script does on another CPU; tests use it).

    python benchmarks/train_step.py [--rounds 3] [--steps 3] [--layers 24] [--threads 2] [--xla] [--profile]

DEVELOPERS.md ("Precision") has the numbers of one run.
"""

import argparse
import collections
import dataclasses
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import arlm  # noqa: F401  (before TensorFlow: it turns on TF's oneDNN CPU kernels, as for every user)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from reference_env import torch_python  # noqa: E402

from arlm import runtime  # noqa: E402
from arlm.artifacts import cpu_model  # noqa: E402
from arlm.mobilebert import MobileBertBackbone, MobileBertPretrainer, named_config  # noqa: E402
from arlm.names import INPUT_NAMES  # noqa: E402
from arlm.optimizers import Lamb  # noqa: E402

LENGTH, PREDICTIONS = 128, 20
PEAK_SIZE = 2048


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


def matmul_peak(dtype, size=PEAK_SIZE, repeats=5, trials=5):
    """Best FLOP/s of a square `dtype` matmul with TensorFlow's kernels (oneDNN) over a few trials."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal((size, size)), dtype)
    matmul = tf.function(lambda x, y: tf.linalg.matmul(x, y))
    matmul(a, a).numpy()
    best = 0.0
    for _ in range(trials):
        start = time.perf_counter()
        for _ in range(repeats):
            out = matmul(a, a)
        out.numpy()
        best = max(best, 2 * size**3 * repeats / (time.perf_counter() - start))
    return best


def inputs(vocab_size, batch, rng):
    x = {"token_ids": rng.integers(5, vocab_size, (batch, LENGTH)).astype("int32"),
         "segment_ids": (np.arange(LENGTH) >= LENGTH // 2).astype("int32")[None].repeat(batch, 0),
         "padding_mask": np.ones((batch, LENGTH), "int32"),
         "mask_positions": np.sort(rng.choice(np.arange(1, LENGTH), (batch, PREDICTIONS)), axis=1).astype("int32")}
    y = {"masked_lm_ids": rng.integers(5, vocab_size, (batch, PREDICTIONS)).astype("int32"),
         "masked_lm_weights": np.ones((batch, PREDICTIONS), "float32"),
         "next_sentence_labels": rng.integers(0, 2, (batch,)).astype("int32")}
    return x, y


@dataclasses.dataclass
class Arm:
    """One configuration that the rounds time: its name, a function running one step, the steps' times."""

    side: str
    precision: str
    xla: str
    step: object = None
    wall: list = dataclasses.field(default_factory=list)
    cpu: list = dataclasses.field(default_factory=list)

    @property
    def name(self):
        return f"{self.side} {self.precision} XLA {self.xla}"


def arlm_step(config, policy, jit, kind, x, y):
    """A compiled arlm model of `config` in dtype `policy`; returns a function running one training step."""
    keras.utils.set_random_seed(0)
    backbone = MobileBertBackbone.from_mobilebert_config(config, dtype=policy)
    if kind == "backbone":
        model = keras.Model(backbone.input, backbone.output["sequence_output"])
        model.compile(optimizer=Lamb(1e-4, global_clipnorm=1.0), loss="mse", jit_compile=jit)
        x = {k: x[k] for k in INPUT_NAMES}
        y = np.zeros((len(x["token_ids"]), LENGTH, config.hidden_size), "float32")
    else:
        model = MobileBertPretrainer(backbone)
        model.compile(optimizer=Lamb(1e-4, global_clipnorm=1.0), jit_compile=jit)

    def step():  # Keras' own step: keras-hub's `train_on_batch` would first run a preprocessor on x
        return keras.Model.train_on_batch(model, x, y)

    step()  # traces (and compiles with XLA)
    return step


class TorchReference:
    """`torch_mobilebert.py` in its own process, kept open so its rounds interleave with arlm's."""

    def __init__(self, python, config, kind, batch, threads):
        script = Path(__file__).with_name("torch_mobilebert.py")
        command = [str(python), str(script), "--config", json.dumps(dataclasses.asdict(config)), "--kind", kind,
                   "--batch", str(batch), "--length", str(LENGTH), "--threads", str(threads)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.about = json.loads(self.process.stdout.readline())

    def run(self, mode, steps):
        self.process.stdin.write(f"{mode} {steps}\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


def profile_step(step, out_dir):
    """Seconds of op time per category of one step (TensorFlow's profiler over two steps, summed over threads)."""
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    tf.profiler.experimental.start(str(out_dir))
    for _ in range(2):
        step()
    tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    space.ParseFromString(Path(sorted(glob.glob(f"{out_dir}/**/*.xplane.pb", recursive=True))[-1]).read_bytes())
    where, ops = collections.Counter(), collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if line.name != "TensorFlow Ops" and not line.name.startswith("tf_"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" not in name or name.startswith("ExecutorState"):
                    continue
                op = name.rsplit(":", 1)[1]
                part = ("optimizer (LAMB)" if "lamb" in name.lower() else "MLM head" if "mlm_head" in name else
                        "encoder blocks" if "transformer_layer" in name else
                        "embeddings" if "embedding" in name else "losses, metrics, rest")
                kind = "matmul" if "MatMul" in op else "cast" if op == "Cast" else "other ops"
                seconds = event.duration_ps / 1e12 / 2
                where[f"{part}: {kind}"] += seconds
                ops[op] += seconds
    return where, ops


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mberta")
    parser.add_argument("--kind", choices=("pretraining", "backbone"), default="pretraining")
    parser.add_argument("--layers", type=int, default=0, help="encoder blocks (default: the preset's, 24)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per configuration and round")
    parser.add_argument("--threads", type=int, default=0, help="threads of both sides (default: all cores)")
    parser.add_argument("--xla", action="store_true", help="also time arlm with XLA on")
    parser.add_argument("--profile", action="store_true", help="per-op profile of arlm's bfloat16 step")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/arlm-bench"))
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--peak-size", type=int, default=PEAK_SIZE, help="side of the matmuls timing the peaks")
    parser.add_argument("--cpuinfo", type=Path, help="read the CPU's flags from this file (default /proc/cpuinfo)")
    args = parser.parse_args(argv)
    import tensorflow as tf

    threads = args.threads or os.cpu_count()
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    flags = runtime.cpu_bfloat16_flags(args.cpuinfo.read_text() if args.cpuinfo else None)
    precisions = ("float32", "mixed_bfloat16") if flags else ("float32",)
    config = named_config(args.preset, **({"num_layers": args.layers} if args.layers else {}))
    x, y = inputs(config.vocab_size, args.batch, np.random.default_rng(0))
    tokens = args.batch * LENGTH
    flops = 3 * args.batch * forward_flops_per_sequence(config, heads=args.kind == "pretraining")

    print(f"{os.cpu_count()} CPU cores ({cpu_model()}), {threads} thread(s) per side; bfloat16 units: "
          + (", ".join(flags) if flags else "NONE: this CPU emulates bfloat16, so only float32 is timed"))
    peaks = {p: [matmul_peak("float32" if p == "float32" else "bfloat16", args.peak_size)] for p in precisions}
    arms = []
    for policy in precisions:
        for jit in (False, True) if args.xla else (False,):
            arm = Arm("arlm", policy, "on" if jit else "off")
            arm.step = arlm_step(config, policy, jit, args.kind, x, y)
            arms.append(arm)
            print(f"built {arm.name}", flush=True)
    reference, reason = None, "skipped (--skip-reference)"
    if not args.skip_reference:
        try:
            args.workdir.mkdir(parents=True, exist_ok=True)
            reference = TorchReference(torch_python(args.workdir), config, args.kind, args.batch, threads)
            for mode in ("float32", "bfloat16") if flags else ("float32",):
                arms.append(Arm("torch", mode, "-"))
        except (subprocess.SubprocessError, OSError, ValueError) as error:
            reason = f"the torch environment could not be built or run ({type(error).__name__}: {error})"
    for round_ in range(args.rounds):
        for arm in arms:
            if arm.side == "torch":
                timed = reference.run(arm.precision, args.steps)
                arm.wall += timed["wall"]
                arm.cpu += timed["cpu"]
                continue
            arm.step()
            for _ in range(args.steps):
                start, start_cpu = time.perf_counter(), time.process_time()
                arm.step()
                arm.wall.append(time.perf_counter() - start)
                arm.cpu.append(time.process_time() - start_cpu)
        print(f"round {round_ + 1} of {args.rounds} done", flush=True)
    for policy in precisions:
        peaks[policy].append(matmul_peak("float32" if policy == "float32" else "bfloat16", args.peak_size))
    if reference:
        reference.close()

    print(f"\n{args.preset} {args.kind} step: {config.num_layers} blocks, batch {args.batch}, sequence {LENGTH}, "
          f"{PREDICTIONS} masked positions; median of {args.rounds} rounds x {args.steps} steps")
    for policy, (first, last) in peaks.items():
        print(f"{policy} matmul peak ({args.peak_size}^3): {first / 1e9:.0f} GFLOP/s at the start, {last / 1e9:.0f} at "
              "the end")
    if reference:
        print(f"PyTorch {reference.about['torch']}, transformers {reference.about['transformers']}, "
              f"{reference.about['threads']} threads")
    else:
        print(f"PyTorch reference NOT measured: {reason}")
    torch_best = max((tokens / statistics.median(a.wall) for a in arms if a.side == "torch"), default=None)
    print(f"{'':<6}{'precision':<16}{'XLA':<5}{'tokens/s':>9}{'CPU s/step':>11}{'GFLOP/s':>9}{'of peak':>8}"
          f"{'vs torch best':>14}")
    for arm in arms:
        rate = tokens / statistics.median(arm.wall)
        achieved = of_peak = ""
        if arm.side == "arlm":
            achieved = flops / statistics.median(arm.wall)
            achieved, of_peak = f"{achieved / 1e9:.0f}", f"{achieved / max(peaks[arm.precision]):.0%}"
        versus = f"{rate / torch_best:.2f}x" if torch_best else "-"
        print(f"{arm.side:<6}{arm.precision:<16}{arm.xla:<5}{rate:>9.0f}{statistics.median(arm.cpu):>11.2f}"
              f"{achieved:>9}{of_peak:>8}{versus:>14}")
    if "mixed_bfloat16" in precisions:
        bf16 = next(a for a in arms if a.side == "arlm" and a.precision == "mixed_bfloat16" and a.xla == "off")
        rate = tokens / statistics.median(bf16.wall)
        fraction = flops / statistics.median(bf16.wall) / max(peaks["mixed_bfloat16"])
        if torch_best:
            print(f"goal 1, arlm bfloat16 >= 2x PyTorch's best mode: {rate / torch_best:.2f}x "
                  f"({'met' if rate >= 2 * torch_best else 'NOT met'})")
        print(f"goal 2, arlm bfloat16 >= 30% of the bfloat16 matmul peak: {fraction:.0%} "
              f"({'met' if fraction >= 0.3 else 'NOT met'})")
        if args.profile:
            with tempfile.TemporaryDirectory(prefix="arlm-profile-") as scratch:
                where, ops = profile_step(bf16.step, scratch)
            total = sum(where.values())
            print(f"\nper-op profile of one arlm bfloat16 step (op time {total:.2f} s, summed over threads):")
            for part, seconds in where.most_common():
                print(f"  {part:<40}{seconds:>7.3f} s {seconds / total:>5.0%}")
            print("  largest op types: " + ", ".join(f"{op} {s / total:.0%}" for op, s in ops.most_common(12)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
