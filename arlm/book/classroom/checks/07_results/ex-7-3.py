from otter.test_files import test_case

from arlm.book.classroom.checks import need

name = "ex-7-3"
expects = ("close_to_paper(rows, tolerance=5.0): the (dataset, metric, model) of every Table 3 cell where "
           "this run is within `tolerance` points of the paper; answer: its cells of this run's `table3`")
# the function without the absolute value: a run with no Table 3 cell (no data mirror) cannot tell its answer apart
refuses = ("def close_to_paper(rows, tolerance=5.0):\n"
           "    return [(r['dataset'], r['metric'], m) for r in rows for m in arlm.params.PAPER_NAMES.values()\n"
           "            if r[f'ours {m}'] is not None and r[f'ours {m}'] - r[f'paper {m}'] <= tolerance]\n")


def _rows(models, ours, paper):
    row = {"dataset": "D", "metric": "accuracy"}
    for model, a, b in zip(models, ours, paper, strict=True):
        row[f"ours {model}"], row[f"paper {model}"] = a, b
    return [row]


@test_case()
def test_on_a_table_made_up(close_to_paper):
    import arlm

    need(close_to_paper=close_to_paper)
    models = list(arlm.params.PAPER_NAMES.values())
    ours = [80.0, 70.0, None, 60.0][: len(models)] + [50.0] * (len(models) - 4)
    paper = [84.0, 76.0, 90.0, 60.0][: len(models)] + [50.0] * (len(models) - 4)
    found = {model for _, _, model in close_to_paper(_rows(models, ours, paper))}
    expected = {m for m, a, b in zip(models, ours, paper, strict=True) if a is not None and abs(a - b) <= 5}
    assert found == expected, "within 5 points counts, 6 points does not, a cell not run is skipped"


@test_case()
def test_the_tolerance(close_to_paper):
    import arlm

    need(close_to_paper=close_to_paper)
    models = list(arlm.params.PAPER_NAMES.values())
    rows = _rows(models, [80.0] * len(models), [81.5] * len(models))
    assert close_to_paper(rows, tolerance=1.0) == [] and len(close_to_paper(rows, tolerance=2.0)) == len(models)


@test_case()
def test_this_runs_cells(answer, table3):
    import arlm

    need(answer=answer)
    expected = {(row["dataset"], row["metric"], model) for row in table3 for model in arlm.params.PAPER_NAMES.values()
                if row[f"ours {model}"] is not None and abs(row[f"ours {model}"] - row[f"paper {model}"]) <= 5}
    assert {tuple(cell) for cell in answer} == expected, "answer is not this run's cells within 5 points"
