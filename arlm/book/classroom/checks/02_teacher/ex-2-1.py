from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-2-1"
expects = ("readings: {B: IBERTA's parameters in millions with intra_bottleneck_size=B} for B = 1024 and 256; "
           "answer: the B whose count reproduces Table 4")
refuses = "answer = 1024"  # the authors' config, which their training code never reads


def _millions(B):
    import arlm

    return arlm.params.count_parameters(arlm.mobilebert.named_config("iberta", intra_bottleneck_size=B)) / 1e6


@test_case()
def test_both_readings_counted(readings):
    need(readings=readings)
    for B in (1024, 256):
        value = readings.get(B)
        value = value / 1e6 if value is not None and value > 1e4 else value  # a raw count is right too
        assert close(value, _millions(B), rel=1e-2), f"readings[{B}] is not IBERTA's count with B = {B}"


@test_case()
def test_the_reading_table4_supports(answer):
    import arlm

    need(answer=answer)
    table4 = {r["model"]: r["parameters_millions"] for r in arlm.paper.table("table4_sizes")}["IBERTA"]
    assert answer == min((1024, 256), key=lambda B: abs(_millions(B) - table4)), (
        "answer is not the bottleneck whose count is nearer Table 4")
