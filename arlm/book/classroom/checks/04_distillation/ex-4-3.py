import math

from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-4-3"
expects = "answer: {tau: the mean entropy (nats) of the teacher's soft labels on one batch} for tau = 1.0 and 2.0"
refuses = "answer = {tau: h / np.log(2) for tau, h in answer.items()}"  # in bits


@test_case()
def test_both_temperatures(answer, tokenizer):
    need(answer=answer)
    assert {1.0, 2.0} <= set(answer), "answer should have tau = 1.0 and 2.0"
    uniform = math.log(tokenizer.vocab_size)
    assert all(0 < answer[t] <= uniform + 1e-6 for t in (1.0, 2.0)), "an entropy outside (0, log V]"


@test_case()
def test_the_entropies_of_the_first_batch(answer, teacher, student, eval_batches):
    import keras
    import numpy as np

    from arlm.distillation import losses
    from arlm.distillation.pretraining_distiller import PretrainingDistiller

    need(answer=answer)
    for tau in (1.0, 2.0):
        distiller = PretrainingDistiller(teacher, student, losses.DistillationFactors(temperature=tau))
        p = keras.ops.convert_to_numpy(keras.ops.softmax(distiller(eval_batches[0][0])["teacher_mlm_logits"]))
        expected = float(-(p * np.log(p + 1e-12)).sum(-1).mean())
        assert close(answer.get(tau), expected, rel=1e-3), f"the entropy at tau = {tau:g} is not the first batch's"
