"""Resumable `model.fit` for the distillation stages: checkpoints at epoch ends, exact resume, per-step history.

A stage of ``total_steps`` updates is run as ``total_steps / steps_per_epoch`` Keras epochs. Keras'
`BackupAndRestore` saves model and optimizer state at every epoch end; on restart it restores them and the
epoch number, and `fit_resumable` skips the batches already consumed, so a deterministic dataset (seeded
shuffle) makes an interrupted stage resume to the state it would have reached without the interruption.

>>> history = fit_resumable(model, make_dataset, total_steps=40, steps_per_epoch=10,
...                         backup_dir="runs/tiny/03_knowledge_transfer/backup",
...                         history_path="runs/tiny/03_knowledge_transfer/history.json")  # doctest: +SKIP
"""

import json
from pathlib import Path

import keras

from arlm.errors import ParameterError
from arlm.io import read_json, write_json


@keras.saving.register_keras_serializable(package="arlm")
class LastValue(keras.metrics.Metric):
    """A metric whose result is the value of the last update, so per-step logs are exact (not running means)."""

    def __init__(self, name="last_value", **kwargs):
        super().__init__(name=name, **kwargs)
        self.value = self.add_variable(shape=(), initializer="zeros", name="value")

    def update_state(self, value, sample_weight=None):
        self.value.assign(keras.ops.cast(value, self.value.dtype))

    def result(self):
        return self.value

    def reset_state(self):
        self.value.assign(0.0)


class StepHistory(keras.callbacks.Callback):
    """Records every step's logs as ``{"step": t, name: value, ...}`` and writes them to ``path`` at epoch ends.

    On a resumed run the records after the restored step are dropped, so the file matches the checkpoint.
    Must come after `BackupAndRestore` in the callback list.
    """

    def __init__(self, path=None):
        super().__init__()
        self.path = Path(path) if path else None
        self.records = []

    def on_train_begin(self, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        if self.path is not None and self.path.exists():
            self.records = [r for r in read_json(self.path) if r["step"] <= step]
        else:
            self.records = [r for r in self.records if r["step"] <= step]

    def on_train_batch_end(self, batch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        self.records.append({"step": step, **{k: float(v) for k, v in (logs or {}).items()}})

    def on_epoch_end(self, epoch, logs=None):
        if self.path is not None:
            write_json(self.path, self.records)


def resume_epoch(backup_dir):
    """The epoch a `BackupAndRestore` folder will resume from (0 when there is none)."""
    path = Path(backup_dir) / "training_metadata.json"
    return int(json.loads(path.read_text())["epoch"]) if path.exists() else 0


def fit_resumable(model, make_dataset, total_steps, steps_per_epoch, backup_dir, history_path=None, callbacks=(),
                  verbose="auto"):
    """Train ``model`` for ``total_steps`` updates, resumable from ``backup_dir``; returns the step records.

    ``make_dataset()`` returns a fresh, infinite (repeated) ``tf.data.Dataset``; batches consumed before the
    checkpoint are skipped on resume. The backup folder is deleted once training completes.
    """
    if total_steps % steps_per_epoch:
        raise ParameterError(f"total_steps ({total_steps}) must be a multiple of steps_per_epoch ({steps_per_epoch})")
    epochs = total_steps // steps_per_epoch
    start = resume_epoch(backup_dir)
    if start >= epochs:
        return read_json(history_path) if history_path and Path(history_path).exists() else []
    dataset = make_dataset()
    if start:
        print(f"resuming from step {start * steps_per_epoch} of {total_steps} ({backup_dir})")
        dataset = dataset.skip(start * steps_per_epoch)
    history = StepHistory(history_path)
    backup = keras.callbacks.BackupAndRestore(str(backup_dir), save_freq="epoch", double_checkpoint=True)
    model.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, callbacks=[backup, history, *callbacks],
              verbose=verbose)
    return history.records
