"""The two distillation stages and the from-scratch control as resumable runs on a run folder (chapters 3 and 4).

* `run_knowledge_transfer`: stage 2, ``L * kt_steps_per_layer`` steps, one Keras epoch per layer phase;
  writes the student pretrainer (``student_kt.keras``).
* `run_pretraining_distillation`: stage 3, ``distill_steps`` steps of LAMB with warmup and linear decay.
* `run_scratch_pretraining`: the control, the same student trained with plain MLM + NSP for as many steps as
  stages 2 and 3 together (the same number of student updates on the same batches).
* `evaluate_masked_lm`: masked-LM and NSP accuracy of a pretrainer on fixed batches.

Every run is an `arlm.fitting.Stage` in its own folder (``kt/``, ``distill/``, ``scratch/``): it resumes exactly
from its last checkpoint after an interruption, and once its model is saved a rerun loads it instead of
training again. Models are built, loaded and compiled inside the current runtime's scope (`arlm.runtime`).
``run_eagerly`` (default: the scale's ``eager_below_steps``) skips graph tracing, which costs more than it saves
for a few dozen tiny steps.

>>> teacher = arlm.saving.load_model(ch.require("02_teacher", "teacher.keras"), compile=False)  # doctest: +SKIP
>>> student, history = run_knowledge_transfer(teacher, build_student("mberta", cfg), make_dataset, cfg, ch.dir)
"""

from pathlib import Path

import keras
import numpy as np

from arlm import runtime
from arlm.distillation import losses, transfer
from arlm.distillation.pretraining_distiller import PretrainingDistiller
from arlm.distillation.transfer import ProgressiveKnowledgeTransfer, encoder_blocks
from arlm.errors import ParameterError
from arlm.fitting import Stage, fit_resumable, stage_config
from arlm.optimizers import accumulation
from arlm.saving import load_model, save_model
from arlm.scales import micro_batch_size

STUDENT_PRESETS = ("mberta", "mberta_ii")


def build_student(preset, cfg, vocab_size=None, **overrides):
    """A randomly initialised student pretrainer (MBERTA or MBERTA II) at the sizes of scale ``cfg``."""
    from arlm.mobilebert import MobileBertBackbone, MobileBertPretrainer, config_at_scale

    if preset not in STUDENT_PRESETS:
        raise ParameterError(f"student preset must be one of {STUDENT_PRESETS}, got {preset!r}")
    config = config_at_scale(preset, cfg, **overrides)
    if vocab_size is not None:
        config = config.replace(vocab_size=vocab_size)
    with runtime.scope():
        return MobileBertPretrainer(MobileBertBackbone.from_mobilebert_config(config))


def pretraining_dataset_factory(pretraining_dir, cfg, seed=None):
    """A function returning chapter 1's pretraining batches as an infinite, seeded (hence resumable) stream.

    The function carries ``fingerprint``, the data's `arlm.pretraining_data.fingerprint`: the stages trained on
    it record it, so a finished stage is not reused on other data."""
    from arlm.pretraining_data import fingerprint, load_dataset

    seed = cfg.seed if seed is None else seed

    def make_dataset():
        return load_dataset(pretraining_dir, micro_batch_size(cfg), cfg.max_seq_length,
                            cfg.max_predictions_per_seq, shuffle=True, seed=seed)

    make_dataset.fingerprint = fingerprint(pretraining_dir)
    return make_dataset


def evaluation_batches(pretraining_dir, cfg, vocab_size, count=8, seed=777):
    """``count`` fixed batches of ``pretraining_dir`` for `evaluate_masked_lm`, masked afresh (dynamic masking
    with another seed). Chapter 4 passes chapter 1's ``pretraining_held_out``: documents no model trained on."""
    from arlm.pretraining_data import load_dataset

    dataset = load_dataset(pretraining_dir, micro_batch_size(cfg), cfg.max_seq_length, cfg.max_predictions_per_seq,
                           shuffle=False, dynamic_masking=True, vocab_size=vocab_size, seed=seed)
    return [(dict(x), dict(y)) for x, y in dataset.take(count)]


def _compile(model, optimizer, cfg, total_steps, run_eagerly):
    """Compile for the current runtime; ``run_eagerly`` None: the scale's choice for a run of ``total_steps``."""
    from arlm.training import eager

    run_eagerly = eager(cfg, total_steps) if run_eagerly is None else bool(run_eagerly)
    # an eager run is never jitted: saying so here keeps Keras from warning that it turned jit off itself
    model.compile(optimizer=optimizer, jit_compile=not run_eagerly and runtime.current().jit_compile(cfg.jit_compile),
                  run_eagerly=run_eagerly)


def _warm_up(model, make_dataset):
    """Build ``model`` (a checkpoint is restored into built variables) with one forward pass on a real batch."""
    x, _ = next(iter(make_dataset().take(1)))
    model(x)
    return x


def _lamb(cfg, total_steps):
    """Stage 3's LAMB: ``distill_learning_rate``, warmup (at most a tenth of the run), linear decay."""
    from arlm import optimizers

    warmup = min(cfg.warmup_steps, total_steps // 10 or 1)
    return optimizers.make_optimizer("lamb", cfg.distill_learning_rate, total_steps, warmup,
                                     gradient_accumulation_steps=cfg.gradient_accumulation_steps)


def _run(stage, model, student, output, make_dataset, total_steps, checkpoint_every, verbose):
    """Train ``model`` as the resumable `Stage` ``stage``, then save ``student`` to ``output``."""
    history = fit_resumable(model, make_dataset, total_steps, checkpoint_every, stage.dir, verbose=verbose)
    stage.finish({"model": save_model(student, output)})
    return history


def _finished(stage):
    """``(student, history)`` of a `Stage` that already finished, else None."""
    if not stage.finished:
        return None
    from arlm.mobilebert import MobileBertPretrainer

    return load_model(stage.output("model"), compile=False, expect=MobileBertPretrainer), stage.history()


def _stage(directory, cfg, keys, student, factors, make_dataset, **more):
    """The `Stage` of a distillation run, with the parameters its result depends on (and the data's fingerprint
    when `make_dataset` carries one: `pretraining_dataset_factory`)."""
    factors = (factors or losses.DistillationFactors()).as_dict()
    if getattr(make_dataset, "fingerprint", None):
        more["data"] = make_dataset.fingerprint
    return Stage(directory, stage_config(cfg, (*keys, "batch_size", "gradient_accumulation_steps"), factors=factors,
                                         student=student.backbone.config.to_dict(), **more))


def run_knowledge_transfer(teacher, student, make_dataset, cfg, out_dir, factors=None, verbose="auto",
                           run_eagerly=None):
    """Stage 2 (spec 3.3): progressive knowledge transfer; returns ``(student, history records)``.

    Writes ``student_kt.keras`` (the student pretrainer) into ``out_dir``; resumable from ``out_dir/kt``. A
    finished stage is loaded, not run again (``student`` is then ignored).
    """
    out_dir = Path(out_dir)
    stage = _stage(out_dir / "kt", cfg, ("kt_steps_per_layer", "kt_learning_rate"), student, factors, make_dataset)
    done = _finished(stage)
    if done:
        return done
    with runtime.scope():
        model = ProgressiveKnowledgeTransfer(teacher, student, cfg.kt_steps_per_layer, factors=factors)
        _warm_up(model, make_dataset)
        optimizer = model.make_optimizer(
            cfg.kt_learning_rate, gradient_accumulation_steps=accumulation(cfg.gradient_accumulation_steps))
        _compile(model, optimizer, cfg, model.total_steps, run_eagerly)
    history = fit_resumable(model, make_dataset, model.total_steps, cfg.kt_steps_per_layer, stage.dir,
                            verbose=verbose)
    transfer.unfreeze(student)  # stage 3 trains everything; the saved config must not carry the stage-2 freeze
    stage.finish({"model": save_model(student, out_dir / "student_kt.keras")})
    return student, history


def run_pretraining_distillation(teacher, student, make_dataset, cfg, out_dir, factors=None, total_steps=None,
                                 verbose="auto", run_eagerly=None):
    """Stage 3 (spec 3.4): $\\alpha L_{MLM} + (1-\\alpha) L_{KD} + L_{NSP}$; returns ``(student, history)``.

    Fresh optimizer state and step 0 (the official code restarts from the stage-2 checkpoint's weights only);
    LAMB at ``distill_learning_rate`` with ``warmup_steps`` of warmup and linear decay. Writes
    ``student.keras`` into ``out_dir``; resumable from ``out_dir/distill``.
    """
    total_steps = total_steps or cfg.distill_steps
    return _lamb_stage(Path(out_dir), "distill", "student.keras", lambda: PretrainingDistiller(
        teacher, student, factors=factors), student, make_dataset, cfg, factors, total_steps, verbose, run_eagerly)


def run_scratch_pretraining(student, make_dataset, cfg, out_dir, total_steps, verbose="auto", run_eagerly=None):
    """The control: ``student`` pretrained from random initialisation with $L_{MLM} + L_{NSP}$ only.

    Same optimizer, schedule shape and batches as stage 3, for ``total_steps`` (stages 2 + 3 together).
    Writes ``scratch.keras``; resumable from ``out_dir/scratch``.
    """
    return _lamb_stage(Path(out_dir), "scratch", "scratch.keras", lambda: student, student, make_dataset, cfg, None,
                       total_steps, verbose, run_eagerly)


def _lamb_stage(out_dir, name, file, build, student, make_dataset, cfg, factors, total_steps, verbose, run_eagerly):
    """Stage 3 or its control: the model `build` returns, trained with LAMB (warmup, linear decay) for
    `total_steps` as the resumable stage ``out_dir/name``; `student` saved as ``out_dir/file``."""
    stage = _stage(out_dir / name, cfg, ("distill_learning_rate", "warmup_steps"), student, factors, make_dataset,
                   total_steps=total_steps)
    done = _finished(stage)
    if done:
        return done
    with runtime.scope():
        model = build()
        _warm_up(model, make_dataset)
        _compile(model, _lamb(cfg, total_steps), cfg, total_steps, run_eagerly)
    history = _run(stage, model, student, out_dir / file, make_dataset, total_steps, cfg.checkpoint_every, verbose)
    return student, history


def evaluate_masked_lm(pretrainer, batches):
    """Masked-LM accuracy and loss, NSP accuracy of ``pretrainer`` over ``batches`` (a list of ``(x, y)``),
    each batch weighted by its real masked slots (`arlm.losses`)."""
    from arlm import losses as objective

    totals = {"mlm_accuracy": 0.0, "mlm_loss": 0.0, "nsp_accuracy": 0.0}
    weight = count = 0.0
    for x, y in batches:
        out = pretrainer(x, training=False)
        w = float(np.sum(y["masked_lm_weights"]))
        n = float(np.size(y["next_sentence_labels"]))
        args = (y["masked_lm_ids"], out["mlm_logits"], y["masked_lm_weights"])
        totals["mlm_accuracy"] += float(objective.masked_lm_accuracy(*args)) * w
        totals["mlm_loss"] += float(objective.masked_lm_loss(*args)) * w
        nsp = np.argmax(keras.ops.convert_to_numpy(out["nsp_logits"]), -1) == np.reshape(y["next_sentence_labels"], -1)
        totals["nsp_accuracy"] += float(np.sum(nsp))
        weight, count = weight + w, count + n
    scores = {key: value / max(weight if key.startswith("mlm") else count, 1.0) for key, value in totals.items()}
    return {**scores, "eval_masked_tokens": int(weight)}


def student_steps(cfg, num_layers):
    """Student updates of the distilled model: stage 2 (``L * S``) plus stage 3 (the control's budget)."""
    return num_layers * cfg.kt_steps_per_layer + cfg.distill_steps


def num_layers(pretrainer):
    return len(encoder_blocks(pretrainer.backbone))


__all__ = ["build_student", "pretraining_dataset_factory", "evaluation_batches",
           "run_knowledge_transfer", "run_pretraining_distillation", "run_scratch_pretraining", "evaluate_masked_lm",
           "student_steps", "num_layers"]
