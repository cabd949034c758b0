"""Every training stage of the book for three steps on fixed tiny batches, on the devices `ARLM_DEVICES` asks for
(for test_distribution.py, which compares the losses of 8 simulated devices with those of one).

    KERAS_BACKEND=jax ARLM_DEVICES=cpu:8 python distribution_run.py OUT.json [--no-dropout]

With ``--no-dropout`` every dropout rate is 0: a TF strategy draws each replica's dropout masks on its own, so
only then can two replicas reproduce one device's losses. Writes
``{"plan": ..., "losses": {stage: [loss per step]}, "sharding": ...}``.
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

import arlm

sys.path.insert(0, str(Path(__file__).parent))

GLOBAL_BATCH = 8
STEPS = 3


def pretraining_data():
    """Two-sentence batches with some padding, the same on every run."""
    import tensorflow as tf
    from distillation_helpers import batches

    x, y = batches(count=STEPS * GLOBAL_BATCH // 4, seed=0)
    return lambda: tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH, drop_remainder=True).repeat()


def task_data(kind, length=12, count=GLOBAL_BATCH * STEPS, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((count, length), "int32")
    mask[::3, -4:] = 0
    inputs = {"token_ids": (rng.integers(5, 40, (count, length)) * mask).astype("int32"),
              "segment_ids": np.zeros((count, length), "int32"), "padding_mask": mask}
    if kind == "classification":
        return inputs, rng.integers(0, 2, count).astype("int32")
    if kind == "tagging":
        return inputs, (rng.integers(1, 5, (count, length)) * mask).astype("int32")
    return inputs, {"start_logits": rng.integers(1, 8, count).astype("int32"),
                    "end_logits": rng.integers(1, 8, count).astype("int32")}


def losses_of(records):
    return [float(r["loss"]) for r in records]


def main():
    import keras

    from arlm import runtime, training
    from arlm.distillation import stages
    from arlm.mobilebert import MobileBertTextClassifier, SpanQA, TokenTagger
    from arlm.tasks import finetune

    # JAX: jitted, its real path (and faster than its eager ops); TF: eager, tracing costs more than 3 tiny steps
    jax = keras.backend.backend() == "jax"
    cfg = arlm.scales.resolve("tiny", kt_steps_per_layer=2, distill_steps=STEPS, checkpoint_every=1, warmup_steps=1,
                              jit_compile=jax, eager_below_steps=0 if jax else 100, finetune_batch_size=GLOBAL_BATCH,
                              finetune_epochs=1)
    rt = runtime.setup(cfg, verbose=False)
    rates = {"hidden_dropout": 0.0, "attention_dropout": 0.0} if "--no-dropout" in sys.argv else {}
    work = Path(tempfile.mkdtemp())
    data = pretraining_data()
    out = {"plan": rt.describe(), "losses": {}}

    def model(kind, seed):
        from distillation_helpers import tiny_pretrainer

        with runtime.scope():
            return tiny_pretrainer(kind, seed, **rates)

    teacher = model("teacher", 1)
    teacher(next(iter(data()))[0])
    with runtime.scope():
        training.compile_pretrainer(teacher, 1e-2, STEPS, 1, jit_compile=rt.jit_compile(jax), run_eagerly=not jax)
    out["losses"]["teacher"] = losses_of(training.pretrain(teacher, data, STEPS, 1, work / "teacher",
                                                           tensorboard=False, verbose=0))
    student, kt = stages.run_knowledge_transfer(teacher, model("student", 2), data, cfg, work, verbose=0)
    out["losses"]["knowledge_transfer"] = losses_of(kt)
    _, pd = stages.run_pretraining_distillation(teacher, student, data, cfg, work, verbose=0)
    out["losses"]["distillation"] = losses_of(pd)
    _, scratch = stages.run_scratch_pretraining(model("student", 3), data, cfg, work, STEPS, verbose=0)
    out["losses"]["scratch"] = losses_of(scratch)

    dropout = 0.0 if rates else 0.1
    heads = {"classification": (lambda b: MobileBertTextClassifier(b, num_classes=2, dropout=dropout),
                                keras.losses.SparseCategoricalCrossentropy(from_logits=True), None),
             "tagging": (lambda b: TokenTagger(b, 5, crf=True, dropout=dropout, max_seq_length=12), None, None),
             "qa": (lambda b: SpanQA(b, max_seq_length=12), *SpanQA.span_loss())}
    for kind, (build, loss, weights) in heads.items():
        backbone = model("student", 4).backbone
        inputs, targets = task_data(kind)
        head = finetune._get_model(None, kind, backbone, lambda b=backbone, f=build: f(b), cfg, 1e-3,
                                   len(inputs["token_ids"]), cfg.seed, loss=loss, loss_weights=weights)
        info = finetune._fit(head, inputs, targets, cfg, cfg.seed, work / kind, verbose=0)
        out["losses"][kind] = losses_of(arlm.fitting.read_history(work / kind / "history"))
        out["losses"][f"{kind}_final"] = [info["final_train_loss"]]
        predicted = finetune._predict(head, {k: v[:13] for k, v in inputs.items()}, GLOBAL_BATCH)  # a ragged tail
        out.setdefault("predicted_rows", {})[kind] = len(next(iter(keras.tree.flatten(predicted))))

    if keras.backend.backend() == "jax":
        import jax

        distribution = keras.distribution.distribution()
        if distribution is not None:
            layout = distribution.get_data_layout((GLOBAL_BATCH, 12))
            batch = jax.device_put(np.zeros((GLOBAL_BATCH, 12), "int32"), layout.backend_layout)
            variable = teacher.backbone.token_embedding.embeddings.value
            out["sharding"] = {"batch_shards": [list(s.data.shape) for s in batch.addressable_shards],
                               "weight_devices": len(variable.sharding.device_set)}
    Path(sys.argv[1]).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
