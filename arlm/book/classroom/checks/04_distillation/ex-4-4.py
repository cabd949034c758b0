from otter.test_files import test_case

from arlm.book.classroom.checks import need

name = "ex-4-4"
expects = ("held: the head's variables that belong to the backbone; tied: those of them that are the word "
           "table read by the output layer; own: the head's variables of its own; answer: the number of "
           "parameters in `own`")
refuses = "answer = sum(int(np.prod(w.shape)) for w in head.weights)"  # the tied table counted as the head's


@test_case()
def test_one_tied_table(tied, student):
    need(tied=tied)
    assert len(tied) == 1 and tied[0] is student.mlm_head.token_embedding.embeddings, (
        "exactly one variable, the word-embedding table, is tied into the output layer")


@test_case()
def test_held_and_own_split_the_head(held, own, student):
    need(held=held, own=own)
    in_backbone = {id(w) for w in student.backbone.weights}
    head = student.mlm_head.weights
    assert {id(w) for w in held} == {id(w) for w in head if id(w) in in_backbone}, "held is not the shared part"
    assert {id(w) for w in own} == {id(w) for w in head if id(w) not in in_backbone}, "own is not the rest"


@test_case()
def test_the_heads_own_parameters(answer, student):
    import math

    need(answer=answer)
    in_backbone = {id(w) for w in student.backbone.weights}
    expected = sum(math.prod(w.shape) for w in student.mlm_head.weights if id(w) not in in_backbone)
    assert answer == expected, "answer is not the parameters of the head's own variables"
