"""Stage 3 on tiny real models: soft targets from the teacher's head on tau * Y_L, a frozen teacher, a student
that trains everywhere."""

import keras
import numpy as np
import pytest
from distillation_helpers import batches, changed, make_dataset, snapshot, tiny_pretrainer

from arlm.distillation import losses
from arlm.distillation.pretraining_distiller import PretrainingDistiller
from arlm.distillation.stages import evaluate_masked_lm
from arlm.distillation.transfer import backbone_inputs


def test_teacher_logits_come_from_the_hidden_state_times_the_temperature():
    teacher, student = tiny_pretrainer("teacher", 1), tiny_pretrainer("student", 2)
    distiller = PretrainingDistiller(teacher, student, losses.DistillationFactors(temperature=2.0))
    x, y = batches(1)
    out = distiller(x)
    hidden = teacher.backbone(backbone_inputs(x))["sequence_output"]
    expected = teacher.mlm_head(2.0 * hidden, x["mask_positions"])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out["teacher_mlm_logits"]),
                               keras.ops.convert_to_numpy(expected), rtol=1e-5, atol=1e-5)
    total = distiller.compute_loss(x, y, out, training=False)
    reference, _ = losses.pretraining_distillation_loss(y, out["mlm_logits"], out["nsp_logits"],
                                                        out["teacher_mlm_logits"], alpha=0.5)
    assert float(total) == pytest.approx(float(reference), rel=1e-6)


def test_distillation_trains_every_student_variable_and_never_the_teacher():
    teacher, student = tiny_pretrainer("teacher", 1), tiny_pretrainer("student", 2)
    distiller = PretrainingDistiller(teacher, student)
    distiller(batches(1)[0])
    from arlm.optimizers import make_optimizer

    distiller.compile(optimizer=make_optimizer("lamb", 1e-2, total_steps=3), run_eagerly=True)
    before = snapshot(teacher.weights + student.weights)
    history = distiller.fit(make_dataset()().take(3), epochs=1, verbose=0).history
    assert {"mlm", "kd", "nsp", "mlm_accuracy"} <= set(history)
    assert not any(changed(before, teacher.weights))
    assert student.backbone.token_embedding.trainable and all(changed(before, student.trainable_weights)[:3])
    assert len(student.trainable_weights) == len(student.weights)
    scores = evaluate_masked_lm(student, [batches(1)])
    assert 0.0 <= scores["mlm_accuracy"] <= 1.0 and scores["eval_masked_tokens"] == 12
