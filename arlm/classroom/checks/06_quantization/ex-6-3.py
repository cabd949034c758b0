from otter.test_files import test_case

from arlm.classroom.checks import need

name = "ex-6-3"
expects = ("few: the features of 5 training examples; calibrated: the rows evaluate_files(...) gives for the "
           "int8 file calibrated on them and 6.3's int8 file")


@test_case()
def test_five_calibration_examples(few):
    need(few=few)
    lengths = {len(v) for v in (few.values() if hasattr(few, "values") else [few])}
    assert lengths == {5}, "few should hold 5 examples"


@test_case()
def test_both_files_scored(calibrated):
    need(calibrated=calibrated)
    files = [r for r in calibrated if r.get("file")]  # evaluate_files puts the Keras model's own row first
    assert len(files) == 2, "calibrated should score two int8 files"
    assert all(0 <= r["agreement"] <= 1 for r in files), "agreement is a share of the test examples"
    assert files[0]["file"] != files[1]["file"], "the two rows should be two files"
