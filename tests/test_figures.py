"""Figures keep their text apart: the check finds planted overlaps (titles, tick labels, a legend over labels or
over data), passes every figure function of the book on small data, and warns when a watched figure is drawn."""

import io
import warnings

import pytest

pytest.importorskip("matplotlib")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from arlm.book import diagrams, figures  # noqa: E402
from arlm.mobilebert.config import CONFIGS  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_overlapping_titles_tick_labels_and_legends_are_found():
    fig, (left, right) = plt.subplots(1, 2, figsize=(7, 3))
    left.set_title("full size: fine-tuned, paper's 'quantized', real int8")
    right.set_title("this run (cpu): TFLite file per precision")
    right.bar(["iberta_ajgt", "mberta_ajgt", "mberta_scratch_ajgt"], [3, 2, 1])
    left.bar(["a", "b"], [10, 10], label="fine-tuned")
    left.legend(loc="upper right")
    found = figures.overlaps(fig)
    assert "title \"full size: fine-tuned, paper's 'quantized', real int8\" and title 'this run (cpu): " \
           "TFLite file per precision'" in found
    assert "x tick label 'mberta_ajgt' and x tick label 'mberta_scratch_ajgt'" in found
    assert "legend 'fine-tuned' over bar 'fine-tuned'" in found

    fig, ax = plt.subplots(figsize=(3, 2))
    steps = np.arange(200)
    ax.plot(steps, 1 - steps / 200, label="iberta")  # from the top left corner down
    ax.legend(loc="upper left", fontsize=14)
    assert figures.overlaps(fig) == ["legend 'iberta' over line 'iberta'"]
    ax.get_legend().set_bbox_to_anchor((-0.1, 0.5))  # over the y tick labels, off the line
    assert any(line.startswith("y tick label") and "legend 'iberta'" in line for line in figures.overlaps(fig))

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_title("one title")
    fig.suptitle("one title", y=0.93)
    assert figures.overlaps(fig) == ["suptitle 'one title' and title 'one title'"]

    fig, ax = plt.subplots(figsize=(3, 2))  # two points' labels at nearly one place
    ax.scatter([1.0, 1.02, 9.0], [76.1, 76.2, 60.0])
    ax.annotate("iberta", (1.0, 76.1))
    ax.annotate("mberta", (1.02, 76.2))
    assert figures.overlaps(fig) == ["annotation 'iberta' and annotation 'mberta'"]


def test_a_figure_laid_out_for_its_text_passes():
    fig, axes = plt.subplots(1, 2, figsize=(7, 3), layout="constrained")
    for ax, name in zip(axes, ("loss", "accuracy"), strict=True):
        ax.plot(np.arange(100), np.random.default_rng(0).random(100), label="iberta")
        ax.set(title=name, xlabel="step", ylabel=name)
    axes[0].axvline(50, color="grey")  # a reference line is not data a legend may not cover
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center")
    assert figures.overlaps(fig) == []


def _sizes_and_accuracies():
    """Points as close as 7.5's: the paper's models a few points apart, this run's two at almost one accuracy."""
    return [{"model": model, "source": source, "parameters_millions": size, "mean_accuracy": accuracy}
            for model, source, size, accuracy in [
                ("AraBERT", "paper", 136.2, 80.9), ("IBERTA", "paper", 66.7, 81.2), ("MBERTA", "paper", 23.7, 79.0),
                ("MBERTA_II", "paper", 21.9, 78.8), ("IBERTA", "ours", 3.1, 61.5), ("MBERTA", "ours", 1.3, 61.4)]]


@pytest.mark.parametrize("draw", [
    diagrams.pipeline,
    lambda: diagrams.transfer_schedule(4, 150),
    lambda: diagrams.transfer_schedule(24, 10_000),
    *(lambda name=name: diagrams.bottleneck_block(CONFIGS[name]) for name in sorted(CONFIGS)),
], ids=["pipeline", "schedule-4", "schedule-24", *sorted(CONFIGS)])
def test_the_diagrams_keep_their_text_apart(draw):
    assert figures.overlaps(draw()) == []


def test_a_watched_figure_warns_when_drawn_and_once():
    from arlm.book.runner import WATCH

    exec(WATCH)  # what arlm run's kernels run first
    figures.watch()  # a second call adds no second hook
    assert matplotlib.rcParams["figure.hooks"].count("arlm.book.figures:_watch_figure") == 1
    try:
        fig, (left, right) = plt.subplots(1, 2, figsize=(3, 2))
        left.set_title("a title much too long for its half")
        right.set_title("another one")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.savefig(io.BytesIO(), format="png")
            fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")
        assert [str(w.message) for w in caught if w.category is figures.FigureOverlapWarning] == [
            "figure text overlaps: title 'a title much too long for its half' and title 'another one'"]
    finally:
        matplotlib.rcParams["figure.hooks"] = [
            hook for hook in matplotlib.rcParams["figure.hooks"] if hook != "arlm.book.figures:_watch_figure"]


def _edition(chapter):
    import json

    from arlm.book.edition import EDITION

    return json.loads((EDITION / chapter / "results.json").read_text(encoding="utf-8"))


def _curves():
    steps = range(0, 2000, 5)
    return {name: [{"step": s, "loss": 9 - s / 400 + np.sin(s), "mlm_accuracy": s / 1e4 + 0.05 * np.sin(s / 7),
                    "nsp_accuracy": 0.6 + 0.2 * np.sin(s / 9)} for s in steps] for name in ("iberta", "iberta_30k")}


def _transfer(layers, steps):
    rng = np.random.default_rng(0)
    return [{"step": s, "layer": s // steps, "fmt": 3 * np.exp(-3 * (s % steps) / steps) + 0.05,
             "at": 1.1 + 0.05 * rng.random(), "mean": 0.5 * np.exp(-(s % steps) / steps),
             "var": 3 - 0.1 * (s // steps) + 0.01 * rng.random()} for s in range(layers * steps)]


def _maps():
    rng = np.random.default_rng(0)
    probs = rng.random((1, 4, 13, 13))
    return {"teacher": probs / probs.sum(-1, keepdims=True), "student": np.full((1, 4, 13, 13), 1 / 13)}


PIECES = ["[CLS]", "قال", "رسول", "الله", "صلي", "الله", "عليه", "وسلم", "انما", "الاعمال", "بالن", "##يات", "[SEP]"]


def _run():
    from arlm.book import reporting
    from arlm.book.edition import EDITION

    return reporting.collect(EDITION)


def _sizes():
    from arlm.book import reporting

    run = _run()
    return reporting.table4(run), reporting.quantized_files(run), "cpu"


def _table3(scored=True):
    from arlm.book import reporting

    rows = reporting.table3(_run())
    return [row if scored else {k: v for k, v in row.items() if not k.startswith("ours")} for row in rows]


# every figure function of arlm.book.figures, on the committed cpu edition's results where it has them (the numbers
# whose legends and labels overlapped in its pages) and on small made-up data otherwise
@pytest.mark.parametrize("draw", [
    lambda: figures.pretraining_curves(_curves(), plateau=0.026),
    lambda: figures.transfer_terms(_transfer(4, 150), 150),
    lambda: figures.transfer_terms(_transfer(24, 20), 20),  # the paper's 24 blocks: a legend of three rows
    lambda: figures.attention_maps(_maps(), PIECES, 3),
    lambda: figures.distillation_evidence(_edition("04_distillation")["masked_lm"],
                                          _edition("04_distillation")["finetuning"]),
    lambda: figures.accuracy_against_size(_edition("06_quantization")["evaluation"], "ajgt"),
    lambda: figures.accuracy_against_parameters(_sizes_and_accuracies(), "cpu"),
    lambda: figures.table3_by_model(_table3(), "cpu"),
    lambda: figures.table3_by_model(_table3(scored=False), "tiny"),
    lambda: figures.file_sizes(*_sizes()),
], ids=["pretraining_curves", "transfer_terms", "transfer_terms-24", "attention_maps", "distillation_evidence",
        "accuracy_against_size", "accuracy_against_parameters", "table3", "table3-not-run", "file_sizes"])
def test_the_result_figures_keep_their_text_apart(draw):
    figure = draw()
    assert figure.get_size_inches()[0] <= diagrams.WIDTH
    assert figures.overlaps(figure) == []
