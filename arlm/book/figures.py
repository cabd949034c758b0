"""The book's figures of results, and the check that keeps their text apart: titles, the suptitle, axis and tick
labels, annotations, colorbar labels and legends each keep to their own box, and a legend does not cover data.

* `overlaps(figure)`: what overlaps what in a drawn figure, one line per pair;
* `watch()`: from then on, every figure pyplot makes is checked each time it is drawn, and an overlap is a
  `FigureOverlapWarning` printed under the figure. `arlm run` turns it on in the chapters' kernels, so a chapter
  figure that overlaps at any scale leaves a warning on its page, which the book's tests fail;
* the figures chapters draw from their results (`pretraining_curves`, `transfer_terms`, `attention_maps`,
  `distillation_evidence`, `accuracy_against_size`, `table3_by_model`, `file_sizes`): laid out by matplotlib's
  constrained layout with legends outside the axes, so that no run's numbers can push text over text. Each
  returns a ``Figure`` for the ~700 px column.

>>> import matplotlib.pyplot as plt
>>> figure, (left, right) = plt.subplots(1, 2, figsize=(4, 2))
>>> _ = left.set_title("a title much too long for its half"), right.set_title("another one")
>>> overlaps(figure)  # doctest: +ELLIPSIS
["title 'a title much too long for its half' and title 'another one'"]
"""

import warnings

from arlm.book.diagrams import WIDTH

TOLERANCE = 1.0  # pixels two boxes may share (anti-aliased edges)


class FigureOverlapWarning(UserWarning):
    """Text of a figure drawn over other text, or a legend over the data."""


def overlaps(figure, renderer=None):
    """The overlapping pairs of `figure`'s text boxes, and legends drawn over data, as readable lines."""
    if renderer is None:
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
    boxes = list(_text_boxes(figure, renderer))
    found = [f"{a} and {b}" for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1 :]
             if _overlap(box_a, box_b)]
    for ax in figure.axes:
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            covered = _covered(ax, legend.get_window_extent(renderer), renderer)
            if covered:
                found.append(f"legend {_legend_name(legend)} over {covered}")
    return found


def _text_boxes(figure, renderer):
    """(description, window extent) of every visible text of `figure` and of each legend as a whole."""
    texts = [("suptitle", figure._suptitle), ("x suplabel", figure._supxlabel), ("y suplabel", figure._supylabel),
             *(("figure text", text) for text in figure.texts)]
    legends = list(figure.legends)
    for ax in figure.axes:
        texts += [("title", ax.title), ("title", ax._left_title), ("title", ax._right_title),
                  *(("annotation", text) for text in ax.texts)]
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            texts += [(f"{name} label", axis.label), (f"{name} offset", axis.get_offset_text())]
            for tick in axis._update_ticks():  # the ticks drawn, inside the view
                texts += [(f"{name} tick label", tick.label1), (f"{name} tick label", tick.label2)]
        if ax.get_legend() is not None:
            legends.append(ax.get_legend())
    seen = set()  # the suptitle is one of the figure's texts too
    for kind, text in texts:
        if id(text) in seen:
            continue
        seen.add(id(text))
        if text is not None and text.get_visible() and text.get_text().strip():
            box = text.get_window_extent(renderer)
            if box.width > 0 and box.height > 0:
                yield f"{kind} {text.get_text()!r}", box
    for legend in legends:
        if legend.get_visible():
            yield f"legend {_legend_name(legend)}", legend.get_window_extent(renderer)


def _legend_name(legend):
    labels = [t.get_text() for t in legend.get_texts()]
    return repr(", ".join(labels[:3]) + (", ..." if len(labels) > 3 else ""))


def _overlap(a, b):
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > TOLERANCE) and (min(a.y1, b.y1) - max(a.y0, b.y0) > TOLERANCE)


def _covered(ax, box, renderer):
    """What of `ax`'s data a legend at `box` covers: a point of a line or a scatter, or part of a bar (reference
    lines across the axes, `axhline` and `axvline`, are not data)."""
    import numpy as np
    from matplotlib.collections import PathCollection

    inner = box.padded(-TOLERANCE)

    def inside(points):
        x, y = np.asarray(points, float).reshape(-1, 2).T
        return bool(((x > inner.x0) & (x < inner.x1) & (y > inner.y0) & (y < inner.y1)).any())

    for line in ax.get_lines():
        if line.get_visible() and line.get_transform() == ax.transData:
            if inside(line.get_transform().transform(line.get_xydata())):
                return f"line {_name(line)}"
    for collection in ax.collections:
        if isinstance(collection, PathCollection) and collection.get_visible():
            if inside(collection.get_offset_transform().transform(collection.get_offsets())):
                return f"points {_name(collection)}"
    for patch in ax.patches:
        extent = patch.get_window_extent(renderer)
        if patch.get_visible() and extent.width > 0 and extent.height > 0 and _overlap(extent, inner):
            container = next((c for c in ax.containers if patch in getattr(c, "patches", ())), patch)
            return f"bar {_name(container)}".strip()
    return None


def _name(artist):
    label = artist.get_label()
    return "" if not label or label.startswith("_") else repr(label)


def _check(event):
    figure = event.canvas.figure
    reported = figure.__dict__.setdefault("_arlm_overlaps", set())
    try:
        found = overlaps(figure, event.renderer)
    except Exception as error:  # a check that fails must not stop the chapter that drew the figure
        found = [f"(the check failed: {type(error).__name__}: {error})"]
    for line in found:
        if line not in reported:
            reported.add(line)
            # named after this module rather than the line of matplotlib that drew the figure
            warnings.warn_explicit(f"figure text overlaps: {line}", FigureOverlapWarning, __name__, 0)


def _watch_figure(figure):
    figure.canvas.mpl_connect("draw_event", _check)


def watch():
    """Check every figure pyplot makes from now on whenever it is drawn (`FigureOverlapWarning`)."""
    import matplotlib

    hook = f"{__name__}:_watch_figure"
    if hook not in matplotlib.rcParams["figure.hooks"]:
        matplotlib.rcParams["figure.hooks"] = [*matplotlib.rcParams["figure.hooks"], hook]


def _figure(rows, columns, height, **kwargs):
    import matplotlib.pyplot as plt

    return plt.subplots(rows, columns, figsize=(WIDTH, height), layout="constrained", **kwargs)


def _legend_below(fig, axes, columns=4):
    """One legend for `axes` below them (each label once)."""
    entries = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    fig.legend(entries.values(), entries.keys(), loc="outside lower center", ncol=min(columns, len(entries)),
               frameon=False, fontsize=8)


def pretraining_curves(histories, plateau=None):
    """Chapter 2's training curves: loss, masked-LM and next-sentence accuracy against the step, one line per
    teacher (`histories`: name -> the records at the end of each epoch, `arlm.training.epoch_means`, where the
    history's running means are epoch means); `plateau`, the share of the most frequent masked piece, as a
    dashed line on the masked-LM panel (what predicting that one piece scores)."""
    keys = ("loss", "mlm_accuracy", "nsp_accuracy")
    fig, axes = _figure(1, len(keys), 2.9)
    for name, records in histories.items():
        steps = [record["step"] for record in records]
        for ax, key in zip(axes, keys, strict=True):
            ax.plot(steps, [record[key] for record in records], marker=".", label=name)
    for ax, key in zip(axes, keys, strict=True):
        ax.set(xlabel="step", title=f"{key}\n(epoch mean)")
        ax.tick_params(labelsize=8)
    if plateau is not None:
        axes[1].axhline(plateau, color="gray", linestyle="--", label="most frequent piece")
    _legend_below(fig, axes)
    return fig


def transfer_terms(history, steps_per_layer):
    """Chapter 3's knowledge-transfer terms (FMT, AT, MEAN, VAR) of the block in its phase at every step, one
    colour per block, grey lines at the phase boundaries (`history`: the stage's records, with step, layer and
    one key per term), on a log scale."""
    records = list(history.to_dict("records") if hasattr(history, "to_dict") else history)
    layers = sorted({int(record["layer"]) for record in records})
    fig, axes = _figure(2, 2, 4.6, sharex=True)
    for ax, name in zip(axes.flat, ("fmt", "at", "mean", "var"), strict=True):
        for layer in layers:
            part = [record for record in records if int(record["layer"]) == layer]
            ax.plot([r["step"] for r in part], [r[name] for r in part], label=f"block {layer}")
        for boundary in range(steps_per_layer, len(layers) * steps_per_layer, steps_per_layer):
            ax.axvline(boundary + 0.5, color="grey", linewidth=0.5)
        ax.set(title=name.upper(), yscale="log")
        ax.tick_params(labelsize=8, which="both")
    for ax in axes[1]:
        ax.set_xlabel("step")
    _legend_below(fig, axes.flat, columns=8)
    return fig


def attention_maps(maps, pieces, layer):
    """Chapter 3's attention of one block on one sentence, averaged over heads: one map per model (`maps`: name ->
    probabilities of shape ``(1, heads, T, T)``), the sentence's WordPiece `pieces` along both axes."""
    import numpy as np

    fig, axes = _figure(1, len(maps), 3.9, sharey=True)
    for ax, (name, probs) in zip(np.atleast_1d(axes), maps.items(), strict=True):
        image = ax.imshow(np.asarray(probs)[0].mean(0), cmap="viridis", vmin=0, vmax=1)
        ax.set_title(name, fontsize=10)
        ax.set_xticks(range(len(pieces)), pieces, rotation=90, fontsize=7)
        ax.set_yticks(range(len(pieces)), pieces, fontsize=7)
    fig.suptitle(f"block {layer}, attention probabilities averaged over heads", fontsize=10)
    fig.colorbar(image, ax=axes, shrink=0.8, label="attention probability")
    return fig


def distillation_evidence(mlm_scores, finetune):
    """Chapter 4's evidence: masked-LM accuracy of the distilled student and the one trained from scratch, with the
    teacher's as a line (`mlm_scores`: name -> `evaluate_masked_lm`'s dict), and their fine-tuned test accuracy
    per task, mean and spread over seeds (`finetune`: rows with model, task, accuracy, accuracy_sd)."""
    import numpy as np

    colors = {"distilled": "tab:blue", "scratch": "tab:grey"}
    fig, (left, right) = _figure(1, 2, 3.0)
    models = [name for name in colors if name in mlm_scores]
    left.bar(models, [mlm_scores[name]["mlm_accuracy"] for name in models], color=[colors[m] for m in models])
    if "teacher" in mlm_scores:
        left.axhline(mlm_scores["teacher"]["mlm_accuracy"], color="tab:red", linestyle="--", label="teacher")
    left.set(title="held-out masked-LM accuracy", ylim=(0, None))
    rows = list(finetune.to_dict("records") if hasattr(finetune, "to_dict") else finetune)
    tasks = list(dict.fromkeys(row["task"] for row in rows))
    width = 0.8 / max(1, len(models))
    for i, model in enumerate(models):
        by_task = {row["task"]: row for row in rows if row["model"] == model}
        x = np.arange(len(tasks)) + (i - (len(models) - 1) / 2) * width
        right.bar(x, [by_task.get(t, {}).get("accuracy", np.nan) for t in tasks], width,
                  yerr=[by_task.get(t, {}).get("accuracy_sd") or 0 for t in tasks], capsize=3,
                  color=colors[model], label=model)
    right.set_xticks(range(len(tasks)), tasks)
    right.set(title="fine-tuned test accuracy (mean ± sd)", ylim=(0, 1))
    _legend_below(fig, (left, right))
    return fig


_MARKERS = "osD^vP*X"


def accuracy_against_size(evaluation, task):
    """Chapter 6's accuracy against file size for the classifiers: one point per exported file, colour by
    precision, marker by model, and each model's Keras accuracy as a dashed line (`evaluation`: chapter 6's rows,
    with model, kind, precision, bytes, metric; precision ``keras`` for the float model)."""
    rows = [row for row in (evaluation.to_dict("records") if hasattr(evaluation, "to_dict") else evaluation)
            if row.get("kind", "classification") == "classification"]
    fig, ax = _figure(1, 1, 4.0)
    models = list(dict.fromkeys(row["model"] for row in rows))
    precisions = list(dict.fromkeys(row["precision"] for row in rows if row["precision"] != "keras"))
    colors = {precision: f"C{i}" for i, precision in enumerate(precisions)}
    markers = dict(zip(models, _MARKERS * len(models), strict=False))
    for row in rows:
        if row["precision"] == "keras":
            ax.axhline(100 * row["metric"], color="gray", linestyle="--", linewidth=1)
        else:
            ax.scatter(row["bytes"] / 2**20, 100 * row["metric"], color=colors[row["precision"]],
                       marker=markers[row["model"]], s=50)
    # the legend's entries: models by marker, precisions by colour, the Keras lines
    for model, marker in markers.items():
        ax.scatter([], [], color="black", marker=marker, label=model)
    for precision, color in colors.items():
        ax.scatter([], [], color=color, marker="s", label=precision)
    if any(row["precision"] == "keras" for row in rows):
        ax.plot([], [], color="gray", linestyle="--", linewidth=1, label="Keras (each model)")
    ax.set(xscale="log", xlabel="TFLite file size (MiB, log scale)", ylabel=f"{task} test accuracy (%)",
           title="Accuracy against size")
    fig.legend(loc="outside right upper", fontsize=8, frameon=False)
    return fig


def accuracy_against_parameters(rows, scale):
    """Chapter 7's Tables 3 and 4 in one plot: mean classification accuracy against parameters (log scale), the
    paper's models at full size beside this run's at its own (`rows`: `arlm.book.reporting.accuracy_vs_size`). Colour
    names the model and marker the source in a legend beside the axes, so labels never sit on each other
    however close the points fall."""
    rows = list(rows.to_dict("records") if hasattr(rows, "to_dict") else rows)
    fig, ax = _figure(1, 1, 3.6)
    colors = {model: f"C{i}" for i, model in enumerate(dict.fromkeys(row["model"] for row in rows))}
    markers = {"paper": "o", "ours": "s"}
    for row in rows:
        ax.scatter(row["parameters_millions"], row["mean_accuracy"], color=colors[row["model"]],
                   marker=markers[row["source"]], s=60)
    for model, color in colors.items():
        ax.scatter([], [], color=color, marker="o", label=model)
    for source, marker in markers.items():
        ax.scatter([], [], color="black", marker=marker, label="paper" if source == "paper" else f"this run ({scale})")
    ax.set(xscale="log", xlabel="parameters (millions, log scale)", ylabel="mean classification accuracy (%)")
    fig.legend(loc="outside right upper", fontsize=8, frameon=False)
    return fig


def table3_by_model(table3, scale):
    """Chapter 7's Table 3: one panel per model this run scored, the paper's score beside this run's for each
    task and metric (`table3`: `arlm.book.reporting.table3` rows, with ``paper NAME`` and ``ours NAME`` columns); one
    empty panel when the run scored none."""
    from arlm.params import PAPER_NAMES

    models = [name for name in PAPER_NAMES.values() if any(row.get(f"ours {name}") is not None for row in table3)]
    fig, axes = _figure(max(1, len(models)), 1, 0.22 * len(table3) * max(1, len(models)) + 1.6, squeeze=False)
    labels = [f"{row['dataset']} {row['metric'].replace('exact_match', 'EM')}" for row in table3]
    for ax, model in zip(axes[:, 0], models or ["MBERTA"], strict=False):
        _grouped_bars(ax, labels, {"paper": [row.get(f"paper {model}") for row in table3],
                                   f"this run ({scale})": [row.get(f"ours {model}") for row in table3]})
        ax.set(xlabel="score (%)", title=f"Table 3, {model}" + ("" if models else ": not run"))
        ax.tick_params(axis="y", labelsize=8)
    _legend_below(fig, axes[:1, 0])
    return fig


def file_sizes(table4, files, scale):
    """Chapter 7's sizes: the full-size models' fine-tuned and 'quantized' files as the paper reports them beside a
    real int8 file (`table4`: `arlm.book.reporting.table4` rows, MB), and this run's TFLite file per model and
    precision (`files`: `arlm.book.reporting.quantized_files` rows, KiB), as horizontal bars so names stay whole."""
    import numpy as np

    fig, (top, bottom) = _figure(2, 1, 5.6)
    series = {"fine-tuned (paper)": "paper_finetuned_mb", "'quantized' (paper)": "paper_quantized_mb",
              "int8 (ours, 1 B/param)": "ours_int8_mib"}
    _grouped_bars(top, [row["model"] for row in table4],
                  {label: [row.get(key) for row in table4] for label, key in series.items()})
    top.set(xlabel="MB", title="full size: the paper's files and a real int8 file")
    models = list(dict.fromkeys(row["model"] for row in files))
    precisions = [p for p in ("float32", "float16", "dynamic", "int8", "int8_mixed")
                  if any(row["precision"] == p for row in files)]
    size = {(row["model"], row["precision"]): row["bytes"] / 1024 for row in files if row.get("bytes")}
    _grouped_bars(bottom, models, {p: [size.get((m, p), np.nan) for m in models] for p in precisions})
    bottom.set(xlabel="KiB", title=f"this run ({scale}): TFLite file per precision")
    for ax in (top, bottom):
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return fig


def _grouped_bars(ax, names, series):
    """Horizontal bars, one group per name (top to bottom), one bar per series."""
    import numpy as np

    height = 0.8 / max(1, len(series))
    for i, (label, values) in enumerate(series.items()):
        y = np.arange(len(names)) + (i - (len(series) - 1) / 2) * height
        ax.barh(y, [np.nan if v is None else v for v in values], height, label=label)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
