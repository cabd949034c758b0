from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-7-2"
expects = ("answer: one row per paper model (index: the model; IBERTA's own row may be left out) with 'points "
           "lost', 'M parameters saved' and 'points per M saved' against IBERTA, from the paper's mean accuracy "
           "and sizes")
refuses = 'answer = answer.assign(**{"points per M saved": answer["M parameters saved"] / answer["points lost"]})'


def _paper(run):
    import pandas as pd

    from arlm.book import reporting

    return pd.DataFrame(reporting.accuracy_vs_size(run)).query("source == 'paper'").set_index("model")


@test_case()
def test_saved_parameters(answer, run):
    need(answer=answer)
    paper = _paper(run)
    others = [model for model in paper.index if model != "IBERTA"]
    assert set(others) <= set(answer.index), "answer needs a row for every paper model but IBERTA"
    for model, row in answer.loc[others].iterrows():
        saved = paper.loc["IBERTA", "parameters_millions"] - paper.loc[model, "parameters_millions"]
        assert close(row["M parameters saved"], saved, rel=1e-6), f"{model}: parameters saved"


@test_case()
def test_points_per_million(answer, run):
    need(answer=answer)
    paper = _paper(run)
    for model, row in answer.loc[[m for m in paper.index if m != "IBERTA"]].iterrows():
        lost = paper.loc["IBERTA", "mean_accuracy"] - paper.loc[model, "mean_accuracy"]
        assert close(row["points lost"], lost, rel=1e-6), f"{model}: points lost"
        assert close(row["points per M saved"], lost / row["M parameters saved"], rel=1e-6), f"{model}: ratio"
