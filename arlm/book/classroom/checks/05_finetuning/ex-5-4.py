from otter.test_files import test_case

from arlm.book.classroom.checks import need

name = "ex-5-4"
expects = ("sample: the 40 QA examples; answer: {stride: windows of qa_max_seq_length pieces} for strides 32, 64 "
           "and 128")
refuses = "answer = {s: n + 1 for s, n in answer.items()}"  # one window too many at each stride


@test_case()
def test_strides(answer, sample):
    need(answer=answer, sample=sample)
    assert set(answer) == {32, 64, 128}, "answer should hold strides 32, 64 and 128"
    assert answer[32] >= answer[64] >= answer[128] >= len(sample), (
        "a smaller stride never gives fewer windows, and each question gets at least one")


@test_case()
def test_the_counts(answer, sample, tokenizer, cfg):
    from arlm.preprocessing import qa

    need(answer=answer, sample=sample)
    assert len(sample) == 40, "40 questions"
    for stride in (32, 64, 128):
        assert answer.get(stride) == len(qa.build_features(sample, tokenizer, cfg.qa_max_seq_length, stride)), (
            f"the count at stride {stride} is not what qa.build_features gives")
