from otter.test_files import test_case

from arlm.classroom.checks import need

name = "ex-6-4"
expects = ("partial: one row per choice (FFNs only, all but the FFNs, every large kernel) with 'parameters "
           "int8', 'share' and 'max_logit_diff'")


def _rows(partial):
    need(partial=partial)
    rows = partial.T.to_dict()
    assert len(rows) == 3, "partial should have three rows"
    return sorted(rows.values(), key=lambda r: r["parameters int8"])


@test_case()
def test_the_parts_add_up(partial):
    a, b, every = _rows(partial)
    assert a["parameters int8"] + b["parameters int8"] == every["parameters int8"], (
        "the FFNs and the rest should together be every large kernel")


@test_case()
def test_shares(partial, model):
    for row in _rows(partial):
        assert 0 < row["share"] <= 1 and abs(row["share"] - row["parameters int8"] / model.count_params()) < 1e-9
