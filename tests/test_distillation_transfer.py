"""Stage 2 on tiny real models: initialisation from the teacher, per-block freezing, a teacher that never changes,
and a resumed run that ends where an uninterrupted one does."""

import keras
import numpy as np
import pytest
from distillation_helpers import batches, changed, make_dataset, snapshot, tiny_pretrainer

from arlm.distillation import transfer
from arlm.distillation.stages import run_knowledge_transfer
from arlm.fitting import fit_resumable
from arlm.saving import load_model
from arlm.scales import resolve

S = 3  # steps per layer


@pytest.fixture(scope="module")
def trained():
    """Which variables moved in phase 0 and in phase 1 of a 2-block transfer, and block 1's moments after phase 0."""
    teacher, student = tiny_pretrainer("teacher", 1), tiny_pretrainer("student", 2)
    model = transfer.ProgressiveKnowledgeTransfer(teacher, student, steps_per_layer=S)
    model(batches(1)[0])
    model.compile(optimizer=model.make_optimizer(1e-2), run_eagerly=True)  # eager: no tracing, faster here
    dataset = make_dataset()().take(2 * S)
    blocks = transfer.encoder_blocks(student.backbone)
    encoder = {id(v) for block in blocks for v in block.weights}
    groups = {"teacher": teacher.weights, "block_0": blocks[0].trainable_weights, "block_1": blocks[1].weights,
              "others": [v for v in student.weights if id(v) not in encoder]}
    moved = []
    for phase in range(2):
        before = snapshot(teacher.weights + student.weights)
        model.fit(dataset.skip(phase * S).take(S), epochs=1, verbose=0)
        moved.append({name: any(changed(before, variables)) for name, variables in groups.items()})
        if phase == 0:
            moments_1 = [keras.ops.convert_to_numpy(model.optimizer._momentums[model.optimizer._get_variable_index(v)])
                         for v in blocks[1].trainable_weights]
    return model, moved, moments_1


def test_gradient_accumulation_keeps_the_phases_in_optimizer_updates():
    # 2 micro-batches per update: 2 S micro-batches are S updates, all of phase 0 (losses and multipliers agree)
    teacher, student = tiny_pretrainer("teacher", 1), tiny_pretrainer("student", 2)
    model = transfer.ProgressiveKnowledgeTransfer(teacher, student, steps_per_layer=S)
    model(batches(1)[0])
    model.compile(optimizer=model.make_optimizer(1e-2, gradient_accumulation_steps=2), run_eagerly=True)
    block_1 = transfer.encoder_blocks(student.backbone)[1].trainable_weights
    before = snapshot(block_1)
    logs = model.fit(make_dataset()().take(2 * S), epochs=1, verbose=0).history
    assert int(model.optimizer.iterations) == S and int(model.kt_step.value) == 2 * S
    assert logs["layer"][-1] == 0
    assert not any(changed(before, block_1))


def test_student_starts_from_the_teachers_embeddings_and_heads():
    teacher, student = tiny_pretrainer("teacher", 1), tiny_pretrainer("student", 2)
    copied = transfer.init_student_from_teacher(student, teacher)
    assert "backbone/word_embeddings/token_embedding" in copied and "mlm_head" in copied and "nsp_head" in copied
    for name in ("word_embeddings", "position_embeddings", "segment_embeddings"):
        t, s = teacher.backbone.get_layer(name), student.backbone.get_layer(name)
        for a, b in zip(t.weights, s.weights, strict=True):
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    for a, b in zip(teacher.mlm_head.weights, student.mlm_head.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    # the student's NoNorm is not the teacher's LayerNorm: it keeps gamma = 1, beta = 0
    assert "backbone/embeddings_norm" not in copied
    gamma, beta = (keras.ops.convert_to_numpy(w) for w in student.backbone.embeddings_norm.weights)
    assert np.all(gamma == 1) and np.all(beta == 0)


def test_phase_0_trains_block_0_only(trained):
    model, moved, moments_1 = trained
    assert moved[0] == {"teacher": False, "block_0": True, "block_1": False, "others": False}
    assert all(np.all(m == 0) for m in moments_1), "a frozen block's moments are not zero"


def test_phase_1_trains_block_1_and_keeps_tuning_block_0(trained):
    model, moved, _ = trained
    # block 0 keeps learning at 0.1 x the rate; embeddings and heads stay frozen for the whole stage
    assert moved[1] == {"teacher": False, "block_0": True, "block_1": True, "others": False}
    assert int(model.kt_step.numpy()) == 2 * S


def test_the_teacher_never_changes(trained):
    model, moved, _ = trained
    assert not any(phase["teacher"] for phase in moved)
    assert not model.teacher.trainable_weights


def test_an_interrupted_stage_resumes_to_the_same_state(tmp_path):
    cfg = resolve("tiny", kt_steps_per_layer=2, jit_compile=False)
    teacher = tiny_pretrainer("teacher", 1)
    student, _ = run_knowledge_transfer(teacher, tiny_pretrainer("student", 2), make_dataset(), cfg,
                                        tmp_path / "straight", verbose=0, run_eagerly=True)
    expected = [keras.ops.convert_to_numpy(w) for w in student.weights]

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt  # after the checkpoint of the first layer's phase

    with pytest.raises(KeyboardInterrupt):
        model = transfer.ProgressiveKnowledgeTransfer(tiny_pretrainer("teacher", 1), tiny_pretrainer("student", 2),
                                                      cfg.kt_steps_per_layer)
        model(batches(1)[0])
        model.compile(optimizer=model.make_optimizer(cfg.kt_learning_rate), run_eagerly=True)
        fit_resumable(model, make_dataset(), model.total_steps, cfg.kt_steps_per_layer, tmp_path / "resumed" / "kt",
                      verbose=0, callbacks=[Interrupt()])
    # a new process: other random students, restored from the checkpoint
    resumed, history = run_knowledge_transfer(tiny_pretrainer("teacher", 1), tiny_pretrainer("student", 3),
                                              make_dataset(), cfg, tmp_path / "resumed", verbose=0, run_eagerly=True)
    for a, b in zip(expected, resumed.weights, strict=True):
        np.testing.assert_array_equal(a, keras.ops.convert_to_numpy(b))
    assert [r["step"] for r in history] == [1, 2, 3, 4]
    loaded = load_model(tmp_path / "resumed" / "student_kt.keras", compile=False)
    for a, b in zip(expected, loaded.weights, strict=True):
        np.testing.assert_array_equal(a, keras.ops.convert_to_numpy(b))
    # finished: a rerun loads the saved student instead of training another one
    again, _ = run_knowledge_transfer(tiny_pretrainer("teacher", 1), tiny_pretrainer("student", 4), make_dataset(),
                                      cfg, tmp_path / "resumed", verbose=0, run_eagerly=True)
    for a, b in zip(expected, again.weights, strict=True):
        np.testing.assert_array_equal(a, keras.ops.convert_to_numpy(b))


def test_after_the_stage_every_student_layer_trains_again():
    # in the same process as stage 2 (a notebook that runs both stages): the freeze must not leak into stage 3
    teacher, student = tiny_pretrainer("teacher", 1), tiny_pretrainer("student", 2)
    everything = len(student.trainable_weights)
    transfer.ProgressiveKnowledgeTransfer(teacher, student, steps_per_layer=S)
    assert len(student.trainable_weights) < everything
    transfer.unfreeze(student)
    assert len(student.trainable_weights) == everything


def test_drop_blocks_keeps_the_chosen_blocks_and_everything_else():
    model = tiny_pretrainer("student", seed=3, hidden_dropout=0.0, attention_dropout=0.0)
    x, _ = batches(1)
    reference = keras.ops.convert_to_numpy(model(x)["mlm_logits"])
    same = transfer.drop_blocks(model, [0, 1], x)
    assert np.allclose(keras.ops.convert_to_numpy(same(x)["mlm_logits"]), reference, atol=1e-5)
    second = transfer.drop_blocks(model, [1], x)
    assert second.backbone.config.num_layers == 1
    kept = transfer.encoder_blocks(second.backbone)[0].weights
    original = transfer.encoder_blocks(model.backbone)[1].weights
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(kept, original, strict=True))
    assert second.backbone.count_params() < model.backbone.count_params()
    assert not np.allclose(keras.ops.convert_to_numpy(second(x)["mlm_logits"]), reference, atol=1e-5)
    with pytest.raises(transfer.ParameterError, match="block indices"):
        transfer.drop_blocks(model, [2], x)
