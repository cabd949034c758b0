"""The two distillation stages and the from-scratch control as resumable runs on a run folder (chapters 3 and 4).

* `run_knowledge_transfer`: stage 2, ``L * kt_steps_per_layer`` steps, one Keras epoch per layer phase;
  writes the student's weights and config (``student_kt.weights.h5``, ``student_kt.json``) and the per-step
  history.
* `run_pretraining_distillation`: stage 3, ``distill_steps`` steps of LAMB with warmup and linear decay.
* `run_scratch_pretraining`: the control, the same student trained with plain MLM + NSP for as many steps as
  stages 2 and 3 together (the same number of student updates on the same batches).
* `evaluate_masked_lm`: masked-LM and NSP accuracy of a pretrainer on fixed batches.

Every run resumes from its ``backup/`` folder after an interruption (`arlm.distillation.training`).
``run_eagerly`` (default: only for runs under 100 steps) skips graph tracing, which costs more than it saves
for a few dozen tiny steps.

>>> teacher = load_pretrainer(ch.require("02_teacher", "teacher.keras"))  # doctest: +SKIP
>>> student, history = run_knowledge_transfer(teacher, build_student("mberta", cfg), make_dataset, cfg, ch.dir)
"""

from pathlib import Path

import keras
import numpy as np

from arlm.distillation import losses
from arlm.distillation.pretraining_distiller import PretrainingDistiller
from arlm.distillation.training import fit_resumable
from arlm.distillation.transfer import ProgressiveKnowledgeTransfer, encoder_blocks
from arlm.errors import ArtifactError, ParameterError
from arlm.io import atomic_path, read_json, write_json

STUDENT_PRESETS = ("mberta", "mberta_ii")


def build_student(preset, cfg, vocab_size=None, **overrides):
    """A randomly initialised student pretrainer (MBERTA or MBERTA II) at the sizes of scale ``cfg``."""
    from arlm.models import MobileBertBackbone, preset_at_scale
    from arlm.models.pretraining import MobileBertPretrainer

    if preset not in STUDENT_PRESETS:
        raise ParameterError(f"student preset must be one of {STUDENT_PRESETS}, got {preset!r}")
    config = preset_at_scale(preset, cfg, **overrides)
    if vocab_size is not None:
        config = config.replace(vocab_size=vocab_size)
    return MobileBertPretrainer(MobileBertBackbone.from_mobilebert_config(config))


def load_pretrainer(path):
    """A `MobileBertPretrainer` saved as ``.keras`` (the teacher of chapter 2, the students of chapter 4)."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path} is missing")
    _register_model_classes()
    return keras.saving.load_model(path, compile=False)


def _register_model_classes():
    """Import the modules whose classes a saved pretrainer names (registration happens on import)."""
    from arlm.models import register_all

    register_all()


def pretraining_dataset_factory(pretraining_dir, cfg, seed=None):
    """A function returning chapter 1's pretraining batches as an infinite, seeded (hence resumable) stream."""
    from arlm.pretraining_data import load_dataset

    seed = cfg.seed if seed is None else seed
    return lambda: load_dataset(pretraining_dir, cfg.batch_size, cfg.max_seq_length, cfg.max_predictions_per_seq,
                                shuffle=True, seed=seed)


def evaluation_batches(pretraining_dir, cfg, vocab_size, count=8, seed=777):
    """``count`` fixed batches for `evaluate_masked_lm`: the same sentences as training, masked afresh
    (dynamic masking with another seed), so the score is not a recall of the training masks."""
    from arlm.pretraining_data import load_dataset

    dataset = load_dataset(pretraining_dir, cfg.batch_size, cfg.max_seq_length, cfg.max_predictions_per_seq,
                           shuffle=False, dynamic_masking=True, vocab_size=vocab_size, seed=seed)
    return [(dict(x), dict(y)) for x, y in dataset.take(count)]


def _eager(run_eagerly, total_steps):
    """``None``: eager for short runs (< 100 steps), where tracing the train step costs more than it saves."""
    return total_steps < 100 if run_eagerly is None else bool(run_eagerly)


def _warm_up(model, make_dataset):
    """Build ``model`` (`BackupAndRestore` needs built models) with one forward pass on a real batch."""
    x, _ = next(iter(make_dataset().take(1)))
    model(x)
    return x


def _lamb(learning_rate, total_steps, warmup_steps):
    from arlm import optimizers

    return optimizers.make_optimizer("lamb", learning_rate, total_steps, warmup_steps)


def checkpoint_interval(total_steps, checkpoint_every):
    """Steps per Keras epoch: the largest divisor of ``total_steps`` not above ``checkpoint_every``."""
    every = max(1, min(checkpoint_every, total_steps))
    return max(d for d in range(1, every + 1) if total_steps % d == 0) if total_steps else 1


def run_knowledge_transfer(teacher, student, make_dataset, cfg, out_dir, factors=None, verbose="auto",
                           run_eagerly=None):
    """Stage 2 (spec 3.3): progressive knowledge transfer; returns ``(student, history records)``.

    Writes ``student_kt.weights.h5`` + ``student_kt.json`` (the student pretrainer's config) and
    ``history.json`` into ``out_dir``; resumable from ``out_dir/backup``.
    """
    out_dir = Path(out_dir)
    model = ProgressiveKnowledgeTransfer(teacher, student, cfg.kt_steps_per_layer, factors=factors)
    _warm_up(model, make_dataset)
    model.compile(optimizer=model.make_optimizer(cfg.kt_learning_rate), jit_compile=bool(cfg.jit_compile),
                  run_eagerly=_eager(run_eagerly, model.total_steps))
    history = fit_resumable(model, make_dataset, model.total_steps, cfg.kt_steps_per_layer, out_dir / "backup",
                            out_dir / "history.json", verbose=verbose)
    student.trainable = True  # stage 3 trains everything; the saved config must not carry the stage-2 freeze
    save_student(student, out_dir / "student_kt")
    return student, history


def save_student(pretrainer, stem):
    """``<stem>.weights.h5`` and ``<stem>.json`` (the serialized pretrainer, to rebuild it with `load_student`)."""
    stem = Path(stem)
    write_json(stem.with_suffix(".json"), keras.saving.serialize_keras_object(pretrainer))
    with atomic_path(stem.with_name(stem.name + ".weights.h5")) as tmp:
        staging = Path(f"{tmp}.weights.h5")  # Keras insists on the suffix
        pretrainer.save_weights(staging)
        staging.rename(tmp)


def load_student(stem):
    """The pretrainer written by `save_student`."""
    stem = Path(stem)
    config_path, weights_path = stem.with_suffix(".json"), stem.with_name(stem.name + ".weights.h5")
    for path in (config_path, weights_path):
        if not path.exists():
            raise ArtifactError(f"{path} is missing: run chapter 03_knowledge_transfer first")
    _register_model_classes()
    pretrainer = keras.saving.deserialize_keras_object(read_json(config_path))
    pretrainer.load_weights(weights_path)
    return pretrainer


def run_pretraining_distillation(teacher, student, make_dataset, cfg, out_dir, factors=None, total_steps=None,
                                 verbose="auto", run_eagerly=None):
    """Stage 3 (spec 3.4): $\\alpha L_{MLM} + (1-\\alpha) L_{KD} + L_{NSP}$; returns ``(student, history)``.

    Fresh optimizer state and step 0 (the official code restarts from the stage-2 checkpoint's weights only);
    LAMB at ``distill_learning_rate`` with ``warmup_steps`` of warmup and linear decay. Writes
    ``student.keras`` and ``history.json`` into ``out_dir``.
    """
    out_dir = Path(out_dir)
    total_steps = total_steps or cfg.distill_steps
    model = PretrainingDistiller(teacher, student, factors=factors)
    _warm_up(model, make_dataset)
    warmup = min(cfg.warmup_steps, total_steps // 10 or 1)
    model.compile(optimizer=_lamb(cfg.distill_learning_rate, total_steps, warmup), jit_compile=bool(cfg.jit_compile),
                  run_eagerly=_eager(run_eagerly, total_steps))
    history = fit_resumable(model, make_dataset, total_steps, checkpoint_interval(total_steps, cfg.checkpoint_every),
                            out_dir / "backup", out_dir / "history.json", verbose=verbose)
    _save_keras(student, out_dir / "student.keras")
    return student, history


def run_scratch_pretraining(student, make_dataset, cfg, out_dir, total_steps, verbose="auto", run_eagerly=None):
    """The control: ``student`` pretrained from random initialisation with $L_{MLM} + L_{NSP}$ only.

    Same optimizer, schedule shape and batches as stage 3, for ``total_steps`` (stages 2 + 3 together).
    Writes ``scratch.keras`` and ``scratch_history.json``.
    """
    out_dir = Path(out_dir)
    _warm_up(student, make_dataset)
    warmup = min(cfg.warmup_steps, total_steps // 10 or 1)
    student.compile(optimizer=_lamb(cfg.distill_learning_rate, total_steps, warmup),
                    jit_compile=bool(cfg.jit_compile), run_eagerly=_eager(run_eagerly, total_steps))
    history = fit_resumable(student, make_dataset, total_steps, checkpoint_interval(total_steps, cfg.checkpoint_every),
                            out_dir / "scratch_backup", out_dir / "scratch_history.json", verbose=verbose)
    _save_keras(student, out_dir / "scratch.keras")
    return student, history


def _save_keras(model, path):
    with atomic_path(path) as tmp:
        staging = Path(f"{tmp}.keras")  # Keras insists on the suffix
        model.save(staging)
        staging.rename(tmp)


def evaluate_masked_lm(pretrainer, batches):
    """Masked-LM accuracy and loss, NSP accuracy of ``pretrainer`` over ``batches`` (a list of ``(x, y)``)."""
    hits = weight = nsp_hits = count = loss = 0.0
    for x, y in batches:
        out = pretrainer(x, training=False)
        w = np.asarray(y["masked_lm_weights"], np.float32)
        predicted = np.argmax(np.asarray(out["mlm_logits"]), -1)
        hits += float(np.sum((predicted == np.asarray(y["masked_lm_ids"])) * w))
        weight += float(np.sum(w))
        one_hot = keras.ops.one_hot(y["masked_lm_ids"], out["mlm_logits"].shape[-1])
        loss += float(losses.masked_lm_cross_entropy(one_hot, out["mlm_logits"], w)) * float(np.sum(w))
        labels = np.asarray(y["next_sentence_labels"]).reshape(-1)
        nsp_hits += float(np.sum(np.argmax(np.asarray(out["nsp_logits"]), -1) == labels))
        count += len(labels)
    return {"mlm_accuracy": hits / max(weight, 1.0), "mlm_loss": loss / max(weight, 1.0),
            "nsp_accuracy": nsp_hits / max(count, 1.0), "eval_masked_tokens": int(weight)}


def student_steps(cfg, num_layers):
    """Student updates of the distilled model: stage 2 (``L * S``) plus stage 3 (the control's budget)."""
    return num_layers * cfg.kt_steps_per_layer + cfg.distill_steps


def num_layers(pretrainer):
    return len(encoder_blocks(pretrainer.backbone))


__all__ = ["build_student", "load_pretrainer", "pretraining_dataset_factory", "evaluation_batches",
           "run_knowledge_transfer", "save_student", "load_student", "run_pretraining_distillation",
           "run_scratch_pretraining", "evaluate_masked_lm", "student_steps", "checkpoint_interval", "num_layers"]
