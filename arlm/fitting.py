"""Resumable training for every stage of the book: exact resume, verified checkpoints, finished stages reused.

A stage of ``total_steps`` updates runs as Keras epochs of ``steps_per_epoch`` steps (`fit_resumable`). At the end
of every ``checkpoint_every`` steps it writes a checkpoint of the whole training state into ``work_dir``:

* every variable of the model (weights, and the `SeedGenerator` states behind dropout) and of its optimizer
  (moments, step count), one ``.npz`` file;
* beside it a ``.json`` record written after the arrays: step, the variables' paths and shapes, the arrays'
  sha256, the run's length and checkpoint interval;
* the per-step history since the previous checkpoint, as one more file in ``history/`` (appended, never
  rewritten).

Every file goes through `arlm.files.atomic_path`, so a kill at any moment leaves the previous checkpoint intact.
A rerun of the same command restores the newest checkpoint that verifies (falling back to the one before when
the newest is unreadable), skips the batches already consumed (the datasets of this book are seeded and repeat
batch for batch) and continues to exactly the weights an uninterrupted run ends with.

A `Stage` records a stage as finished once its result is saved; a rerun reuses the result instead of training
again (a finished teacher is never retrained because a later stage was interrupted).

>>> stage = Stage("runs/tiny/02_teacher/train/iberta")                                 # doctest: +SKIP
>>> records = fit_resumable(model, make_dataset, 30, 10, stage.dir)                    # doctest: +SKIP
>>> stage.finish({"model": "teacher.keras"})                                             # doctest: +SKIP
"""

import json
import math
import os
import re
import shutil
from pathlib import Path

import keras
import numpy as np

from arlm import runtime
from arlm.errors import ArtifactError, ParameterError, TrainingDiverged
from arlm.files import atomic_path, file_sha256, read_json, write_json

CHECKPOINT_FORMAT = 1
KEEP_CHECKPOINTS = 2
_CHECKPOINT = re.compile(r"ckpt-(\d+)\.json")


@keras.saving.register_keras_serializable(package="arlm")
class LastValue(keras.metrics.Metric):
    """A metric whose result is the value of the last update, so per-step logs are exact (not running means).

    Averaged over replicas under a TF strategy (each replica sees its share of the batch).
    """

    def __init__(self, name="last_value", **kwargs):
        super().__init__(name=name, **kwargs)
        self.value = self.add_variable(shape=(), initializer="zeros", name="value", aggregation="mean")

    def update_state(self, value, sample_weight=None):
        self.value.assign(keras.ops.cast(value, self.value.dtype))

    def result(self):
        # a tensor, not the variable: jitted JAX steps may not return Keras variables in their logs
        return keras.ops.convert_to_tensor(self.value)

    def reset_state(self):
        self.value.assign(0.0)


def state_variables(model):
    """Every variable a training run changes: the model's (seed generators included) and its optimizer's."""
    seen, variables = set(), []
    for variable in [*model.variables, *model.optimizer.variables]:
        if id(variable) not in seen:
            seen.add(id(variable))
            variables.append(variable)
    return variables


class Checkpoints:
    """The checkpoints of one run in ``directory``: ``ckpt-<step>.npz`` + ``ckpt-<step>.json``, newest two kept."""

    def __init__(self, directory):
        self.dir = Path(directory)

    def steps(self):
        """Steps that have a checkpoint record, newest first."""
        if not self.dir.is_dir():
            return []
        found = (_CHECKPOINT.fullmatch(path.name) for path in self.dir.iterdir())
        return sorted((int(match[1]) for match in found if match), reverse=True)

    def save(self, model, step, run):
        """Write the training state at ``step``; ``run`` (length, interval) goes into the record."""
        variables = state_variables(model)
        arrays = {f"v{i}": np.asarray(keras.ops.convert_to_numpy(v)) for i, v in enumerate(variables)}
        arrays_path = self.dir / f"ckpt-{step}.npz"
        with atomic_path(arrays_path) as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)
        record = {"format": CHECKPOINT_FORMAT, "step": int(step), **run, "arrays": arrays_path.name,
                  "sha256": file_sha256(arrays_path), "variables": [
                      {"path": v.path, "shape": list(v.shape), "dtype": str(arrays[f"v{i}"].dtype)}
                      for i, v in enumerate(variables)]}
        write_json(self.dir / f"ckpt-{step}.json", record)  # last: a checkpoint exists once its record does
        for old in self.steps()[KEEP_CHECKPOINTS:]:
            for suffix in (".json", ".npz"):
                (self.dir / f"ckpt-{old}{suffix}").unlink(missing_ok=True)

    def _verified(self, step):
        """The record of the checkpoint at ``step`` if its arrays are whole, else a reason string."""
        record_path = self.dir / f"ckpt-{step}.json"
        try:
            record = read_json(record_path)
            arrays_path = self.dir / record["arrays"]
            if record.get("format") != CHECKPOINT_FORMAT or record["step"] != step:
                return f"{record_path}: not a checkpoint record of this version of arlm"
        except (OSError, ValueError, KeyError, TypeError) as error:
            return f"{record_path}: unreadable ({error})"
        if not arrays_path.is_file():
            return f"{arrays_path} is missing"
        if file_sha256(arrays_path) != record["sha256"]:
            return f"{arrays_path}: its checksum does not match {record_path.name} (truncated or overwritten)"
        return record

    def latest(self):
        """The newest checkpoint record that verifies (older ones are tried when it does not), or None."""
        for step in self.steps():
            found = self._verified(step)
            if isinstance(found, dict):
                return found
            print(f"checkpoint at step {step} skipped: {found}")
        return None

    def restore(self, model, record):
        """Load a verified checkpoint into ``model`` and its optimizer (both built)."""
        variables = state_variables(model)
        expected = [(_generic(v.path), list(v.shape)) for v in variables]
        stored = [(_generic(v["path"]), v["shape"]) for v in record["variables"]]
        if expected != stored:
            raise ArtifactError(f"{self.dir}: checkpoint at step {record['step']} holds another model's variables "
                                f"({len(stored)} variables, this model has {len(expected)}); delete the folder to "
                                "start this stage over")
        with np.load(self.dir / record["arrays"], allow_pickle=False) as arrays:
            for i, variable in enumerate(variables):
                variable.assign(arrays[f"v{i}"])
        restored = int(keras.ops.convert_to_numpy(model.optimizer.iterations))  # updates, not micro-batches
        if restored != record["step"]:
            raise ArtifactError(f"{self.dir}: checkpoint record says update {record['step']} but its optimizer has "
                                f"done {restored} steps; delete the folder to start this stage over")


class _ShowProgress(keras.callbacks.Callback):
    """One `arlm.progress.Progress` over the run's updates, with the latest loss and accuracies."""

    def __init__(self, desc, total_steps, start, accumulation):
        super().__init__()
        self.desc, self.total, self.start, self.accumulation = desc, total_steps, start, accumulation

    def on_train_begin(self, logs=None):
        from arlm.progress import Progress

        self.progress = Progress(self.total, self.desc, initial=self.start, unit="step")

    def on_train_batch_end(self, batch, logs=None):
        if (batch + 1) % self.accumulation == 0:
            shown = {k: float(v) for k, v in (logs or {}).items() if k == "loss" or k.endswith("accuracy")}
            self.progress.update(1, **shown)

    def on_train_end(self, logs=None):
        self.progress.close()


def _generic(path):
    """A variable path without numbers: Keras' per-process name counters (``dense_3/kernel``, and inside optimizer
    slot names ``adam_1/dense_3_kernel_momentum``) differ between two processes that build the same model."""
    return re.sub(r"_\d+", "", path)


class _History(keras.callbacks.Callback):
    """Per-update logs ``{"step": t, name: value}``, appended to ``history/<step>.json`` at every checkpoint.

    With gradient accumulation a Keras step is one of ``accumulation`` micro-batches: the record is taken at the
    last one of each update. A loss that is NaN or infinite stops the run with a `TrainingDiverged` error naming
    the update and the learning rate, before any checkpoint holds such weights.
    """

    def __init__(self, directory, steps_per_epoch, start, accumulation=1):
        super().__init__()
        self.dir = Path(directory)
        self.steps_per_epoch, self.accumulation = steps_per_epoch, accumulation
        self.pending = []
        self.epoch = start // steps_per_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        # counted here: on JAX the optimizer's step variable is only synchronised at epoch ends
        if (batch + 1) % self.accumulation:
            return
        step = self.epoch * self.steps_per_epoch + (batch + 1) // self.accumulation
        record = {"step": step, **{k: float(v) for k, v in (logs or {}).items()}}
        if not math.isfinite(record.get("loss", 0.0)):
            # the weights are NaN from here on: every later update, checkpoint and score would be meaningless
            raise TrainingDiverged(
                f"the loss is {record['loss']} at update {step}: the training diverged and is stopped (peak "
                f"learning rate {peak_learning_rate(self.model.optimizer):g}); rerun with a lower learning rate "
                "(arlm finetune --learning-rate, or the scale's *_learning_rate key)")
        self.pending.append(record)

    def flush(self, step):
        write_json(self.dir / f"{step:012d}.json", [r for r in self.pending if r["step"] <= step])
        self.pending = [r for r in self.pending if r["step"] > step]


def read_history(directory, until=None):
    """The records of ``history/`` in step order (only those up to step ``until``)."""
    directory = Path(directory)
    records = []
    for chunk in sorted(directory.glob("*.json")) if directory.is_dir() else ():
        records.extend(read_json(chunk))
    return [r for r in records if until is None or r["step"] <= until]


def _drop_history_after(directory, step):
    for chunk in Path(directory).glob("*.json"):
        if int(chunk.stem) > step:
            chunk.unlink()


class _Checkpointer(keras.callbacks.Callback):
    """At epoch ends: the step hooks, then every ``every`` steps (and at the end) the history and a checkpoint."""

    def __init__(self, checkpoints, history, steps_per_epoch, every, total_steps, hooks=(), run=None):
        super().__init__()
        self.checkpoints, self.history = checkpoints, history
        self.steps_per_epoch, self.every, self.total_steps = steps_per_epoch, every, total_steps
        self.hooks = hooks
        self.run = run or {"total_steps": total_steps, "checkpoint_every": every}

    def on_epoch_end(self, epoch, logs=None):
        step = (epoch + 1) * self.steps_per_epoch
        for hook in self.hooks:
            hook(self.model, step)
        if step % self.every == 0 or step == self.total_steps:
            self.history.flush(step)
            self.checkpoints.save(self.model, step, self.run)


def epoch_length(total_steps, checkpoint_every, extra_steps=()):
    """Steps per Keras epoch: the largest length that ends an epoch at every checkpoint and at ``extra_steps``."""
    return math.gcd(total_steps, checkpoint_every, *[int(s) for s in extra_steps])


def fit_resumable(model, make_dataset, total_steps, checkpoint_every, work_dir, callbacks=(), step_hooks=(),
                  hook_steps=(), verbose=1, desc=None):
    """Train the compiled ``model`` for ``total_steps`` updates, checkpointed in ``work_dir``; returns the records.

    Args:
        model: a compiled, built `keras.Model`.
        make_dataset: returns a fresh, infinite, seeded ``tf.data.Dataset`` of training batches; on resume the
            batches already consumed are skipped.
        total_steps: the run's number of optimizer updates (with gradient accumulation, each is N micro-batches
            of the dataset: the optimizer's ``gradient_accumulation_steps``).
        checkpoint_every: updates between checkpoints (``total_steps`` need not be a multiple).
        work_dir: the run's folder (``checkpoints/``, ``history/``).
        callbacks: more Keras callbacks.
        step_hooks: functions ``hook(model, step)`` called when an epoch ends at one of ``hook_steps`` or at a
            checkpoint (e.g. snapshots); epochs are cut so that each hook step ends one.
        hook_steps: the steps at which ``step_hooks`` must run.
        verbose: 0 for silence, else one progress indicator for the run (`arlm.progress`), labelled ``desc``
            (default: the work folder's name).

    Returns:
        The per-step history ``[{"step": t, "loss": ..., ...}]`` of the whole run, resumed parts included.
    """
    if total_steps < 1 or checkpoint_every < 1:
        raise ParameterError(f"total_steps ({total_steps}) and checkpoint_every ({checkpoint_every}) must be at "
                             "least 1")
    work_dir = Path(work_dir)
    checkpoints, history_dir = Checkpoints(work_dir / "checkpoints"), work_dir / "history"
    steps_per_epoch = epoch_length(total_steps, checkpoint_every, [s for s in hook_steps if s <= total_steps])
    accumulation = accumulation_steps(model.optimizer)
    with runtime.scope():
        model.optimizer.build(model.trainable_variables)
    record = checkpoints.latest()
    start = 0
    run = {"total_steps": total_steps, "checkpoint_every": checkpoint_every, "accumulation": accumulation}
    if record is not None:
        if any(record.get(key, 1) != value for key, value in run.items()):
            raise ParameterError(
                f"{work_dir} holds a run of {record['total_steps']} updates checkpointed every "
                f"{record['checkpoint_every']} ({record.get('accumulation', 1)} micro-batches each); this one asks for "
                f"{total_steps} every {checkpoint_every} ({accumulation}): rerun with the same parameters to resume "
                f"it, or delete {work_dir} to start over")
        checkpoints.restore(model, record)
        start = record["step"]
        print(f"resuming from step {start} of {total_steps} ({checkpoints.dir})")
    _drop_history_after(history_dir, start)
    if start < total_steps:
        # a Keras step is a micro-batch: epochs end on update (and so checkpoint) boundaries, accumulators empty
        history = _History(history_dir, steps_per_epoch, start, accumulation)
        checkpointer = _Checkpointer(checkpoints, history, steps_per_epoch, checkpoint_every, total_steps,
                                     step_hooks, run)
        shown = [_ShowProgress(desc or work_dir.name, total_steps, start, accumulation)] if verbose else []
        model.fit(make_dataset().skip(start * accumulation), epochs=total_steps // steps_per_epoch,
                  initial_epoch=start // steps_per_epoch, steps_per_epoch=steps_per_epoch * accumulation,
                  shuffle=False, callbacks=[history, checkpointer, *callbacks, *shown], verbose=0)
    return read_history(history_dir)


def peak_learning_rate(optimizer):
    """The learning rate `optimizer` was given: a schedule's peak (`arlm.optimizers.WarmupLinearDecay`), else the
    current rate."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    schedule = getattr(inner, "_learning_rate", None)
    peak = getattr(schedule, "learning_rate", None)
    return float(peak if peak is not None else keras.ops.convert_to_numpy(inner.learning_rate))


def accumulation_steps(optimizer):
    """Micro-batches per update of ``optimizer`` (1 without gradient accumulation; a loss-scaling wrapper's
    inner optimizer counts)."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return getattr(inner, "gradient_accumulation_steps", None) or 1


class Stage:
    """A training stage that runs once: ``finished.json`` in its folder records the files it produced.

    ``stage.json`` records the parameters the stage runs with: a rerun with other parameters in the same folder is
    refused (resuming or reusing it would silently mix two runs) with the keys that differ.

    Args:
        directory: the stage's work folder (checkpoints and history live below it).
        config: the JSON-able parameters the stage's result depends on (model config, steps, rates, seed...).
    """

    def __init__(self, directory, config=None):
        self.dir = Path(directory)
        self.record_path = self.dir / "finished.json"
        if config is not None:
            config = json.loads(json.dumps(config, default=str))  # as it reads back
            stored = self.dir / "stage.json"
            if stored.is_file():
                previous = read_json(stored)
                changed = sorted(key for key in set(previous) | set(config) if previous.get(key) != config.get(key))
                if changed:
                    raise ParameterError(
                        f"{self.dir} holds this stage run with other parameters ({', '.join(changed)}: "
                        f"{', '.join(f'{previous.get(k)!r} there, {config.get(k)!r} now' for k in changed[:3])}); "
                        f"rerun with the same parameters, use another run folder (--out), or delete {self.dir}")
            else:
                write_json(stored, config)

    @property
    def finished(self):
        """The finished record (``{"outputs": {name: path}, "result": {...}}``) if every output is still there and
        unchanged, else None."""
        if not self.record_path.is_file():
            return None
        record = read_json(self.record_path)
        for name, entry in record["outputs"].items():
            path = self.dir / entry["path"]
            if not path.exists() or (path.is_file() and file_sha256(path) != entry["sha256"]):
                print(f"{self.record_path}: output {name} ({path}) is missing or changed: the stage runs again")
                return None
        return record

    def output(self, name):
        return self.dir / self.finished["outputs"][name]["path"]

    def history(self):
        return read_history(self.dir / "history")

    def finish(self, outputs, result=None):
        """Record the stage as finished with its ``outputs`` ({name: path}, already written) and a JSON-able
        ``result``; its checkpoints are no longer needed and are removed."""
        # paths relative to the stage, so a run folder that moves (a bucket's working copy) stays valid
        entries = {name: {"path": os.path.relpath(path, self.dir),
                          "sha256": file_sha256(path) if Path(path).is_file() else None}
                   for name, path in outputs.items()}
        write_json(self.record_path, {"outputs": entries, "result": result or {}})
        shutil.rmtree(self.dir / "checkpoints", ignore_errors=True)


def stage_config(cfg, keys, **more):
    """A `Stage` config: the scale's values of ``keys`` (and the seed), plus ``more``."""
    return {"seed": cfg.seed, **{key: cfg.values[key] for key in keys}, **more}


def predict(model, inputs, batch_size):
    """``model.predict`` on a dict of arrays in full batches: the last one is padded with zeros and the padding
    dropped from the outputs (a data-parallel mesh splits every batch evenly over its devices)."""
    count = len(next(iter(inputs.values())))
    padded = -(-count // batch_size) * batch_size
    if padded != count:
        inputs = {name: np.concatenate([value, np.zeros((padded - count, *value.shape[1:]), value.dtype)])
                  for name, value in inputs.items()}
    outputs = model.predict(inputs, batch_size=batch_size, verbose=0)
    return keras.tree.map_structure(lambda value: np.asarray(value)[:count], outputs)
