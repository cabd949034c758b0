from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-6-1"
expects = ("answer: AraBERT's bytes per parameter from Table 4's fine-tuned size (MB read as MiB) and parameter "
           "count; exact: the MiB that 12 bytes per parameter give (sizes.checkpoint_bytes)")
refuses = 'answer = row["finetuned_size_on_disk_mb"] * 1e6 / (row["parameters_millions"] * 1e6)'  # MB as 10^6 B


def _arabert():
    from arlm.quantization import sizes

    return sizes.paper_rows()[0]


@test_case()
def test_implied(answer):
    need(answer=answer)
    row = _arabert()
    expected = row["finetuned_size_on_disk_mb"] * 2**20 / (row["parameters_millions"] * 1e6)
    assert close(answer, expected, rel=1e-3), "answer: the size in bytes over the parameter count"
    assert 11.5 < answer < 14, "the implied bytes per parameter should be a little above 12"


@test_case()
def test_twelve_bytes(exact):
    from arlm.quantization import sizes

    need(exact=exact)
    expected = sizes.du_mib(sizes.checkpoint_bytes(_arabert()["parameters_millions"] * 1e6))
    assert close(exact, expected, rel=1e-3), "exact: 12 bytes per parameter, in MiB"
