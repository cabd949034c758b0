import math

from otter.test_files import test_case

from arlm.book.classroom.checks import need

name = "ex-3-5"
expects = ("answer: {'initial': ..., 'AT = cross_entropy': ..., 'AT = mse': ...}: the last block's attention "
           "cross-entropy (the AT term of layer_transfer_terms) on the batch `x` of the initial student and of "
           "the students transferred with each loss")
refuses = 'answer = {**answer, "AT = mse": 1e-3}'  # the size of a logged MSE of probabilities


def _values(answer):
    need(answer=answer)
    values = {str(k): float(v) for k, v in dict(answer).items()}
    named = [[v for k, v in values.items() if word in k] for word in ("initial", "cross", "mse")]
    assert len(values) == 3 and all(len(n) == 1 for n in named), (
        "answer should hold the initial student, the cross-entropy one and the mse one")
    return [n[0] for n in named]


@test_case()
def test_three_students(answer):
    values = _values(answer)
    assert all(math.isfinite(v) for v in values), "a cross-entropy is not finite"


@test_case()
def test_no_student_is_below_the_teachers_entropy(answer, teacher, x, L):
    from arlm.distillation import losses, transfer

    inputs = transfer.backbone_inputs(x)
    out = teacher.backbone(inputs)
    floor = float(losses.layer_transfer_terms(out, out, L - 1)["at"])  # H(P_T): the cross-entropy's least value
    assert all(v >= floor * (1 - 1e-4) for v in _values(answer)), (
        "a value is below the teacher's entropy: the attention cross-entropy cannot be (is it the logged MSE?)")
