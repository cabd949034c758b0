from otter.test_files import test_case

from arlm.classroom.checks import need

name = "ex-1-2"
expects = "masked_count(length, cap, prob=0.15): how many positions a full example of `length` tokens masks"


@test_case()
def test_under_the_cap(masked_count):
    need(masked_count=masked_count)
    assert masked_count(128, 20) == 19, "a full 128-token example with cap 20: 15% of 128, rounded"


@test_case()
def test_capped(masked_count):
    need(masked_count=masked_count)
    assert masked_count(512, 20) == 20, "a full 512-token example with cap 20: the cap binds"


@test_case()
def test_this_run(masked_count, cfg):
    need(masked_count=masked_count)
    n, cap = cfg.max_seq_length, cfg.max_predictions_per_seq
    # BERT's generator counts the candidates (the length less [CLS] and two [SEP]): either reading is right
    expected = {min(cap, max(1, round(0.15 * length))) for length in (n, n - 3)}
    assert masked_count(n, cap) in expected, "this run's max_seq_length and max_predictions_per_seq"
