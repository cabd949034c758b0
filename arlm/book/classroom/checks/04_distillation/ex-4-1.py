from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-4-1"
expects = ("mixed: the masked-LM cross-entropy against the mixed target 0.5 onehot + 0.5 p_T; separate: "
           "0.5 CE(onehot) + 0.5 CE(p_T), both on the demo logits of 4.1; answer: whether they agree (a bool)")
refuses = "separate = float(terms['mlm']) + float(terms['kd'])"  # the weights left out


def _separate(y_demo, student_logits, teacher_logits):
    import keras

    from arlm.distillation import losses

    weights = y_demo["masked_lm_weights"]
    hard = losses.masked_lm_cross_entropy(keras.ops.one_hot(y_demo["masked_lm_ids"], 3), student_logits, weights)
    soft = losses.masked_lm_cross_entropy(keras.ops.softmax(teacher_logits), student_logits, weights)
    return 0.5 * float(hard) + 0.5 * float(soft)


@test_case()
def test_the_weighted_sum(separate, y_demo, student_logits, teacher_logits):
    need(separate=separate)
    assert close(separate, _separate(y_demo, student_logits, teacher_logits), rel=1e-5), (
        "separate is not the weighted sum of the two cross-entropies")


@test_case()
def test_the_mixed_target_gives_the_same(mixed, y_demo, student_logits, teacher_logits):
    need(mixed=mixed)
    assert close(mixed, _separate(y_demo, student_logits, teacher_logits), rel=1e-5), (
        "the cross-entropy is linear in its target: mixed should equal the weighted sum")


@test_case()
def test_they_agree(answer):
    need(answer=answer)
    assert answer == True, "the two sides agree to float precision: answer should be True"  # noqa: E712
