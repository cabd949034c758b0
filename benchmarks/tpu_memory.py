"""XLA's per-device memory and FLOP estimate of the book's full-size train steps, without the hardware (issue 14).

For one model of the book (``--model``), this builds the full-size Keras model with abstract variables
(`keras.StatelessScope`: nothing is initialised), then lowers and compiles its JAX train step (forward,
backward, optimizer update: what ``model.fit`` runs per micro-batch) on abstract inputs
(``jax.ShapeDtypeStruct``) under data parallelism, and prints ``compiled.memory_analysis()`` per device
(arguments, outputs, temporaries, generated code, total) and ``compiled.cost_analysis()``'s FLOP count. No
batch, activation or weight array is allocated: one compile takes 10-60 s and under 3 GB of memory.

``--target`` says for what the step is compiled:

* ``cpu`` (default): this machine's CPU, with ``--devices`` simulated devices
  (``XLA_FLAGS=--xla_force_host_platform_device_count``, set here). XLA's CPU compiler has no bfloat16
  arithmetic: it converts to float32 and keeps both copies, so its estimate of a ``mixed_bfloat16`` step is
  about twice a TPU's; and it would drop JAX's rematerialisation barriers (the ``cse_barrier_expander`` pass,
  disabled here). Use it to check that a step compiles, not to size a TPU run.
* ``v2-8``, ``v3-8`` (8 TPU cores, one device each), ``v5e-1``, ``v6e-1`` (one chip): the TPU compiler itself,
  run without a TPU on a deviceless topology (``jax.experimental.topologies``). It needs ``libtpu``, the
  version that ``jax[tpu]`` pins for the installed JAX (``jax[tpu]==0.10.2``: ``libtpu==0.0.42.*``), importable
  but not necessarily installed into the project's environment:
  ``pip install --target /tmp/libtpu "libtpu==0.0.42.*"`` then ``PYTHONPATH=/tmp/libtpu``.

Models (sequence length 512 and 20 masked positions; fine-tuning 128): ``iberta`` (chapter 2, the teacher,
LAMB), ``iberta_30k`` (chapter 2, the Figure 1 twin), ``transfer`` (chapter 3, stage 2: IBERTA teacher +
MBERTA student), ``distill`` (chapter 4, stage 3), ``mberta`` (chapter 4's control: the student pretrained
from scratch) and ``finetune`` (chapter 5, MBERTA sentence classifier,
AdamW). Options: ``--per-device-batch`` (examples per device per micro-batch), ``--accumulation``
(micro-batches per update: the scale key ``gradient_accumulation_steps``), ``--remat`` (the scale key
``remat``), ``--policy`` (default ``mixed_bfloat16``, what `arlm.runtime` sets on a TPU).

``--table`` compiles every setting of the TPU appendix's table, one subprocess each, and prints it as Markdown.

    python benchmarks/tpu_memory.py --model iberta --target v3-8 --per-device-batch 16 --accumulation 2
    python benchmarks/tpu_memory.py --model iberta --devices 8 --per-device-batch 2   # CPU, 8 simulated devices
    PYTHONPATH=/tmp/libtpu python benchmarks/tpu_memory.py --table
"""

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

MODELS = ("iberta", "iberta_30k", "transfer", "distill", "mberta", "finetune")
SEQUENCE_LENGTH = {"finetune": 128}  # every other model: 512
DEFAULT_LENGTH = 512
PREDICTIONS = 20  # max_predictions_per_seq at full scale
GIB = 2 ** 30

# Per device (a TPU core on v2/v3, a chip on v5e/v6e): HBM and peak bf16 FLOP/s, Google Cloud's published figures
# (v2-8: 180 and v3-8: 420 TFLOP/s over 8 cores; v5e: 197 and v6e: 918 TFLOP/s per chip), and the deviceless
# topology the TPU compiler is run for.
HARDWARE = {
    "v2-8": {"devices": 8, "hbm_gib": 8, "peak_tflops": 22.5, "topology": "v2:2x2"},
    "v3-8": {"devices": 8, "hbm_gib": 16, "peak_tflops": 52.5, "topology": "v3:2x2"},
    "v5e-1": {"devices": 1, "hbm_gib": 16, "peak_tflops": 197.0, "topology": "v5e:1x1"},
    "v6e-1": {"devices": 1, "hbm_gib": 32, "peak_tflops": 918.0, "topology": "v6e:1x1"},
}
UTILISATION = 0.3  # assumed fraction of the peak a step reaches (H = 256 keeps matmuls small): time estimates only
LIBTPU = "libtpu==0.0.42.*"  # what jax[tpu]==0.10.2 pins

# (target, model, per-device batch, accumulation, remat): the TPU appendix's table
# the appendix's time per chapter: updates of each model at full scale (kt: 24 layers x 10K; the control runs
# stages 2 + 3's 2.24M student updates)
FULL_SCALE_UPDATES = {"iberta": 2_000_000, "iberta_30k": 2_000_000, "transfer": 240_000, "distill": 2_000_000,
                      "mberta": 2_240_000}
TABLE = [
    # IBERTA at the paper's global batch 256 on each hardware
    ("v3-8", "iberta", 32, 1, False),
    ("v3-8", "iberta", 32, 1, True),
    ("v2-8", "iberta", 32, 1, False),
    ("v2-8", "iberta", 16, 2, False),
    ("v2-8", "iberta", 32, 1, True),
    ("v5e-1", "iberta", 32, 8, False),
    ("v5e-1", "iberta", 64, 4, False),
    ("v5e-1", "iberta", 128, 2, True),
    ("v6e-1", "iberta", 128, 2, False),
    ("v6e-1", "iberta", 256, 1, True),
    # every other model of the book on the paper's v3-8 (fine-tuning: its batch 32 is 4 per core) and on v5e-1
    ("v3-8", "iberta_30k", 32, 1, False),
    ("v3-8", "transfer", 32, 1, False),
    ("v3-8", "distill", 32, 1, False),
    ("v3-8", "mberta", 32, 1, False),
    ("v3-8", "finetune", 4, 1, False),
    ("v5e-1", "iberta_30k", 32, 8, False),
    ("v5e-1", "transfer", 32, 8, False),
    ("v5e-1", "distill", 32, 8, False),
    ("v5e-1", "mberta", 32, 8, False),
    ("v5e-1", "finetune", 32, 1, False),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=MODELS, nargs="+", default=["iberta"], help="one or more models")
    parser.add_argument("--target", choices=("cpu", *HARDWARE), default="cpu", help="what to compile for")
    parser.add_argument("--devices", type=int, default=1, help="simulated CPU devices (data parallel; cpu only)")
    parser.add_argument("--per-device-batch", type=int, default=8, help="examples per device per micro-batch")
    parser.add_argument("--accumulation", type=int, default=1, help="micro-batches per optimizer update")
    parser.add_argument("--remat", action="store_true", help="recompute each encoder block in the backward pass")
    parser.add_argument("--policy", default="mixed_bfloat16", help="Keras dtype policy")
    parser.add_argument("--sizes", choices=("full", "tiny"), default="full",
                        help="tiny: the same code path at toy sizes (the CI smoke test)")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of text")
    parser.add_argument("--table", action="store_true", help="run every setting of the appendix's table")
    return parser.parse_args(argv)


def presets(sizes):
    """``{name: MobileBertConfig}`` of the models at the paper's sizes, or tiny ones of the same kind."""
    from arlm.mobilebert.config import named_config

    names = ("iberta", "iberta_30k", "mberta")
    if sizes == "full":
        return {name: named_config(name) for name in names}
    shrink = dict(vocab_size=97, num_layers=2, max_position_embeddings=64)
    return {"iberta": named_config("iberta", hidden_size=16, intra_bottleneck_size=16, intermediate_size=32,
                                 embedding_size=8, **shrink),
            "iberta_30k": named_config("iberta_30k", hidden_size=32, intra_bottleneck_size=32, intermediate_size=32,
                                     embedding_size=8, **shrink),
            "mberta": named_config("mberta", hidden_size=16, intra_bottleneck_size=8, intermediate_size=32,
                                 embedding_size=8, **shrink)}


def build_model(name, configs, remat):
    """The Keras model of ``name`` and its ``(x, y)`` batch as ``{key: (shape without batch, dtype)}``."""
    from arlm.distillation.pretraining_distiller import PretrainingDistiller
    from arlm.distillation.transfer import ProgressiveKnowledgeTransfer
    from arlm.mobilebert import MobileBertBackbone, MobileBertPretrainer, MobileBertTextClassifier
    from arlm.names import INPUT_NAMES

    def pretrainer(preset):
        backbone = MobileBertBackbone.from_mobilebert_config(configs[preset].replace(remat=remat))
        return MobileBertPretrainer(backbone, compile=False)  # abstract variables: compiled later, with values

    length = min(SEQUENCE_LENGTH.get(name, DEFAULT_LENGTH), configs["mberta"].max_position_embeddings)
    tokens = {key: ((length,), "int32") for key in INPUT_NAMES}
    x = {**tokens, "mask_positions": ((PREDICTIONS,), "int32")}
    y = {"masked_lm_ids": ((PREDICTIONS,), "int32"), "masked_lm_weights": ((PREDICTIONS,), "float32"),
         "next_sentence_labels": ((), "int32")}
    if name in ("iberta", "iberta_30k", "mberta"):
        return pretrainer(name), x, y
    if name == "transfer":  # the copy of the teacher's embeddings into the student does not change the program
        return ProgressiveKnowledgeTransfer(pretrainer("iberta"), pretrainer("mberta"), steps_per_layer=10,
                                            init_from_teacher=False), x, y
    if name == "distill":
        return PretrainingDistiller(pretrainer("iberta"), pretrainer("mberta")), x, y
    classifier = MobileBertTextClassifier(pretrainer("mberta").backbone, num_classes=2, compile=False)
    return classifier, tokens, {"labels": ((), "int32")}


def compile_model(model, name, accumulation):
    """``model.compile`` with the book's optimizer for ``name`` (its scalar variables need a real value)."""
    from arlm.optimizers import accumulation as keras_accumulation
    from arlm.optimizers import make_optimizer

    steps, warmup = 1000, 100  # the schedule's length does not change the program
    if name == "transfer":
        optimizer = model.make_optimizer(1.5e-3, gradient_accumulation_steps=keras_accumulation(accumulation))
    else:
        kind, rate = ("adamw", 3e-5) if name == "finetune" else ("lamb", 1.5e-3)
        optimizer = make_optimizer(kind, rate, steps, warmup, gradient_accumulation_steps=accumulation)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy" if name == "finetune" else None,
                  jit_compile=True)


def abstract(variables, sharding):
    import jax

    return [jax.ShapeDtypeStruct(tuple(v.shape), v.dtype, sharding=sharding) for v in variables]


def compile_train_step(model, x, y, global_batch, mesh):
    """Lower and compile ``model.train_step`` for abstract state and a batch sharded over ``mesh``'s devices.

    Call inside the `keras.StatelessScope` that built ``model``: its variables have shapes but no values.
    Returns ``(compiled, seconds)``.
    """
    import jax
    from jax.sharding import NamedSharding, PartitionSpec

    replicated, sharded = NamedSharding(mesh, PartitionSpec()), NamedSharding(mesh, PartitionSpec("batch"))
    x, y = ({key: jax.ShapeDtypeStruct((global_batch, *shape), dtype, sharding=sharded)
             for key, (shape, dtype) in part.items()} for part in (x, y))
    data = (x, y["labels"]) if set(y) == {"labels"} else (x, y)
    model._symbolic_build(data_batch=data)  # what `fit` does first: builds the optimizer and the metrics
    state = (abstract(model.trainable_variables, replicated), abstract(model.non_trainable_variables, replicated),
             abstract(model.optimizer.variables, replicated), abstract(model.metrics_variables, replicated))

    def step(state, data):
        # the new state only: the logs are a few scalars (and a metric returning its variable cannot leave a jit)
        return model.train_step(state, data)[1]

    start = time.perf_counter()
    shardings = jax.tree.map(lambda s: s.sharding, state)
    compiled = jax.jit(step, donate_argnums=0, out_shardings=shardings).lower(state, data).compile()
    return compiled, time.perf_counter() - start


def target_devices(target, count):
    """The devices to compile for: ``count`` simulated CPU devices, or a TPU's on a deviceless topology."""
    import jax

    if target == "cpu":
        return jax.devices()[:count]
    from jax.experimental import topologies

    hardware = HARDWARE[target]
    bounds = {} if hardware["devices"] > 1 else {"chips_per_host_bounds": (1, 1, 1)}
    try:
        topology = topologies.get_topology_desc(topology_name=hardware["topology"], platform="tpu", **bounds)
    except Exception as error:  # no libtpu: JAX raises RuntimeError or JaxRuntimeError with its own wording
        sys.exit(f"tpu_memory.py: error: --target {target} needs libtpu ({LIBTPU}) importable, e.g. "
                 f"`pip install --target /tmp/libtpu '{LIBTPU}'` and PYTHONPATH=/tmp/libtpu ({error})")
    return topology.devices


def measure(args, name):
    """Build, compile and analyse model ``name`` in the setting ``args``; returns sizes (bytes) and FLOPs per device."""
    import jax
    import keras

    keras.config.set_dtype_policy(args.policy)
    mesh = jax.sharding.Mesh(target_devices(args.target, args.devices), ("batch",))
    with keras.StatelessScope():  # abstract variables: shapes and dtypes, no values
        model, x, y = build_model(name, presets(args.sizes), args.remat)
    compile_model(model, name, args.accumulation)
    with keras.StatelessScope():  # the optimizer's moments and accumulators: abstract as well
        compiled, seconds = compile_train_step(model, x, y, args.per_device_batch * mesh.size, mesh)
    memory = compiled.memory_analysis()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    sizes = {"arguments": memory.argument_size_in_bytes, "outputs": memory.output_size_in_bytes,
             "aliased": memory.alias_size_in_bytes, "temps": memory.temp_size_in_bytes,
             "code": memory.generated_code_size_in_bytes}
    # donated state: the updated variables reuse their argument buffers
    total = sizes["arguments"] + sizes["outputs"] - sizes["aliased"] + sizes["temps"] + sizes["code"]
    return {"model": name, "target": args.target, "devices": mesh.size, "per_device_batch": args.per_device_batch,
            "accumulation": args.accumulation, "remat": args.remat, "policy": args.policy, **sizes, "total": total,
            "flops": float(cost.get("flops", 0.0)), "compile_seconds": seconds,
            "parameters": sum(math.prod(v.shape) for v in model.trainable_variables)}


def describe(result):
    gib = {key: result[key] / GIB for key in ("arguments", "outputs", "aliased", "temps", "code", "total")}
    return (f"{result['model']} on {result['target']}: {result['devices']} device(s) x "
            f"{result['per_device_batch']} examples, "
            f"accumulation {result['accumulation']}, remat {'on' if result['remat'] else 'off'}, {result['policy']}\n"
            f"  per device: arguments {gib['arguments']:.2f} GiB, outputs {gib['outputs']:.2f} GiB (aliased "
            f"{gib['aliased']:.2f}), temps {gib['temps']:.2f} GiB, code {gib['code'] * 1024:.1f} MiB; "
            f"total {gib['total']:.2f} GiB\n"
            f"  XLA FLOPs per device per micro-batch: {result['flops'] / 1e12:.2f} T "
            f"(compiled in {result['compile_seconds']:.0f} s; this process's peak memory so far "
            f"{result['host_peak_gib']:.1f} GiB)")


def seconds_per_update(result):
    """Estimated seconds per optimizer update: FLOPs per device / (peak x `UTILISATION`), over the micro-batches."""
    peak = HARDWARE[result["target"]]["peak_tflops"] * 1e12 if result["target"] in HARDWARE else None
    return result["flops"] * result["accumulation"] / (peak * UTILISATION) if peak else None


def table(models=MODELS):
    """Compile every row of `TABLE` (of ``models``) in its own process and print the appendix's Markdown table."""
    print("| hardware | model | per-device batch x accumulation | remat | global batch | estimate per device "
          "(GiB) | fits | TFLOP per update per device | est. time per update | est. full run | compile s, GiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for target, model, batch, accumulation, remat in TABLE:
        if model not in models:
            continue
        command = [sys.executable, __file__, "--json", "--model", model, "--target", target, "--per-device-batch",
                   str(batch), "--accumulation", str(accumulation), *(["--remat"] if remat else [])]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            reason = done.stderr.strip().splitlines()[-1][:80] if done.stderr.strip() else f"exit {done.returncode}"
            print(f"| {target} | {model} | {batch} x {accumulation} | {'on' if remat else 'off'} | | compile failed: "
                  f"{reason} | | | | | |", flush=True)
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        hardware = HARDWARE[target]
        global_batch = batch * hardware["devices"] * accumulation
        fits = "yes" if result["total"] <= hardware["hbm_gib"] * GIB else "no"
        seconds = seconds_per_update(result)
        updates = FULL_SCALE_UPDATES.get(model)
        run = f"{seconds * updates / 86400:.1f} days" if updates else "per task: steps x time"
        print(f"| {target} | {model} | {batch} x {accumulation} | {'on' if remat else 'off'} | {global_batch} | "
              f"{result['total'] / GIB:.2f} of {hardware['hbm_gib']} | {fits} | "
              f"{result['flops'] * accumulation / 1e12:.1f} | {seconds:.3g} s | {run} | "
              f"{result['compile_seconds']:.0f}, {result['host_peak_gib']:.1f} |", flush=True)
    print(f"\nTimes are estimates: XLA's FLOP count / ({UTILISATION:.0%} of the bf16 peak per device).")
    return 0


def main(argv=None):
    args = parse_args(argv)
    if args.table:  # --model narrows the table to those models' rows when given
        return table(args.model if "--model" in (argv if argv is not None else sys.argv[1:]) else MODELS)
    os.environ["KERAS_BACKEND"] = "jax"
    os.environ["JAX_PLATFORMS"] = "cpu"  # TPU targets compile through libtpu without initialising a TPU
    flags = f"--xla_force_host_platform_device_count={args.devices}"
    if args.target == "cpu":
        # the CPU compiler expands JAX's optimization barriers before CSE, which merges the recomputation of a
        # rematerialised block back into the forward pass (measured: remat then saves nothing); the TPU compiler
        # runs the same pass late, where it must stay
        flags += " --xla_disable_hlo_passes=cse_barrier_expander"
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in args.model:
        result = measure(args, name)
        result["host_peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20  # KiB on Linux
        print(json.dumps(result) if args.json else describe(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
