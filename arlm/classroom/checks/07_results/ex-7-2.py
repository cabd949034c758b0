from otter.test_files import test_case

from arlm.classroom.checks import close, need

name = "ex-7-2"
expects = ("trade: one row per paper model but IBERTA (index: the model) with 'points lost', 'M parameters "
           "saved' and 'points per M saved', from the paper's mean accuracy and sizes")


def _paper(run):
    import pandas as pd

    from arlm import reporting

    return pd.DataFrame(reporting.accuracy_vs_size(run)).query("source == 'paper'").set_index("model")


@test_case()
def test_saved_parameters(trade, run):
    need(trade=trade)
    paper = _paper(run)
    assert "IBERTA" not in trade.index and len(trade) == len(paper) - 1, "every paper model but IBERTA"
    for model, row in trade.iterrows():
        saved = paper.loc["IBERTA", "parameters_millions"] - paper.loc[model, "parameters_millions"]
        assert close(row["M parameters saved"], saved, rel=1e-6), f"{model}: parameters saved"


@test_case()
def test_points_per_million(trade, run):
    need(trade=trade)
    paper = _paper(run)
    for model, row in trade.iterrows():
        lost = paper.loc["IBERTA", "mean_accuracy"] - paper.loc[model, "mean_accuracy"]
        assert close(row["points lost"], lost, rel=1e-6), f"{model}: points lost"
        assert close(row["points per M saved"], lost / row["M parameters saved"], rel=1e-6), f"{model}: ratio"
