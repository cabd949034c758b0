from otter.test_files import test_case

from arlm.classroom.checks import need

name = "ex-5-3"
expects = ("on_test, on_dev: baselines.tune_c(...) chosen on the test split and on a held-out dev split; "
           "test_accuracy: {C: test accuracy} over the grid")


@test_case()
def test_choosing_on_test_picks_the_best_test_score(on_test, test_accuracy):
    need(on_test=on_test, test_accuracy=test_accuracy)
    assert test_accuracy[on_test["c"]] == max(test_accuracy.values()), (
        "C chosen on the test split should have the grid's best test accuracy")


@test_case()
def test_the_honest_choice(on_dev, dev, train):
    from arlm.tasks import baselines

    need(on_dev=on_dev, dev=dev)
    assert on_dev["c"] == baselines.tune_c(train.texts, train.labels, dev.texts, dev.labels)["c"], (
        "on_dev should choose C on the held-out dev split")


@test_case()
def test_the_optimistic_score_is_not_below(on_test, on_dev, test_accuracy):
    need(on_test=on_test, on_dev=on_dev, test_accuracy=test_accuracy)
    assert test_accuracy[on_test["c"]] >= test_accuracy[on_dev["c"]], "choosing on test is never below"
