from otter.test_files import test_case

from arlm.classroom.checks import need

name = "ex-7-1"
expects = "count: MBERTA II's parameters as a classifier (count_parameters(named_config('mberta_ii'), 'classifier'))"


@test_case()
def test_the_count(count):
    from arlm.mobilebert.config import named_config
    from arlm.params import count_parameters

    need(count=count)
    assert count == count_parameters(named_config("mberta_ii"), "classifier"), "count: MBERTA II as a classifier"
