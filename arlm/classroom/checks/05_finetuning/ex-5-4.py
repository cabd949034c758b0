from otter.test_files import test_case

from arlm.classroom.checks import need

name = "ex-5-4"
expects = "sample: the 40 QA examples; windows: {stride: windows of qa_max_seq_length pieces} for 32, 64, 128"


@test_case()
def test_strides(windows, sample):
    need(windows=windows, sample=sample)
    assert set(windows) == {32, 64, 128}, "windows should hold strides 32, 64 and 128"
    assert windows[32] >= windows[64] >= windows[128] >= len(sample), (
        "a smaller stride never gives fewer windows, and each question gets at least one")


@test_case()
def test_the_count(windows, sample, tokenizer, cfg):
    from arlm.preprocessing import qa

    need(windows=windows, sample=sample)
    assert len(sample) == 40, "40 questions"
    assert windows[64] == len(qa.build_features(sample, tokenizer, cfg.qa_max_seq_length, 64)), (
        "the count at stride 64 is not what qa.build_features gives")
