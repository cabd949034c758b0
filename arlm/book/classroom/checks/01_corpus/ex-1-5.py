from otter.test_files import test_case

from arlm.book.classroom.checks import need

name = "ex-1-5"
expects = ("answer: {variant: pdata.masking_stats(...)} for BERT's setting, whole-word masking, 25% with this "
           "run's cap and 25% with the cap raised")
refuses = "answer = {label: rows['bert'] for label in rows}"  # one variant's numbers four times
COLUMNS = ("masked_per_example", "masked_share", "partial_word_share")


def _rows(answer):
    need(answer=answer)
    rows = dict(answer)
    assert len(rows) == 4 and all(set(COLUMNS) <= set(r) for r in rows.values()), (
        f"answer should map four variants to masking_stats ({', '.join(COLUMNS)})")
    return rows


@test_case()
def test_whole_word_masking_leaves_no_word_half_masked(answer):
    shares = [r["partial_word_share"] for r in _rows(answer).values()]
    assert min(shares) < 1e-9 < max(shares), "one variant (whole words) should leave no word partly visible"


@test_case()
def test_the_cap(answer, cfg):
    stats = list(_rows(answer).values())
    capped = [r for r in stats if r["masked_per_example"] <= cfg.max_predictions_per_seq + 1e-9]
    assert len(capped) >= 3, "three variants keep this run's cap: at most max_predictions_per_seq masks"
    most = max(r["masked_share"] for r in stats)
    assert most > 1.2 * min(r["masked_share"] for r in capped), "raising the cap should mask a larger share"
