"""A tiny teacher pretraining, then stage 2 and stage 3 of distillation, as one resumable run (for
test_fault_injection.py). It can kill itself with SIGKILL at a chosen point, as a preempted machine would.

    python fault_run.py WORK_DIR [--kill STAGE:POINT[:STEP]] [--weights OUT.npz] [--bfloat16]
        [--teacher-only]

POINT is ``mid-step`` (at the start of update STEP), ``after-checkpoint`` (once the checkpoint of STEP is
written), ``after-last`` (after the stage's last checkpoint, before its model is saved), ``during-checkpoint``
(half-way through writing the checkpoint of STEP) or ``during-save`` (half-way through saving the stage's
model). The final weights of the three models go to ``--weights``. ``--bfloat16`` trains in ``mixed_bfloat16``;
``--teacher-only`` stops after the teacher (its weights alone go to ``--weights``).
"""

import argparse
import os
import signal
import sys
from pathlib import Path

import numpy as np

import arlm  # noqa: F401  (before TensorFlow, as the book imports it)

sys.path.insert(0, str(Path(__file__).parent))

STEPS = 6  # every stage: 6 updates, a checkpoint every 2 (KT: 3 per layer, 2 layers)


def die():
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def install(kill):
    """Arrange for SIGKILL at ``kill`` = (stage, point, step); returns the Keras callback that does it, if any."""
    import keras

    from arlm import fitting, saving

    stage, point, step = kill
    current = {"stage": None}
    original_save, original_savez = saving.save_model, np.savez

    def save_model(model, path):
        if current["stage"] == stage and point == "during-save":
            real = keras.Model.save

            def half_save(self, filepath, *args, **kwargs):
                real(self, filepath, *args, **kwargs)
                Path(filepath).write_bytes(Path(filepath).read_bytes()[:1000])  # half-written, then the power goes
                die()

            keras.Model.save = half_save
        return original_save(model, path)

    def savez(handle, **arrays):
        if current["stage"] == stage and point == "during-checkpoint" and current.get("step") == step:
            handle.write(b"PK\x03\x04 half of a checkpoint")
            handle.flush()
            die()
        return original_savez(handle, **arrays)

    saving.save_model = save_model
    for module in ("arlm.training", "arlm.distillation.stages"):
        __import__(module)
        sys.modules[module].save_model = save_model
    np.savez = savez
    original_checkpoint = fitting.Checkpoints.save

    def checkpoint(self, model, at, run):
        current["step"] = at
        original_checkpoint(self, model, at, run)
        if current["stage"] == stage and point == "after-checkpoint" and at == step:
            die()
        if current["stage"] == stage and point == "after-last" and at == run["total_steps"]:
            die()

    fitting.Checkpoints.save = checkpoint

    class Kill(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):  # counted here: on JAX the step variable is synchronised per epoch
            self.step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

        def on_train_batch_begin(self, batch, logs=None):
            self.step += 1
            if current["stage"] == stage and point == "mid-step" and self.step == step:
                die()

    return current, Kill()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("work")
    parser.add_argument("--kill")
    parser.add_argument("--weights")
    parser.add_argument("--bfloat16", action="store_true")
    parser.add_argument("--teacher-only", action="store_true")
    args = parser.parse_args()
    kill = None
    if args.kill:
        stage, point, *step = args.kill.split(":")
        kill = (stage, point, int(step[0]) if step else None)

    import keras
    from distillation_helpers import make_dataset, tiny_pretrainer

    from arlm import saving, training
    from arlm.distillation import stages
    from arlm.fitting import Stage
    from arlm.scales import resolve

    if args.bfloat16:  # before any model is built or loaded: they take the global policy
        keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    current, killer = install(kill) if kill else ({"stage": None}, None)
    callbacks = [killer] if killer else []
    work = Path(args.work)
    # jitted on JAX (faster than its eager ops even for a few steps), eager on TF (tracing costs more there)
    jax = keras.backend.backend() == "jax"
    cfg = resolve("tiny", kt_steps_per_layer=STEPS // 2, distill_steps=STEPS, checkpoint_every=2, warmup_steps=1,
                  eager_below_steps=0 if jax else 100, jit_compile=jax)
    data = make_dataset()

    # the teacher: as train_teacher does, a Stage whose model is saved once
    current["stage"] = "teacher"
    teacher_stage = Stage(work / "teacher")
    if teacher_stage.finished:
        teacher = saving.load_model(teacher_stage.output("model"))
    else:
        teacher = tiny_pretrainer("teacher", 1)
        teacher(next(iter(data()))[0])
        training.compile_pretrainer(teacher, 1e-2, STEPS, 1, jit_compile=jax, run_eagerly=not jax)
        training.pretrain(teacher, data, STEPS, cfg.checkpoint_every, teacher_stage.dir, tensorboard=False,
                          callbacks=callbacks, verbose=0)
        teacher_stage.finish({"model": saving.save_model(teacher, work / "teacher" / "model.keras")})
    if args.teacher_only:
        return save_weights(args.weights, {"teacher": teacher})
    keras.utils.set_random_seed(cfg.seed)
    current["stage"] = "kt"
    fit = stages.fit_resumable

    def fit_with_killer(*a, **kw):
        return fit(*a, callbacks=callbacks, **kw)

    stages.fit_resumable = fit_with_killer
    student, _ = stages.run_knowledge_transfer(teacher, tiny_pretrainer("student", 2), data, cfg, work, verbose=0)
    current["stage"] = "pd"
    student, _ = stages.run_pretraining_distillation(teacher, student, data, cfg, work, verbose=0)
    if args.weights:
        kt = saving.load_model(work / "student_kt.keras", compile=False)
        save_weights(args.weights, {"teacher": teacher, "kt": kt, "pd": student})


def save_weights(path, models):
    """The weights of ``{name: model}`` into the ``.npz`` file `path` (nothing when it is None)."""
    import keras

    if path:
        np.savez(path, **{f"{name}_{i}": keras.ops.convert_to_numpy(v)
                          for name, model in models.items() for i, v in enumerate(model.weights)})


if __name__ == "__main__":
    main()
