"""Teacher pretraining with ``model.fit`` (spec 3.1): LAMB, checkpoints with automatic resume, logs, snapshots.

`pretrain` runs ``total_steps`` LAMB updates of a `MobileBertPretrainer` as Keras epochs of
``checkpoint_every`` steps. At every epoch end Keras' `BackupAndRestore` saves model and optimizer state;
if the process dies (a Colab disconnect, a TPU preemption) the next call with the same ``work_dir`` restores
the last checkpoint and skips the batches already consumed, so at most one checkpoint interval is lost
(`arlm.distillation.training.fit_resumable`). Alongside: TensorBoard logs (``work_dir/logs``, when the
``tensorboard`` package is installed), the per-step history (``work_dir/history.json``, for plots) and
weights-only snapshots of the backbone at chosen steps (Figure 1 fine-tunes them), listed with the config
that rebuilds them in ``index.json``.

>>> pretrainer = MobileBertPretrainer(MobileBertBackbone.from_mobilebert_config(config))  # doctest: +SKIP
>>> compile_pretrainer(pretrainer, 1.5e-3, total_steps=30, warmup_steps=3)                 # doctest: +SKIP
>>> records = pretrain(pretrainer, make_dataset, 30, 10, "runs/tiny/02_teacher/train/iberta",
...                    snapshot_steps=[10, 20, 30],
...                    snapshot_dir="runs/tiny/02_teacher/figure1/iberta")  # doctest: +SKIP
"""

import contextlib
import importlib.util
import os
from pathlib import Path

import keras

from arlm.distillation.training import fit_resumable
from arlm.errors import ArtifactError
from arlm.io import read_json, write_json
from arlm.optimizers import make_optimizer


def compile_pretrainer(pretrainer, learning_rate, total_steps, warmup_steps, jit_compile=False, optimizer="lamb"):
    """Compile with the official LAMB, warmup + linear decay to 1e-4 lr0 at ``total_steps``, clipping at 1.0."""
    pretrainer.compile(optimizer=make_optimizer(optimizer, learning_rate, total_steps, warmup_steps),
                       jit_compile=jit_compile)
    return pretrainer


def snapshot_steps(total_steps, count):
    """``count`` evenly spaced step counts ending at ``total_steps`` (Figure 1's x axis)."""
    return sorted({max(1, round(total_steps * (i + 1) / count)) for i in range(count)})


def _save_weights_atomically(layer, path):
    # Keras insists on the `.weights.h5` suffix, so the temporary keeps it
    path = Path(path)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    layer.save_weights(tmp)
    os.replace(tmp, path)


class BackboneSnapshots(keras.callbacks.Callback):
    """Saves ``model.backbone``'s weights to ``directory/step_N.weights.h5`` when the optimizer reaches step N."""

    def __init__(self, steps, directory):
        super().__init__()
        self.steps = set(int(s) for s in steps)
        self.directory = Path(directory)

    def on_train_batch_end(self, batch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        if step in self.steps:
            self.directory.mkdir(parents=True, exist_ok=True)
            _save_weights_atomically(self.model.backbone, self.directory / f"step_{step}.weights.h5")


def pretrain(pretrainer, make_dataset, total_steps, checkpoint_every, work_dir, snapshot_steps=(), snapshot_dir=None,
             tensorboard=True, callbacks=(), verbose="auto"):
    """Pretrain a compiled `MobileBertPretrainer` for ``total_steps``, resumable from ``work_dir/backup``.

    ``make_dataset()`` returns a fresh repeated ``tf.data.Dataset`` of ``(x, y)`` batches
    (`arlm.pretraining_data.load_dataset`). ``total_steps`` must be a multiple of ``checkpoint_every``.
    Returns the per-step history records (``{"step", "loss", "mlm_accuracy", ...}``).
    """
    work_dir = Path(work_dir)
    extra = list(callbacks)
    if tensorboard and importlib.util.find_spec("tensorboard") is not None:  # optional: Colab has it
        extra.append(keras.callbacks.TensorBoard(str(work_dir / "logs"), update_freq=max(1, checkpoint_every // 10)))
    if snapshot_steps:
        extra.append(BackboneSnapshots(snapshot_steps, snapshot_dir or work_dir / "snapshots"))
    return fit_resumable(pretrainer, make_dataset, total_steps, checkpoint_every, work_dir / "backup",
                         history_path=work_dir / "history.json", callbacks=extra, verbose=verbose)


def write_snapshot_index(path, runs):
    """``index.json`` for snapshots: ``runs`` maps a name to ``{"config": backbone config, "dir": folder}``.

    Each entry lists ``{"step", "path"}`` for the snapshot files found (paths relative to the index).
    """
    path = Path(path)
    index = {}
    for name, run in runs.items():
        folder = Path(run["dir"])
        files = sorted(folder.glob("step_*.weights.h5"), key=lambda p: int(p.name.split("_")[1].split(".")[0]))
        index[name] = {"config": run["config"], "snapshots": [
            {"step": int(f.name.split("_")[1].split(".")[0]), "path": os.path.relpath(f, path.parent)} for f in files]}
    return write_json(path, index)


def load_snapshot(index_path, name, step):
    """The `MobileBertBackbone` of run ``name`` at ``step``, rebuilt from ``index.json`` and its weights file."""
    from arlm.models import MobileBertBackbone

    index_path = Path(index_path)
    index = read_json(index_path)
    if name not in index:
        raise ArtifactError(f"{index_path}: no run {name!r}; runs are: {', '.join(index)}")
    entry = {s["step"]: s["path"] for s in index[name]["snapshots"]}
    if step not in entry:
        raise ArtifactError(f"{index_path}: run {name!r} has no snapshot at step {step}; steps: {sorted(entry)}")
    backbone = MobileBertBackbone(**index[name]["config"])
    backbone.load_weights(index_path.parent / entry[step])
    return backbone


def count_lines(path):
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def train_teacher(preset, cfg, data_dir, vocab_path, work_dir, snapshot_dir=None, runtime=None, verbose="auto"):
    """Pretrain preset ``preset`` (shrunk to scale ``cfg``) on chapter 1's TFRecords in ``data_dir``.

    Reads ``meta.json`` for the sequence length and prediction slots; the vocabulary size is the number of
    lines of ``vocab_path``. Uses the scale's ``teacher_steps``, ``batch_size``, ``teacher_learning_rate``,
    ``warmup_steps``, ``checkpoint_every``, ``jit_compile`` and (through the global dtype policy set by
    `arlm.runtime.setup`) ``mixed_precision``; snapshots at ``figure1_checkpoints`` evenly spaced steps.
    Returns ``(pretrainer, history records)``.
    """
    from arlm.models import MobileBertBackbone, MobileBertPretrainer, preset_at_scale
    from arlm.pretraining_data import load_dataset, read_meta

    meta = read_meta(data_dir)
    config = preset_at_scale(preset, cfg, vocab_size=count_lines(vocab_path))
    if meta["max_seq_length"] > config.max_position_embeddings:
        raise ArtifactError(f"{data_dir}/meta.json: max_seq_length {meta['max_seq_length']} exceeds the model's "
                            f"{config.max_position_embeddings} positions")
    scope = runtime.scope() if runtime is not None else contextlib.nullcontext()
    with scope:
        pretrainer = MobileBertPretrainer(MobileBertBackbone.from_mobilebert_config(config, name=f"{preset}_backbone"))
        compile_pretrainer(pretrainer, cfg.teacher_learning_rate, cfg.teacher_steps, cfg.warmup_steps,
                           jit_compile=cfg.jit_compile)

    def make_dataset():
        return load_dataset(data_dir, cfg.batch_size, meta["max_seq_length"], meta["max_predictions_per_seq"],
                            seed=cfg.seed)

    steps = snapshot_steps(cfg.teacher_steps, cfg.figure1_checkpoints) if snapshot_dir else ()
    records = pretrain(pretrainer, make_dataset, cfg.teacher_steps, cfg.checkpoint_every, work_dir,
                       snapshot_steps=steps, snapshot_dir=snapshot_dir, verbose=verbose)
    return pretrainer, records


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


def summarize_history(records, keys=("loss", "mlm_accuracy", "nsp_accuracy"), window=None):
    """First and last values (means over ``window`` steps, default a tenth of the run) of each of ``keys``."""
    if not records:
        return {}
    window = window or max(1, len(records) // 10)
    summary = {"steps": records[-1]["step"]}
    for key in keys:
        values = [r[key] for r in records if key in r]
        if values:
            summary[f"{key}_first"] = sum(values[:window]) / len(values[:window])
            summary[f"{key}_last"] = sum(values[-window:]) / len(values[-window:])
    return summary
