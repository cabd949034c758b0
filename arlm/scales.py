"""Scale presets: one place that says how big every step of the book is.

* ``tiny``: minutes on 2 CPU cores, for CI and a first read.
* ``cpu``: the whole book in about three hours on a 2-core laptop with bfloat16 units (the cpu edition, 178 minutes
  on a 2-core AMD EPYC; about 250 estimated in float32); pretraining visibly helps.
* ``gpu``: one GPU, a few hours.
* ``full``: the paper's settings (TPU v3-8; spec sections 3 and 4).

``batch_size`` and ``finetune_batch_size`` are the global batch of one optimizer update. Where it does not fit
the hardware, ``gradient_accumulation_steps`` (``finetune_gradient_accumulation_steps``) splits it into that
many micro-batches (`micro_batch_size`) and ``remat`` recomputes activations instead of keeping them; neither
changes what is computed (the appendix on TPUs has the settings per TPU).

Every chapter reads its sizes from ``resolve(scale, **overrides)``; an unknown scale or key is an error
that lists the valid ones.

>>> cfg = resolve("tiny", teacher_steps=50)
>>> cfg.teacher_steps, cfg.name
(50, 'tiny')
"""

import dataclasses
import json
import math

from arlm.errors import ParameterError

# The paper's fine-tuning and the full evaluation sets (chapters 5 and 6), shared by `gpu` and `full`.
PAPER_FINETUNING = {
    "finetune_epochs": 5,
    "finetune_batch_size": 32,
    "finetune_max_train_examples": 0,  # 0: all
    "finetune_max_eval_examples": 0,
    "finetune_max_seq_length": 128,
    "qa_max_seq_length": 384,
    "qa_doc_stride": 128,
    "finetune_learning_rate": 3e-5,
    "pos_learning_rate": 2e-3,
    "finetune_models": "teacher,student,scratch",
    "finetune_seeds": 3,
    "finetune_gradient_accumulation_steps": 1,
    "quant_eval_examples": 0,
}
# Keys, grouped by the chapter that reads them. Values must keep the type of the `tiny` value (except
# `mixed_precision`: one of `arlm.runtime.PRECISION_CHOICES`).
SCALES = {
    "tiny": {
        # runtime
        "seed": 12345,
        # "auto": mixed_bfloat16 on an accelerator and on a CPU with bfloat16 units, else float32
        # (`arlm.runtime.plan`); True / False force either way. tiny stays float32 on every machine, so CI's
        # numbers do not depend on the CPU (tests force bfloat16 where they check it)
        "mixed_precision": False,
        "jit_compile": False,
        # runs shorter than this run eagerly: tracing a train step costs more than a few dozen tiny steps (0: never)
        "eager_below_steps": 100,
        # memory (chapters 2-5; benchmarks/tpu_memory.py sizes them for a TPU): micro-batches per optimizer
        # update, so `batch_size` (the global batch of one update) arrives as `batch_size / N` per step, the
        # schedule and step counts still counting updates; and recomputing each encoder block's activations in
        # the backward pass (same outputs and gradients, ~1/3 more compute per step)
        "gradient_accumulation_steps": 1,
        "remat": False,
        # chapter 1: corpus, vocabulary, pretraining data
        "corpus_max_words": 300_000,
        "vocab_size": 2000,  # the paper's 50K vocabulary at this scale
        "vocab_size_small": 1200,  # the paper's 30K vocabulary (Figure 1)
        "max_seq_length": 64,
        "max_predictions_per_seq": 10,
        "masked_lm_prob": 0.15,
        "dupe_factor": 1,
        "short_seq_prob": 0.1,
        # chapter 2: model sizes (proportions of the paper's presets kept) and teacher pretraining
        "num_layers": 2,
        "hidden_size": 64,
        "batch_size": 16,
        "teacher_steps": 30,
        "teacher_learning_rate": 1.5e-3,
        "warmup_steps": 3,
        "checkpoint_every": 10,
        "figure1_checkpoints": 3,
        "figure1_width_ratio": 1.0,  # the 30K twin's width over IBERTA's (the paper: 2)
        # chapter 3: progressive knowledge transfer
        "kt_steps_per_layer": 10,
        "kt_learning_rate": 1.5e-3,
        # chapter 4: pretraining distillation (and the from-scratch control)
        "distill_steps": 30,
        "distill_learning_rate": 1.5e-3,
        # chapter 5: fine-tuning
        "finetune_epochs": 1,
        "finetune_batch_size": 16,
        "finetune_max_train_examples": 256,
        "finetune_max_eval_examples": 128,
        "finetune_max_seq_length": 64,
        "qa_max_seq_length": 128,
        "qa_doc_stride": 64,
        "finetune_learning_rate": 3e-5,
        "pos_learning_rate": 2e-3,
        "finetune_models": "student",  # run models fine-tuned for Table 3 (arlm.tasks.experiments.RUN_MODELS)
        # fine-tuning runs per model and task (chapters 4 and 5), seeds `seed`, `seed + 1`, ...: they change the
        # head's initialisation, dropout and batch order, not the examples; scores are reported as mean +- sd
        "finetune_seeds": 2,
        "finetune_gradient_accumulation_steps": 1,  # micro-batches per update of `finetune_batch_size`
        # chapter 6: quantization
        "quant_eval_examples": 64,
        "latency_runs": 5,
        "quant_max_classifiers": 1,  # chapter 6: classifiers of the first task to export (0: all)
    },
    "cpu": {
        "seed": 12345,
        # bfloat16 on a CPU with bfloat16 units (benchmarks/cpu_scale.py times the choice against float32)
        "mixed_precision": "auto",
        "jit_compile": True,
        "eager_below_steps": 100,
        "gradient_accumulation_steps": 1,
        "remat": False,
        "corpus_max_words": 3_000_000,
        "vocab_size": 8000,
        "vocab_size_small": 5000,
        "max_seq_length": 128,
        "max_predictions_per_seq": 20,
        "masked_lm_prob": 0.15,
        "dupe_factor": 2,
        "short_seq_prob": 0.1,
        "num_layers": 4,
        "hidden_size": 128,
        # 16.4M teacher tokens (4x the first editions' 2,000 steps of 16), so that a claim can be tested
        "batch_size": 32,
        "teacher_steps": 4000,
        # LAMB at batch 16 stays at the frequent-piece plateau for 1,000 steps with the paper's 1.5e-3 (measured:
        # 3.2% masked-LM accuracy, the most frequent piece alone gives 2.6%); 1e-2 gets further in the same time
        "teacher_learning_rate": 1e-2,
        "warmup_steps": 400,
        "checkpoint_every": 500,
        "figure1_checkpoints": 4,
        "figure1_width_ratio": 1.0,
        "kt_steps_per_layer": 300,
        "kt_learning_rate": 1.5e-3,
        "distill_steps": 2000,
        "distill_learning_rate": 1.5e-3,
        "finetune_epochs": 3,
        "finetune_batch_size": 32,
        "finetune_max_train_examples": 1500,
        "finetune_max_eval_examples": 1000,
        # 64 pieces hold most tweets whole and halve a fine-tuning step's cost against 128 (reviews are cut)
        "finetune_max_seq_length": 64,
        "qa_max_seq_length": 256,
        "qa_doc_stride": 128,
        "finetune_learning_rate": 1e-4,  # 3 epochs of a 4-layer model: a larger step than the paper's 3e-5
        "pos_learning_rate": 2e-3,
        "finetune_models": "teacher,student,scratch",
        "finetune_seeds": 3,
        "finetune_gradient_accumulation_steps": 1,
        "quant_eval_examples": 400,
        "latency_runs": 30,
        "quant_max_classifiers": 0,
    },
    "gpu": {
        "seed": 12345,
        "mixed_precision": "auto",
        "jit_compile": True,
        "eager_below_steps": 0,
        "gradient_accumulation_steps": 1,
        "remat": False,
        "corpus_max_words": 0,  # 0: every word of the corpus
        "vocab_size": 30000,
        "vocab_size_small": 20000,
        "max_seq_length": 128,
        "max_predictions_per_seq": 20,
        "masked_lm_prob": 0.15,
        "dupe_factor": 5,
        "short_seq_prob": 0.1,
        "num_layers": 12,
        "hidden_size": 256,
        "batch_size": 128,
        "teacher_steps": 50_000,
        "teacher_learning_rate": 1.5e-3,
        "warmup_steps": 2000,
        "checkpoint_every": 2000,
        "figure1_checkpoints": 5,
        "figure1_width_ratio": 2.0,
        "kt_steps_per_layer": 1000,
        "kt_learning_rate": 1.5e-3,
        "distill_steps": 30_000,
        "distill_learning_rate": 1.5e-3,
        **PAPER_FINETUNING,
        "latency_runs": 100,
        "quant_max_classifiers": 0,
    },
    "full": {
        "seed": 12345,
        "mixed_precision": "auto",
        "jit_compile": True,
        "eager_below_steps": 0,
        # TPU v3-8: the batch of 256 is 32 per core, which fits (8.8 of 16 GiB, benchmarks/tpu_memory.py); for
        # v2-8, v5e-1 and v6e-1 the TPU appendix's table gives the accumulation and remat that fit
        "gradient_accumulation_steps": 1,
        "remat": False,
        "corpus_max_words": 0,
        "vocab_size": 50000,
        "vocab_size_small": 30000,
        "max_seq_length": 512,
        "max_predictions_per_seq": 20,
        "masked_lm_prob": 0.15,
        "dupe_factor": 5,
        "short_seq_prob": 0.1,
        "num_layers": 24,
        "hidden_size": 256,
        "batch_size": 256,
        "teacher_steps": 2_000_000,
        "teacher_learning_rate": 1.5e-3,
        "warmup_steps": 10_000,
        "checkpoint_every": 10_000,
        "figure1_checkpoints": 5,
        "figure1_width_ratio": 2.0,
        "kt_steps_per_layer": 10_000,  # 240K in the authors' script (spec 3.3)
        "kt_learning_rate": 1.5e-3,
        "distill_steps": 2_000_000,
        "distill_learning_rate": 1.5e-3,
        **PAPER_FINETUNING,
        "latency_runs": 100,
        "quant_max_classifiers": 0,
    },
}

SCALE_NAMES = tuple(SCALES)


@dataclasses.dataclass(frozen=True)
class Scale:
    """A resolved preset: ``name`` plus every key of ``SCALES[name]`` as an attribute."""

    name: str
    values: dict

    def __getattr__(self, key):
        try:
            return self.__dict__["values"][key]
        except KeyError:
            raise AttributeError(_unknown_key_message(key)) from None

    def as_dict(self):
        return {"scale": self.name, **self.values}


def _unknown_key_message(key):
    return f"unknown parameter {key!r}; valid parameters are: {', '.join(sorted(SCALES['tiny']))}"


def check_scale(name):
    if name not in SCALES:
        raise ParameterError(f"unknown scale {name!r}; valid scales are: {', '.join(SCALE_NAMES)}")
    return name


# Allowed ranges, (lowest, highest) inclusive (None: unbounded), of the numeric keys; a key not listed here is only
# type-checked. 0 means "all" for the example, word and classifier limits.
POSITIVE = (1, None)
AT_LEAST_ZERO = (0, None)
RANGES = {
    "seed": AT_LEAST_ZERO, "corpus_max_words": AT_LEAST_ZERO, "vocab_size": (6, None), "vocab_size_small": (6, None),
    "max_seq_length": (8, None), "max_predictions_per_seq": POSITIVE, "masked_lm_prob": (0.0, 1.0),
    "dupe_factor": POSITIVE, "short_seq_prob": (0.0, 1.0), "num_layers": POSITIVE, "hidden_size": POSITIVE,
    "batch_size": POSITIVE, "teacher_steps": POSITIVE, "warmup_steps": AT_LEAST_ZERO, "checkpoint_every": POSITIVE,
    "figure1_checkpoints": POSITIVE, "kt_steps_per_layer": POSITIVE, "distill_steps": POSITIVE,
    "finetune_epochs": POSITIVE, "finetune_batch_size": POSITIVE, "finetune_max_train_examples": AT_LEAST_ZERO,
    "finetune_max_eval_examples": AT_LEAST_ZERO, "finetune_max_seq_length": (3, None), "qa_max_seq_length": (8, None),
    "qa_doc_stride": POSITIVE, "quant_eval_examples": AT_LEAST_ZERO, "latency_runs": POSITIVE,
    "quant_max_classifiers": AT_LEAST_ZERO, "finetune_seeds": POSITIVE,
}
# keys by how they end, for keys added later: learning rates and ratios must be positive
POSITIVE_SUFFIXES = ("_learning_rate", "_ratio")


def check_range(key, value):
    """`value` if it is in the allowed range of parameter `key`, else a `ParameterError` naming the key."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ParameterError(f"parameter {key!r} must be a finite number, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if key.endswith(POSITIVE_SUFFIXES) and key not in RANGES:
        if value <= 0:
            raise ParameterError(f"parameter {key!r} must be greater than 0, got {value!r}")
        return value
    low, high = RANGES.get(key, (None, None))
    if low is not None and value < low or high is not None and value > high:
        expected = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ParameterError(f"parameter {key!r} must be {expected}, got {value!r}")
    return value


def _precision(value):
    """``mixed_precision`` (a string from the command line, or a papermill value) as "auto", True or False."""
    from arlm.runtime import check_precision

    if isinstance(value, str):
        value = {"true": True, "false": False}.get(value.strip().lower(), value.strip().lower())
    return check_precision(value)


def coerce(key, value):
    """Convert `value` (possibly a string from the command line) to the type of parameter `key`, and check its
    range (`RANGES`); errors name the key."""
    if key not in SCALES["tiny"]:
        raise ParameterError(_unknown_key_message(key))
    if key == "mixed_precision":
        return _precision(value)
    kind = type(SCALES["tiny"][key])
    if isinstance(value, str) and kind is not str:
        try:
            value = json.loads(value.lower() if kind is bool else value)
        except json.JSONDecodeError:
            raise ParameterError(f"parameter {key!r} expects a {kind.__name__}, got {value!r}") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not kind:
        raise ParameterError(f"parameter {key!r} expects a {kind.__name__}, got {value!r}")
    return check_range(key, value)


# batch key -> its accumulation key: the batch is split into that many equal micro-batches
ACCUMULATION = {"batch_size": "gradient_accumulation_steps",
                "finetune_batch_size": "finetune_gradient_accumulation_steps"}


def _check_accumulation(values):
    for batch_key, steps_key in ACCUMULATION.items():
        batch, steps = values[batch_key], values[steps_key]
        if steps < 1 or batch % steps:
            raise ParameterError(f"parameter {steps_key!r} must be a positive divisor of {batch_key} = {batch}, "
                                 f"got {steps}")


def micro_batch_size(cfg, batch_key="batch_size"):
    """Examples per training step: ``cfg.<batch_key>`` over its gradient accumulation steps.

    Args:
        cfg: a resolved `Scale`.
        batch_key: ``"batch_size"`` (chapters 2-4) or ``"finetune_batch_size"`` (chapter 5).

    >>> micro_batch_size(resolve("full", gradient_accumulation_steps=4))
    64
    """
    if batch_key not in ACCUMULATION:
        raise ParameterError(f"micro_batch_size: batch_key must be one of {', '.join(ACCUMULATION)}, got {batch_key!r}")
    return getattr(cfg, batch_key) // getattr(cfg, ACCUMULATION[batch_key])


def resolve(scale="tiny", **overrides):
    """The preset `scale` with `overrides` applied and type-checked."""
    check_scale(scale)
    values = dict(SCALES[scale])
    for key, value in overrides.items():
        values[key] = coerce(key, value)
    _check_accumulation(values)
    return Scale(scale, values)
