"""Teacher pretraining: resume after an interruption equals an uninterrupted run; snapshots and their index."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import VOCAB, assert_same_weights, tiny_config  # noqa: E402

from arlm.mobilebert import MobileBertBackbone, MobileBertPretrainer  # noqa: E402
from arlm.scales import resolve  # noqa: E402
from arlm.training import (  # noqa: E402
    compile_pretrainer,
    epoch_means,
    epoch_steps,
    frequent_piece_accuracy,
    load_snapshot,
    pretrain,
    snapshot_steps,
    summarize_history,
    teacher_finding,
    write_snapshot_index,
)

CONFIG = tiny_config("iberta", hidden_dropout=0.0, attention_dropout=0.0).to_dict()


def make_dataset():
    rng = np.random.default_rng(0)
    n, t, p = 24, 10, 3
    x = {"token_ids": rng.integers(5, VOCAB, (n, t)).astype("int32"), "segment_ids": np.zeros((n, t), "int32"),
         "padding_mask": np.ones((n, t), "int32"), "mask_positions": rng.integers(1, t, (n, p)).astype("int32")}
    y = {"masked_lm_ids": rng.integers(5, VOCAB, (n, p)).astype("int32"),
         "masked_lm_weights": np.ones((n, p), "float32"),
         "next_sentence_labels": rng.integers(0, 2, (n,)).astype("int32")}
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(4).repeat()


def fresh_pretrainer():
    keras.utils.set_random_seed(7)
    pretrainer = MobileBertPretrainer(MobileBertBackbone(**CONFIG))
    compile_pretrainer(pretrainer, 1e-2, total_steps=6, warmup_steps=2)
    pretrainer.run_eagerly = True  # six tiny steps: tracing would cost more than running
    return pretrainer


class Interrupt(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) == 5:
            raise KeyboardInterrupt("simulated Colab disconnect")


def test_resume_after_interruption_equals_uninterrupted_run(tmp_path):
    reference = fresh_pretrainer()
    pretrain(reference, make_dataset, 6, 2, tmp_path / "a", tensorboard=False, verbose=0)

    interrupted = fresh_pretrainer()
    with pytest.raises(KeyboardInterrupt):
        pretrain(interrupted, make_dataset, 6, 2, tmp_path / "b", tensorboard=False, verbose=0,
                 callbacks=[Interrupt()])
    resumed = fresh_pretrainer()  # a new process: fresh model, state comes from the checkpoint at step 4
    resumed(next(iter(make_dataset()))[0])  # built, so that the checkpoint can be restored into it
    records = pretrain(resumed, make_dataset, 6, 2, tmp_path / "b", snapshot_steps=[6],
                       snapshot_dir=tmp_path / "b" / "snapshots", verbose=0)
    assert int(keras.ops.convert_to_numpy(resumed.optimizer.iterations)) == 6
    for got, want in zip(resumed.weights, reference.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want),
                                      err_msg=got.path)
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert {"mlm_accuracy", "nsp_accuracy", "loss"} <= set(records[-1])

    index = write_snapshot_index(tmp_path / "index.json", {"tiny": {"config": resumed.backbone.config.to_dict(),
                                                                    "dir": tmp_path / "b" / "snapshots"}})
    assert (tmp_path / "b" / "snapshots" / "step_6" / "config.json").is_file()  # a preset folder per snapshot
    assert_same_weights(load_snapshot(index, "tiny", 6), resumed.backbone)
    with pytest.raises(FileNotFoundError, match="no snapshot at step 3"):
        load_snapshot(index, "tiny", 3)


def test_running_means_are_read_at_epoch_ends_only():
    # Keras' running mean restarts with each epoch: within an epoch of 3 steps it averages the steps so far
    per_step = [9.0, 8.0, 7.0, 6.0, 5.0, 4.0]
    records = [{"step": t + 1, "loss": np.mean(per_step[t - t % 3:t + 1]), "mlm_accuracy": 0.01 * (t + 1)}
               for t in range(6)]
    assert [r["loss"] for r in epoch_means(records, 3)] == [8.0, 5.0]  # each the mean over its epoch
    summary = summarize_history(records, 3)
    assert summary == {"steps": 6, "epoch_steps": 3, "loss_first": 8.0, "loss_last": 5.0, "mlm_accuracy_first": 0.03,
                       "mlm_accuracy_last": 0.06}
    said = teacher_finding(summary, 0.01, "cpu", 10_000)
    assert "in epochs of 3" in said and "went from 8.00 (steps 1-3) to 5.00 (steps 4-6)" in said
    assert said.endswith("learnt something from the context.")
    assert "within two standard errors of it (100 masked tokens)" in teacher_finding(summary, 0.05, "cpu", 100)
    assert teacher_finding(summary, 0.2, "cpu", 100).endswith("more than the piece frequencies.")
    assert epoch_steps(resolve("cpu")) == 500 and epoch_steps(resolve("tiny")) == 10  # checkpoints and snapshots
    assert epoch_steps(resolve("tiny", teacher_steps=40, checkpoint_every=20), snapshots=False) == 20


def test_snapshot_steps_are_evenly_spaced():
    assert snapshot_steps(30, 3) == [10, 20, 30]
    assert snapshot_steps(1500, 4) == [375, 750, 1125, 1500]


def test_frequent_piece_accuracy_counts_real_labels_only():
    ids = np.array([[7, 7, 9], [7, 8, 0]], "int32")
    weights = np.array([[1, 1, 1], [1, 1, 0]], "float32")  # the padded slot (id 0) must not count
    dataset = tf.data.Dataset.from_tensor_slices(({"x": ids}, {"masked_lm_ids": ids, "masked_lm_weights": weights}))
    assert frequent_piece_accuracy(dataset.batch(1), batches=2) == 3 / 5


def test_train_teacher_with_another_optimizer_and_normalization(tmp_path):
    from arlm import corpus, scales
    from arlm.optimizers import AdamW
    from arlm.pretraining_data import PretrainingConfig, create_pretraining_data
    from arlm.tokenizer import train_vocabulary
    from arlm.training import train_teacher

    documents = [d.lines for d in corpus.iter_corpus(corpus.default_sources().sources[:1], max_words=8000)]
    train_vocabulary(documents, 400, tmp_path / "vocab.txt")
    create_pretraining_data(documents, tmp_path / "vocab.txt", tmp_path / "data",
                            PretrainingConfig(max_seq_length=32, max_predictions_per_seq=5, dupe_factor=1),
                            workers=1, progress=False)
    cfg = scales.resolve("tiny", teacher_steps=2, warmup_steps=1, checkpoint_every=2, batch_size=4)
    pretrainer, records = train_teacher("iberta", cfg, tmp_path / "data", tmp_path / "vocab.txt", tmp_path / "run",
                                        verbose=0, optimizer="adamw",
                                        model_overrides={"normalization_type": "no_norm"})
    assert isinstance(pretrainer.optimizer, AdamW) and len(records) == 2
    assert pretrainer.backbone.config.normalization_type == "no_norm"
    assert "NoNorm" in {type(layer).__name__ for layer in pretrainer.backbone._flatten_layers()}
    # the stage records the variant: the same folder refuses the paper's optimizer instead of reusing the run
    from arlm.errors import ArlmError

    with pytest.raises(ArlmError):
        train_teacher("iberta", cfg, tmp_path / "data", tmp_path / "vocab.txt", tmp_path / "run", verbose=0)


def test_bfloat16_pretraining_stays_within_the_seed_spread_of_float32(tmp_path):
    """20 LAMB updates of a tiny teacher in mixed_bfloat16 follow the float32 run of the same seed (same
    initialisation, data and dropout) more closely than a float32 run of another seed does."""
    from distillation_helpers import make_dataset as copy_task  # learnable: the masked pieces are in the input
    from distillation_helpers import tiny_pretrainer

    from arlm import runtime

    def losses(seed, policy):
        with runtime.dtype_policy(policy):
            model = tiny_pretrainer("teacher", seed)
            compile_pretrainer(model, 1e-2, total_steps=20, warmup_steps=2, run_eagerly=True)
            records = pretrain(model, copy_task(), 20, 20, tmp_path / f"{policy}-{seed}", tensorboard=False,
                               verbose=0)
        return np.array([r["loss"] for r in records])

    float32, bfloat16, other_seed = losses(1, "float32"), losses(1, "mixed_bfloat16"), losses(2, "float32")
    assert float32[-5:].mean() < float32[:5].mean() - 0.15  # it learns
    assert np.abs(bfloat16 - float32).mean() < np.abs(other_seed - float32).mean()
