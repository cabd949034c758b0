"""How long would the cpu edition take at the current `cpu` preset, here and on a CPU without bfloat16 units?

The committed edition (`book/edition/cpu/edition.json`) records its preset, its precision and each chapter's
wall time. This script times a training step of every model the chapters train, at the edition's preset in the
edition's precision and at the current `cpu` preset (changed by ``--set``) in bfloat16 (only on a CPU with
bfloat16 units: what ``mixed_precision="auto"`` picks there) and in float32 (what it picks elsewhere, and what
a CPU without those units would run), rounds interleaved, on random inputs of the right shapes. A chapter's
estimate is its recorded time scaled by its training work (steps x seconds per step, summed over the models it
trains): an estimate, not a run of the book; chapters that train nothing keep their recorded time.

    python benchmarks/cpu_scale.py [--rounds 3] [--steps 8] [--set teacher_steps=3000 ...]

It prints the teacher's tokens and tokens/s per setting, then per chapter the edition's minutes and each
estimate. ``--shape KEY=VALUE`` changes every setting alike (the test shrinks the models with it);
``--cpuinfo FILE`` reads the CPU's flags from FILE instead of /proc/cpuinfo.
"""

import argparse
import os
import statistics
import time
from pathlib import Path

import arlm  # noqa: F401  (before TensorFlow: it turns on TF's oneDNN CPU kernels, as for every user)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TRAINING_CHAPTERS = ("02_teacher", "03_knowledge_transfer", "04_distillation", "05_finetuning")


def models(cfg, vocab_size):
    """One training step of each model the chapters train at scale `cfg`: ``{name: (make, inputs, targets)}``."""
    import keras
    import numpy as np

    from arlm import mobilebert, optimizers, runtime
    from arlm.distillation.pretraining_distiller import PretrainingDistiller
    from arlm.distillation.transfer import ProgressiveKnowledgeTransfer
    from arlm.scales import micro_batch_size

    rng = np.random.default_rng(0)
    batch, length, slots = micro_batch_size(cfg), cfg.max_seq_length, cfg.max_predictions_per_seq

    def ids(rows, columns):
        return rng.integers(5, vocab_size, (rows, columns)).astype("int32")

    def features(rows, columns):
        return {"token_ids": ids(rows, columns), "segment_ids": np.zeros((rows, columns), "int32"),
                "padding_mask": np.ones((rows, columns), "int32")}

    x = {**features(batch, length),
         "mask_positions": np.sort(rng.choice(np.arange(1, length), (batch, slots)), 1).astype("int32")}
    y = {"masked_lm_ids": ids(batch, slots), "masked_lm_weights": np.ones((batch, slots), "float32"),
         "next_sentence_labels": rng.integers(0, 2, batch).astype("int32")}
    fx = features(cfg.finetune_batch_size, cfg.finetune_max_seq_length)
    fy = rng.integers(0, 2, cfg.finetune_batch_size).astype("int32")
    jit = runtime.current().jit_compile(cfg.jit_compile)

    def pretrainer(preset):
        config = mobilebert.config_at_scale(preset, cfg, vocab_size=vocab_size)
        return mobilebert.MobileBertPretrainer(mobilebert.MobileBertBackbone.from_mobilebert_config(config))

    def compiled(model, optimizer=None, **kwargs):
        model.compile(optimizer=optimizer or optimizers.make_optimizer("lamb", 1e-3, 1000, 10), jit_compile=jit,
                      **kwargs)
        return model

    def transfer():
        kt = ProgressiveKnowledgeTransfer(pretrainer("iberta"), pretrainer("mberta"), cfg.kt_steps_per_layer)
        return compiled(kt, kt.make_optimizer(1e-3))

    def classifier(preset):
        def make():
            config = mobilebert.config_at_scale(preset, cfg, vocab_size=vocab_size)
            backbone = mobilebert.MobileBertBackbone.from_mobilebert_config(config)
            return compiled(mobilebert.MobileBertTextClassifier(backbone, num_classes=2),
                            optimizers.make_optimizer("adamw", 1e-4, 100, 10),
                            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return make

    return {"teacher": (lambda: compiled(pretrainer("iberta")), x, y),
            "scratch": (lambda: compiled(pretrainer("mberta")), x, y),
            "transfer": (transfer, x, y),
            "distill": (lambda: compiled(PretrainingDistiller(pretrainer("iberta"), pretrainer("mberta"))), x, y),
            "finetune_teacher": (classifier("iberta"), fx, fy), "finetune_student": (classifier("mberta"), fx, fy)}


def finetuning_examples(manifest_dir):
    """Training examples per fine-tuning run of the edition: ``(chapter 4's, chapter 5's)``, each a list (a task
    and seed per run; chapter 4 fine-tunes the distilled and the scratch student, chapter 5 teacher, student and
    scratch on every task, PADT and ARCD counted as classification steps)."""
    from arlm.files import read_json

    chapter4 = read_json(Path(manifest_dir) / "04_distillation" / "results.json")["finetuning"]
    chapter5 = read_json(Path(manifest_dir) / "05_finetuning" / "results.json")["finetuning"]
    return ([run["train_examples"] for run in chapter4 if run["model"] == "distilled"],
            [run["train_examples"] for key, run in chapter5.items() if key.startswith("teacher/")])


def work(cfg, seconds, examples):
    """Seconds of training per chapter at scale `cfg`, from ``seconds`` per step of each model of `models` and
    the edition's fine-tuning `examples` (`finetuning_examples`)."""
    def finetune_steps(counts):
        per_epoch = sum(min(n, cfg.finetune_max_train_examples) // cfg.finetune_batch_size for n in counts)
        return per_epoch * cfg.finetune_epochs * cfg.finetune_seeds

    transfer_steps = cfg.kt_steps_per_layer * cfg.num_layers
    chapter4, chapter5 = map(finetune_steps, examples)
    return {
        "02_teacher": 2 * cfg.teacher_steps * seconds["teacher"],  # IBERTA and its Figure 1 twin
        "03_knowledge_transfer": transfer_steps * seconds["transfer"],
        "04_distillation": cfg.distill_steps * seconds["distill"]
        + (transfer_steps + cfg.distill_steps) * seconds["scratch"]
        + 2 * chapter4 * seconds["finetune_student"],
        "05_finetuning": chapter5 * (seconds["finetune_teacher"] + 2 * seconds["finetune_student"]),
    }


def time_steps(builds, rounds, steps):
    """Median seconds per step of each built model (``steps`` steps a measurement), rounds interleaved."""
    import tensorflow as tf

    def data(x, y):
        return tf.data.Dataset.from_tensors((x, y)).repeat()

    built = {}
    for name, (make, x, y) in builds.items():
        model, dataset = make(), data(x, y)
        model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)  # trace and warm up
        built[name] = (model, dataset)
    times = {name: [] for name in built}
    for _ in range(rounds):
        for name, (model, dataset) in built.items():
            start = time.perf_counter()
            model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
            times[name].append((time.perf_counter() - start) / steps)
    return {name: statistics.median(values) for name, values in times.items()}


def settings(manifest, flags, changes, shape):
    """``{label: scale config}``: the edition's preset in its precision, then the current `cpu` preset (with
    ``changes``) in bfloat16 where ``flags`` (the CPU's bfloat16 units) allow it, and in float32."""
    from arlm.scales import resolve

    edition_precision = manifest["precision"]["policy"] == "mixed_bfloat16"
    found = {f"edition ({manifest['precision']['policy']}, as it ran)":
             resolve("cpu", **{**manifest["preset"], **shape, "mixed_precision": edition_precision})}
    if flags:
        found["current cpu preset, bfloat16"] = resolve("cpu", **{**changes, **shape, "mixed_precision": True})
    found["current cpu preset, float32"] = resolve("cpu", **{**changes, **shape, "mixed_precision": False})
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8, help="steps per measurement")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change the current cpu preset")
    parser.add_argument("--shape", action="append", default=[], metavar="KEY=VALUE",
                        help="change every setting alike (smaller models for a quick look)")
    parser.add_argument("--cpuinfo", type=Path, help="read the CPU's flags from this file (default /proc/cpuinfo)")
    args = parser.parse_args(argv)
    from arlm import runtime
    from arlm.artifacts import cpu_model
    from arlm.book import edition
    from arlm.book.runner import parse_overrides

    manifest = edition.read_manifest()
    flags = runtime.cpu_bfloat16_flags(args.cpuinfo.read_text() if args.cpuinfo else None)
    examples = finetuning_examples(edition.EDITION)
    configs = settings(manifest, flags, parse_overrides(args.set), parse_overrides(args.shape))
    builds = {}
    for label, cfg in configs.items():
        runtime.setup(cfg, verbose=False)  # the dtype policy and XLA choice of the models built now
        for name, build in models(cfg, cfg.vocab_size).items():
            builds[(label, name)] = build
    runtime.setup(next(iter(configs.values())), verbose=False)
    print(f"{cpu_model()}, {os.cpu_count()} cores; bfloat16 units: {', '.join(flags) if flags else 'none'}; "
          f"timing {len(builds)} training steps", flush=True)
    seconds = time_steps(builds, args.rounds, args.steps)
    per_step = {label: {name: s for (which, name), s in seconds.items() if which == label} for label in configs}
    base, *others = configs
    base_tokens = configs[base].teacher_steps * configs[base].batch_size * configs[base].max_seq_length
    for label, cfg in configs.items():
        tokens = cfg.teacher_steps * cfg.batch_size * cfg.max_seq_length
        rate = cfg.batch_size * cfg.max_seq_length / per_step[label]["teacher"]
        print(f"{label}: teacher tokens {tokens:,} ({tokens / base_tokens:.1f}x the edition's), "
              f"{rate:,.0f} tokens/s; s/step " + ", ".join(f"{n} {s:.3f}" for n, s in per_step[label].items()))
    base_work = work(configs[base], per_step[base], examples)
    print("\nminutes per chapter: the edition's, then estimated (its time scaled by the training work)")
    width = max(map(len, others)) + 2
    print(f"{'chapter':<24}{'edition':>9}" + "".join(f"{label:>{width}}" for label in others))
    totals = dict.fromkeys(others, 0.0)
    for chapter, record in manifest["chapters"].items():
        row = f"{chapter:<24}{record['seconds'] / 60:>9.1f}"
        for label in others:
            estimate = record["seconds"]
            if chapter in TRAINING_CHAPTERS:
                estimate *= work(configs[label], per_step[label], examples)[chapter] / base_work[chapter]
            totals[label] += estimate
            row += f"{estimate / 60:>{width}.1f}"
        print(row)
    print(f"{'total':<24}{manifest['total_seconds'] / 60:>9.1f}"
          + "".join(f"{totals[label] / 60:>{width}.1f}" for label in others))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
