from otter.test_files import test_case

from arlm.classroom.checks import close, need

name = "ex-3-3"
expects = ("weighted: {beta label: {term: weight x value}} for the last block with beta = 5000 and 500; "
           "leaders: {beta label: the largest term}")


@test_case()
def test_only_the_mean_term_changes_tenfold(weighted):
    need(weighted=weighted)
    first, second = (dict(terms) for terms in dict(weighted).values())
    assert set(first) == set(second) and len(first) == 4, "both settings should weigh the same four terms"
    changed = {name for name in first if not close(first[name], second[name], rel=1e-6)}
    assert changed <= {"mean"}, f"only the mean term depends on beta, not {sorted(changed - {'mean'})}"
    ratio = max(first["mean"], second["mean"]) / max(min(first["mean"], second["mean"]), 1e-30)
    assert first["mean"] == 0 or close(ratio, 10, rel=1e-3), "the mean term should change tenfold"


@test_case()
def test_leaders(leaders, weighted):
    need(leaders=leaders, weighted=weighted)
    for label, terms in dict(weighted).items():
        assert leaders[label] == max(terms, key=terms.get), f"leaders[{label!r}] is not its largest term"
