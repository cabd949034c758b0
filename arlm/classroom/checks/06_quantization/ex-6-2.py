from otter.test_files import test_case

from arlm.classroom.checks import close, need

name = "ex-6-2"
expects = ("small, total: parameters in tensors of fewer than 1,024 elements and in all of the classifier's "
           "tensors; ratio: the dynamic file's size over the float32 file's")


@test_case()
def test_the_small_tensors(small, total, model):
    need(small=small, total=total)
    sizes = [int(w.numpy().size) for w in model.weights]
    assert total == sum(sizes), "total: every parameter of the classifier"
    assert small == sum(s for s in sizes if s < 1024), "small: the parameters in tensors under 1,024 elements"


@test_case()
def test_the_size_ratio(ratio, files):
    need(ratio=ratio)
    expected = files["dynamic"].stat().st_size / files["float32"].stat().st_size
    assert close(ratio, expected, rel=1e-6) and 0.25 < ratio < 1, "ratio: dynamic over float32 bytes"
