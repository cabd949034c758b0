from otter.test_files import test_case

from arlm.book.classroom.checks import need

name = "ex-7-1"
expects = ("count: MBERTA II's parameters as a classifier (count_parameters(named_config('mberta_ii'), "
           "'classifier')); answer: {'int8': MiB, 'float16': MiB}: the sizes of its dynamic-range int8 and float16 "
           "files, from the count")
refuses = 'answer = {"int8": sizes.du_mib(4 * count), "float16": sizes.du_mib(2 * count)}'  # float32 for int8


def _about(value, num_bytes):
    """Within a MiB or 2% of `num_bytes` in MiB: rounded either way, with or without a small fixed part."""
    mib = num_bytes / 2**20
    try:
        return abs(float(value) - mib) <= max(1.0, 0.02 * mib)
    except (TypeError, ValueError):
        return False


def _count():
    from arlm.mobilebert.config import named_config
    from arlm.params import count_parameters

    return count_parameters(named_config("mberta_ii"), "classifier")


@test_case()
def test_the_count(count):
    need(count=count)
    assert count == _count(), "count: MBERTA II as a classifier"


@test_case()
def test_the_file_sizes(answer):
    need(answer=answer)
    assert _about(answer.get("int8"), _count()), "int8: about one byte per parameter, in MiB"
    assert _about(answer.get("float16"), 2 * _count()), "float16: about two bytes per parameter, in MiB"
