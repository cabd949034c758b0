from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-5-3"
expects = ("train, dev, test: the splits (dev held out from train); on_test, on_dev: baselines.tune_c(...) "
           "chosen on test and on dev; test_accuracy: {C: test accuracy} over the grid; answer: {'chosen on "
           "test', 'chosen on dev'}: the test accuracy of each choice")
refuses = 'answer = {**answer, "chosen on dev": on_dev["dev_accuracy"][on_dev["c"]]}'  # its dev score


@test_case()
def test_the_grids_test_accuracies(test_accuracy, train, test):
    from arlm.tasks import baselines

    need(test_accuracy=test_accuracy)
    expected = baselines.tune_c(train.texts, train.labels, test.texts, test.labels)["dev_accuracy"]
    assert set(test_accuracy) == set(expected) and all(
        close(test_accuracy[c], expected[c], abs_tol=1e-9) for c in expected), (
        "test_accuracy is not the test accuracy of each C of the grid")


@test_case()
def test_the_two_choices(on_test, on_dev, train, dev, test):
    from arlm.tasks import baselines

    need(on_test=on_test, on_dev=on_dev, dev=dev)
    assert list(dev.texts) != list(test.texts), "dev should be held out from train, not the test split"
    assert on_dev["c"] == baselines.tune_c(train.texts, train.labels, dev.texts, dev.labels)["c"], (
        "on_dev should choose C on the held-out dev split")
    assert on_test["c"] == baselines.tune_c(train.texts, train.labels, test.texts, test.labels)["c"], (
        "on_test should choose C on the test split")


@test_case()
def test_the_reported_accuracies(answer, on_test, on_dev, test_accuracy):
    need(answer=answer, test_accuracy=test_accuracy)
    assert close(answer.get("chosen on test"), max(test_accuracy.values()), abs_tol=1e-9), (
        "C chosen on test: the grid's best test accuracy")
    assert close(answer.get("chosen on dev"), test_accuracy[on_dev["c"]], abs_tol=1e-9), (
        "C chosen on dev: its accuracy on the test split")
