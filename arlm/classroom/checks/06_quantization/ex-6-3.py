from otter.test_files import test_case

from arlm.classroom.checks import need

name = "ex-6-3"
expects = ("few: the features of 5 training examples; calibrated: evaluate_files(...) rows of the int8 file "
           "calibrated on them and of 6.3's int8 file")


@test_case()
def test_five_calibration_examples(few):
    need(few=few)
    lengths = {len(v) for v in (few.values() if hasattr(few, "values") else [few])}
    assert lengths == {5}, "few should hold 5 examples"


@test_case()
def test_both_files_scored(calibrated):
    need(calibrated=calibrated)
    rows = list(calibrated)
    assert len(rows) == 2, "calibrated should score two files"
    assert all(0 <= r["agreement"] <= 1 for r in rows), "agreement is a share of the test examples"
