import math

from otter.test_files import test_case

from arlm.classroom.checks import need

name = "ex-3-5"
expects = ("table: one row per attention loss ('cross_entropy' and 'mse' in the row names) with the columns "
           "'logged AT term, last step', 'attention cross-entropy' and 'FMT'; gap: the spread of the "
           "attention cross-entropies")


def _rows(table):
    need(table=table)
    rows = {str(k): v for k, v in table.T.to_dict().items()}
    mse = [v for k, v in rows.items() if "mse" in k]
    ce = [v for k, v in rows.items() if "cross" in k]
    assert len(rows) == 2 and mse and ce, "table should have a cross_entropy row and an mse row"
    return ce[0], mse[0]


@test_case()
def test_the_loss_changed(table):
    ce, mse = _rows(table)
    logged = "logged AT term, last step"
    assert math.isfinite(mse[logged]) and mse[logged] < ce[logged], (
        "the squared error of probabilities should log far below the cross-entropy")


@test_case()
def test_gap(gap, table):
    need(gap=gap)
    ce, mse = _rows(table)
    column = "attention cross-entropy"
    assert math.isclose(gap, abs(ce[column] - mse[column]), rel_tol=1e-6, abs_tol=1e-12), "gap is not the spread"
