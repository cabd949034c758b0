import math

from otter.test_files import test_case

from arlm.classroom.checks import close, need

name = "ex-4-3"
expects = "entropies: {tau: the mean entropy of the teacher's soft labels on one batch} for tau = 1.0 and 2.0"


@test_case()
def test_both_temperatures(entropies, tokenizer):
    need(entropies=entropies)
    assert {1.0, 2.0} <= set(entropies), "entropies should have tau = 1.0 and 2.0"
    uniform = math.log(tokenizer.vocab_size)
    assert all(0 < entropies[t] <= uniform + 1e-6 for t in (1.0, 2.0)), "an entropy outside (0, log V]"


@test_case()
def test_tau_1_matches_the_teacher(entropies, teacher, student, eval_batches):
    import keras
    import numpy as np

    from arlm.distillation import losses
    from arlm.distillation.pretraining_distiller import PretrainingDistiller

    need(entropies=entropies)
    distiller = PretrainingDistiller(teacher, student, losses.DistillationFactors(temperature=1.0))
    p = keras.ops.convert_to_numpy(keras.ops.softmax(distiller(eval_batches[0][0])["teacher_mlm_logits"]))
    expected = float(-(p * np.log(p + 1e-12)).sum(-1).mean())
    assert close(entropies[1.0], expected, rel=1e-3), "the entropy at tau = 1 is not that of the first batch"
