from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-6-2"
expects = ("small, total: parameters in tensors of fewer than 1,024 elements and in all of the classifier's "
           "tensors; answer: {'float32_share': small / total, 'size_ratio': the dynamic file's size over the "
           "float32 file's}")
refuses = 'answer = {**answer, "float32_share": sum(w.size < 1024 for w in weights) / len(weights)}'  # tensors


def _classifier(loaded, classifier_stem):
    return loaded[classifier_stem][0]


@test_case()
def test_the_small_tensors(small, total, loaded, classifier_stem):
    need(small=small, total=total)
    sizes = [int(w.numpy().size) for w in _classifier(loaded, classifier_stem).weights]
    assert total == sum(sizes), "total: every parameter of the classifier"
    assert small == sum(s for s in sizes if s < 1024), "small: the parameters in tensors under 1,024 elements"


@test_case()
def test_the_float32_share(answer, loaded, classifier_stem):
    need(answer=answer)
    sizes = [int(w.numpy().size) for w in _classifier(loaded, classifier_stem).weights]
    expected = sum(s for s in sizes if s < 1024) / sum(sizes)
    assert close(answer.get("float32_share"), expected, rel=1e-6), "float32_share: a share of the parameters"


@test_case()
def test_the_size_ratio(answer, results, classifier_stem):
    need(answer=answer)
    files = next(r for r in results if r["model"] == classifier_stem)["files"]
    expected = files["dynamic"].stat().st_size / files["float32"].stat().st_size
    assert close(answer.get("size_ratio"), expected, rel=1e-6), "size_ratio: dynamic over float32 bytes"
