"""Teacher pretraining with ``model.fit`` (spec 3.1): LAMB, exact resume, logs, snapshots.

`pretrain` runs ``total_steps`` LAMB updates of a `MobileBertPretrainer`, checkpointed every ``checkpoint_every``
steps by `arlm.fitting.fit_resumable`: if the process dies (a Colab disconnect, a TPU preemption, kill -9), the
same call with the same ``work_dir`` restores the last checkpoint and continues to exactly the weights of an
uninterrupted run. `train_teacher` wraps it as a `arlm.fitting.Stage`: once a teacher is saved, a rerun loads it
instead of training it again. Alongside: TensorBoard logs (``work_dir/logs``, when the ``tensorboard`` package is
installed), the per-step history (``work_dir/history/``, for plots) and snapshots of the backbone at chosen steps
(Figure 1 fine-tunes them): keras-hub preset folders ``step_N/`` (`arlm.preset_format.save_preset`), listed with
their config in ``index.json``.

>>> pretrainer = MobileBertPretrainer(MobileBertBackbone.from_mobilebert_config(config))  # doctest: +SKIP
>>> compile_pretrainer(pretrainer, 1.5e-3, total_steps=30, warmup_steps=3)                 # doctest: +SKIP
>>> records = pretrain(pretrainer, make_dataset, 30, 10, "runs/tiny/02_teacher/train/iberta",
...                    snapshot_steps=[10, 20, 30],
...                    snapshot_dir="runs/tiny/02_teacher/figure1/iberta")  # doctest: +SKIP
"""

import importlib.util
import os
from pathlib import Path

import keras

from arlm import runtime
from arlm.errors import ArtifactError
from arlm.files import read_json, write_json
from arlm.fitting import Stage, fit_resumable, stage_config
from arlm.optimizers import make_optimizer
from arlm.preset_format import save_preset
from arlm.saving import load_model, save_model
from arlm.scales import micro_batch_size

# the scale keys a trained teacher depends on (a rerun with another value is refused, not silently reused)
TEACHER_KEYS = ("teacher_steps", "teacher_learning_rate", "warmup_steps", "batch_size", "checkpoint_every",
                "figure1_checkpoints", "gradient_accumulation_steps")


def compile_pretrainer(pretrainer, learning_rate, total_steps, warmup_steps, jit_compile=False, optimizer="lamb",
                       run_eagerly=False, gradient_accumulation_steps=1):
    """Compile with the official LAMB, warmup + linear decay to 1e-4 lr0 at ``total_steps``, clipping at 1.0
    (``gradient_accumulation_steps`` micro-batches per update)."""
    pretrainer.compile(optimizer=make_optimizer(optimizer, learning_rate, total_steps, warmup_steps,
                                                gradient_accumulation_steps=gradient_accumulation_steps),
                       jit_compile=jit_compile, run_eagerly=run_eagerly)
    return pretrainer


def snapshot_steps(total_steps, count):
    """``count`` evenly spaced step counts ending at ``total_steps`` (Figure 1's x axis)."""
    return sorted({max(1, round(total_steps * (i + 1) / count)) for i in range(count)})


def backbone_snapshots(steps, directory):
    """A `fit_resumable` step hook saving ``model.backbone`` as the preset folder ``directory/step_N`` at step N."""
    steps, directory = {int(s) for s in steps}, Path(directory)

    def hook(model, step):
        if step in steps:
            save_preset(model.backbone, directory / f"step_{step}")

    return hook


def pretrain(pretrainer, make_dataset, total_steps, checkpoint_every, work_dir, snapshot_steps=(), snapshot_dir=None,
             tensorboard=True, callbacks=(), verbose="auto"):
    """Pretrain a compiled `MobileBertPretrainer` for ``total_steps``, resumable from ``work_dir``.

    ``make_dataset()`` returns a fresh repeated ``tf.data.Dataset`` of ``(x, y)`` batches
    (`arlm.pretraining_data.load_dataset`). Returns the per-step history records
    (``{"step", "loss", "mlm_accuracy", ...}``).
    """
    work_dir = Path(work_dir)
    extra = list(callbacks)
    if tensorboard and importlib.util.find_spec("tensorboard") is not None:  # optional: Colab has it
        extra.append(keras.callbacks.TensorBoard(str(work_dir / "logs"), update_freq=max(1, checkpoint_every // 10)))
    hooks = [backbone_snapshots(snapshot_steps, snapshot_dir or work_dir / "snapshots")] if snapshot_steps else []
    return fit_resumable(pretrainer, make_dataset, total_steps, checkpoint_every, work_dir, callbacks=extra,
                         step_hooks=hooks, hook_steps=snapshot_steps, verbose=verbose)


def write_snapshot_index(path, runs):
    """``index.json`` for snapshots: ``runs`` maps a name to ``{"config": backbone config, "dir": folder}``.

    Each entry lists ``{"step", "path"}`` for the snapshot presets found (``step_N/``, paths relative to the index).
    """
    path = Path(path)
    index = {}
    for name, run in runs.items():
        folders = sorted((f for f in Path(run["dir"]).glob("step_*") if (f / "config.json").is_file()),
                         key=lambda f: int(f.name.split("_")[1]))
        index[name] = {"config": run["config"], "snapshots": [
            {"step": int(f.name.split("_")[1]), "path": os.path.relpath(f, path.parent)} for f in folders]}
    return write_json(path, index)


def load_snapshot(index_path, name, step):
    """The `MobileBertBackbone` of run ``name`` at ``step``: the preset that ``index.json`` lists, by `load_model`."""
    from arlm.mobilebert import MobileBertBackbone

    index_path = Path(index_path)
    index = read_json(index_path)
    if name not in index:
        raise ArtifactError(f"{index_path}: no run {name!r}; runs are: {', '.join(index)}")
    entry = {s["step"]: s["path"] for s in index[name]["snapshots"]}
    if step not in entry:
        raise ArtifactError(f"{index_path}: run {name!r} has no snapshot at step {step}; steps: {sorted(entry)}")
    return load_model(index_path.parent / entry[step], expect=MobileBertBackbone, parameter=str(index_path))


def count_lines(path):
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def train_teacher(preset, cfg, data_dir, vocab_path, work_dir, snapshot_dir=None, verbose="auto", optimizer="lamb",
                  model_overrides=None):
    """Pretrain preset ``preset`` (shrunk to scale ``cfg``) on chapter 1's TFRecords in ``data_dir``.

    Reads ``meta.json`` for the sequence length and prediction slots; the vocabulary size is the number of
    lines of ``vocab_path``. Uses the scale's ``teacher_steps``, ``batch_size``, ``teacher_learning_rate``,
    ``warmup_steps``, ``checkpoint_every``, ``jit_compile``, ``eager_below_steps`` and (through the global dtype
    policy set by `arlm.runtime.setup`) ``mixed_precision``; snapshots at ``figure1_checkpoints`` evenly spaced
    steps. Builds and trains inside the current runtime's scope. The trained pretrainer is saved as
    ``work_dir/model.keras``; a rerun after that loads it instead of training again.
    Returns ``(pretrainer, history records)``.

    Args:
        optimizer (str): ``"lamb"`` (the paper's) or ``"adamw"`` (`arlm.optimizers.make_optimizer`).
        model_overrides (dict | None): `MobileBertConfig` fields changed after scaling the preset, e.g.
            ``{"normalization_type": "no_norm"}`` (a variant of the method; recorded in the stage's config).
    """
    from arlm.mobilebert import MobileBertBackbone, MobileBertPretrainer, config_at_scale
    from arlm.pretraining_data import fingerprint, load_dataset, read_meta

    meta = read_meta(data_dir)
    config = config_at_scale(preset, cfg, vocab_size=count_lines(vocab_path))
    if model_overrides:
        config = config.replace(**model_overrides)
    # the paper's optimizer leaves the stage config as it was, so earlier runs are reused
    extra = {} if optimizer == "lamb" else {"optimizer": optimizer}
    stage = Stage(work_dir, stage_config(cfg, TEACHER_KEYS, preset=preset, model=config.to_dict(),
                                         max_seq_length=meta["max_seq_length"], data=fingerprint(data_dir),
                                         **extra))
    if stage.finished:
        return load_model(stage.output("model"), expect=MobileBertPretrainer), stage.history()
    if meta["max_seq_length"] > config.max_position_embeddings:
        raise ArtifactError(f"{data_dir}/meta.json: max_seq_length {meta['max_seq_length']} exceeds the model's "
                            f"{config.max_position_embeddings} positions")

    def make_dataset():
        return load_dataset(data_dir, micro_batch_size(cfg), meta["max_seq_length"], meta["max_predictions_per_seq"],
                            seed=cfg.seed)

    with runtime.scope():
        pretrainer = MobileBertPretrainer(MobileBertBackbone.from_mobilebert_config(config, name=f"{preset}_backbone"))
        x, _ = next(iter(make_dataset().take(1)))
        pretrainer(x)  # built before a checkpoint is restored into it
        run_eagerly = eager(cfg, cfg.teacher_steps)  # never jitted as well (Keras would warn)
        compile_pretrainer(pretrainer, cfg.teacher_learning_rate, cfg.teacher_steps, cfg.warmup_steps,
                           optimizer=optimizer,
                           jit_compile=not run_eagerly and runtime.current().jit_compile(cfg.jit_compile),
                           run_eagerly=run_eagerly,
                           gradient_accumulation_steps=cfg.gradient_accumulation_steps)
    steps = snapshot_steps(cfg.teacher_steps, cfg.figure1_checkpoints) if snapshot_dir else ()
    records = pretrain(pretrainer, make_dataset, cfg.teacher_steps, cfg.checkpoint_every, work_dir,
                       snapshot_steps=steps, snapshot_dir=snapshot_dir, verbose=verbose)
    stage.finish({"model": save_model(pretrainer, Path(work_dir) / "model.keras")})
    return pretrainer, records


def eager(cfg, total_steps):
    """Run eagerly when a run is shorter than the scale's ``eager_below_steps``: for a few dozen tiny steps,
    tracing the train step costs more than it saves."""
    return total_steps < cfg.eager_below_steps


def frequent_piece_accuracy(dataset, batches=50):
    """Masked-LM accuracy of always answering the most frequent masked piece, over `batches` ``(x, y)`` batches.

    The plateau of early pretraining: a model near it has learned how often pieces occur, not what the context
    says. (An upper bound for that strategy: the answer is chosen after seeing the labels.)
    """
    import collections

    import numpy as np

    counts, total = collections.Counter(), 0
    for _, y in dataset.take(batches):
        real = np.asarray(y["masked_lm_weights"]) > 0
        counts.update(np.asarray(y["masked_lm_ids"])[real].tolist())
        total += int(real.sum())
    return max(counts.values()) / total if total else 0.0


def epoch_steps(cfg, snapshots=True):
    """Steps per Keras epoch of `train_teacher` at scale ``cfg`` (`arlm.fitting.epoch_length`): epochs end at every
    checkpoint and, with ``snapshots``, at every Figure 1 snapshot. The history's ``loss`` and accuracies are
    Keras' running means, which restart at each epoch."""
    from arlm.fitting import epoch_length

    extra = snapshot_steps(cfg.teacher_steps, cfg.figure1_checkpoints) if snapshots else ()
    return epoch_length(cfg.teacher_steps, cfg.checkpoint_every, extra)


def epoch_means(records, steps):
    """The records at the end of each epoch of ``steps`` steps (`epoch_steps`): there each running mean of the
    history is the mean over its epoch, and plotting them shows no jump where a running mean restarts."""
    return [record for record in records if record["step"] % steps == 0]


def summarize_history(records, steps, keys=("loss", "mlm_accuracy", "nsp_accuracy")):
    """The number of steps, the epoch length ``steps`` and the first and last epoch means (`epoch_means`) of each
    of ``keys`` of a teacher's history."""
    means = epoch_means(records, steps)
    if not means:
        return {}
    summary = {"steps": records[-1]["step"], "epoch_steps": steps}
    for key in keys:
        if key in means[0]:
            summary[f"{key}_first"], summary[f"{key}_last"] = means[0][key], means[-1][key]
    return summary


def teacher_finding(summary, plateau, scale, tokens):
    """A sentence on a teacher's pretraining: its loss and masked-LM accuracy per epoch (`summarize_history`)
    against the accuracy of always answering the most frequent piece (`frequent_piece_accuracy`). The accuracy
    counts as above that plateau when it is more than two standard errors above it (binomial, over the masked
    tokens of the last epoch).

    Args:
        summary (dict): `summarize_history` of the teacher's history.
        plateau (float): the most frequent piece's accuracy.
        scale (str): the run's scale.
        tokens (int): the masked tokens the last epoch's accuracy is measured on.
    """
    import math

    steps, epoch, accuracy = summary["steps"], summary["epoch_steps"], summary["mlm_accuracy_last"]
    said = (f"In this run (`{scale}`) the IBERTA teacher took {steps:,} steps, in epochs of {epoch:,}: its loss, "
            f"averaged over an epoch, went from {summary['loss_first']:.2f} (steps 1-{epoch:,}) to "
            f"{summary['loss_last']:.2f} (steps {steps - epoch + 1:,}-{steps:,}), and its masked-LM accuracy over "
            f"the last epoch is {accuracy:.1%}, against {plateau:.1%} for always answering the most frequent piece")
    if accuracy <= plateau:
        return said + ": it has not yet learnt more than the piece frequencies."
    if accuracy - plateau <= 2 * math.sqrt(accuracy * (1 - accuracy) / max(tokens, 1)):
        return said + (f": within two standard errors of it ({tokens:,} masked tokens), so no sign yet that it "
                       "learnt from the context.")
    return said + ": it has learnt something from the context."
