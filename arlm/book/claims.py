"""The paper's claims in its own words, each with a verdict computed from one run (chapter 7, and Figure 1 in 5).

`CLAIMS` quotes every result the paper states (`arlm.paper.quotes` checks each quotation against its text), with
the section it is in. `check(run)` gives each a verdict from the run's `results.json` files:

* ``holds`` / ``does not hold`` / ``reversed``: the difference is larger than the seed spread (the mean ± sd
  intervals over `finetune_seeds` do not overlap) and points the claim's way, or not; a claim that two models
  are *comparable* holds when they are within ± `TOLERANCE` points, whatever the spread;
* ``not distinguishable``: the difference is within the seed spread (or there is a single seed, hence no spread);
* ``not testable at this scale (pipeline check)``: neither fine-tuned model beats the simplest baseline on the
  task (the majority class, TF-IDF + logistic regression), so the run checks the pipeline, not the claim;
* ``not testable here``: the claim needs a model this book does not train (AraBERT) or a task this run lacks.

>>> rows = check(reporting.collect("runs/cpu"))  # doctest: +SKIP
>>> say(finding(rows, "cpu"))                     # doctest: +SKIP
"""

import dataclasses
import statistics

from arlm import paper

TOLERANCE = 1.0  # points: how far apart two scores may be and still be "comparable"
HOLDS, DOES_NOT_HOLD, REVERSED = "holds", "does not hold", "reversed"
NOT_DISTINGUISHABLE = "not distinguishable"
NOT_TESTABLE_AT_SCALE = "not testable at this scale (pipeline check)"
NOT_TESTABLE_HERE = "not testable here"
NOT_RUN = "not run"
MIXED = "mixed"


@dataclasses.dataclass(frozen=True)
class Claim:
    """One result the paper states: a short name, the section and the paper's words."""

    name: str
    section: str
    quote: str


CLAIMS = (
    Claim("IBERTA is half of AraBERT's size and better with less data", "Abstract",
          "our largest model which is 2x smaller than the baseline can achieve better results on multiple tasks "
          "with 2x less data for pretraining"),
    Claim("IBERTA ahead of AraBERT on classification", "4",
          "our teacher model achieves better results on most of the text classification tasks"),
    Claim("IBERTA behind AraBERT on PoS and QA", "4",
          "In tasks that require more token information like question answering [...] and PoS tagging, our models "
          "perform worse"),
    Claim("IBERTA comparable to AraBERT at half its size", "4",
          "our teacher model is around half of the size of AraBERT but achieves comparable results"),
    Claim("50K vocabulary ahead of 30K at every step (Figure 1)", "4",
          "the model with vocabulary size 50K achieve better results across the different iterations compared to "
          "the vocabulary size 30K"),
    Claim("accuracy rises with pretraining (Figure 1)", "4",
          "as the number of iterations increases, the accuracy increases for both models"),
    Claim("MBERTA comparable to IBERTA on HARD, ArSenTD, LABR", "4",
          "it achieves comparable results for Hard, ArsenTD and LABR"),
    Claim("MBERTA better on PoS precision", "4",
          "It also shows better results in terms of precision for the PoS tagging task"),
    Claim("MBERTA much worse than IBERTA on QA", "4",
          "However, it achieves much worse results on question answering task"),
    Claim("quantization makes the models smaller", "4",
          "we can reduce the model size further by applying quantization using the tflite library"),
)


# ---- comparing two scores ---------------------------------------------------------------------------------------

def score(runs):
    """``{"mean", "sd", "runs"}`` (percent) of a model's scores over its training seeds; sd is None for one seed."""
    runs = [float(r) for r in runs]
    return {"mean": statistics.fmean(runs), "sd": statistics.stdev(runs) if len(runs) > 1 else None, "runs": runs}


def compare(first, second, kind, baseline=None, spread=None, tolerance=TOLERANCE):
    """The verdict on "``first`` is ahead of ``second``" (``kind="ahead"``) or "they are comparable"
    (``kind="close"``), from two `score`s.

    Args:
        first, second (dict | None): `score`s (percent); None when this run has no such score.
        kind (str): ``"ahead"`` or ``"close"``.
        baseline (float | None): the best simple baseline on the task (percent): when neither score beats it the
            claim is not testable at this scale.
        spread (float | None): the seed spread to compare the difference with; default: the sum of the two sds
            (None with a single seed).
        tolerance (float): for ``close``, the largest difference (points) that still counts as comparable.

    Returns:
        (verdict, detail): a verdict of this module and the numbers it rests on, in words.
    """
    if first is None or second is None:
        return NOT_RUN, "not fine-tuned in this run"
    gap = first["mean"] - second["mean"]
    detail = f"{_cell(first)} against {_cell(second)}"
    if baseline is not None and max(first["mean"], second["mean"]) <= baseline:
        return NOT_TESTABLE_AT_SCALE, f"{detail}, neither above the simplest baseline ({baseline:.1f})"
    if spread is None and first["sd"] is not None and second["sd"] is not None:
        spread = first["sd"] + second["sd"]
    if kind == "close" and abs(gap) <= tolerance:
        return HOLDS, f"{detail}: within ±{tolerance:g} points"
    if spread is None:
        return NOT_DISTINGUISHABLE, f"{detail}: one seed, so no spread to tell a difference from luck"
    if abs(gap) <= spread:
        return NOT_DISTINGUISHABLE, f"{detail}: {abs(gap):.1f} points apart, within the seed spread ({spread:.1f})"
    if kind == "close":
        return DOES_NOT_HOLD, (f"{detail}: {abs(gap):.1f} points apart, more than ±{tolerance:g} and than the seed "
                               f"spread ({spread:.1f})")
    return (HOLDS if gap > 0 else REVERSED), f"{detail}: {abs(gap):.1f} points apart, beyond the seed spread " \
                                             f"({spread:.1f})"


def spread_finding(scores, pairs=(("student", "scratch"), ("teacher", "student")), key="accuracy"):
    """A sentence per pair of models on the tasks where both ran: on how many the first's mean is ahead, level
    (equal at the 0.1 points shown) or behind, and where the difference exceeds the seed spread (the mean ± sd
    intervals do not overlap: `compare`).

    Args:
        scores (dict): ``(model name, task name)`` -> `arlm.tasks.experiments.over_seeds` scores.
        pairs: ``(first, second)`` model names to compare.
        key (str): the score compared (classification: ``accuracy``).
    """
    sentences = []
    for first, second in pairs:
        tasks = sorted(task for model, task in scores if model == first and (second, task) in scores
                       and key in scores[(first, task)])
        if not tasks:
            continue
        seeds = len(scores[(first, tasks[0])].get(f"{key}_runs", [0]))
        if seeds < 2:
            sentences.append(f"With one seed per run there is no spread to compare the {first} and the {second} "
                             "against: run with `finetune_seeds` of 3 or more.")
            continue
        means = {task: [round(100 * scores[(model, task)][key], 1) for model in (first, second)] for task in tasks}
        ahead = sum(a > b for a, b in means.values())
        level = sum(a == b for a, b in means.values())
        said = (f"Over {seeds} seeds the {first}'s mean {key} is ahead of the {second}'s on {ahead} of {len(tasks)} "
                f"task(s)" + (f", level with it on {level}" if level else "") + ".")
        clear = {}  # the model ahead -> "task (points)" where the intervals do not overlap
        for task in tasks:
            runs = [score([100 * v for v in scores[(model, task)][f"{key}_runs"]]) for model in (first, second)]
            verdict, _ = compare(*runs, "ahead")
            if verdict in (HOLDS, REVERSED):
                clear.setdefault(first if verdict == HOLDS else second, []).append(
                    f"{task} ({abs(runs[0]['mean'] - runs[1]['mean']):.1f} points)")
        for model, where in clear.items():
            said += f" The {model} is ahead by more than the seed spread on " + ", ".join(where) + "."
        said += (" Elsewhere the difference is within the seed spread (the mean ± sd intervals overlap)." if clear
                 else " On none is the difference larger than the seed spread (the mean ± sd intervals overlap).")
        sentences.append(said)
    return " ".join(sentences) or "Fewer than two models were fine-tuned on the same tasks: no pair to compare."


def combine(verdicts):
    """One verdict for a claim made over several tasks or steps, from theirs."""
    tested = [v for v in verdicts if v not in (NOT_RUN, NOT_TESTABLE_AT_SCALE, NOT_TESTABLE_HERE)]
    if not tested:
        if NOT_TESTABLE_AT_SCALE in verdicts:
            return NOT_TESTABLE_AT_SCALE
        return NOT_RUN if all(v == NOT_RUN for v in verdicts) else NOT_TESTABLE_HERE
    if all(v == HOLDS for v in tested):
        return HOLDS
    if REVERSED in tested or DOES_NOT_HOLD in tested:
        return MIXED if HOLDS in tested else DOES_NOT_HOLD
    return NOT_DISTINGUISHABLE


def _cell(s):
    return f"{s['mean']:.1f}" + ("" if s["sd"] is None else f" ± {s['sd']:.1f}")


# ---- Figure 1 ---------------------------------------------------------------------------------------------------

def figure1_verdicts(points, spread=None, baseline=None):
    """Figure 1's two claims on this run's points: ``{"vocabulary": (verdict, [details]), "steps": ...}``.

    Args:
        points (list[dict]): ``{"vocab_size", "step", "accuracy"}`` (fractions), one fine-tuning seed each.
        spread (float | None): the seed spread of one such fine-tuning, in points (chapter 5's sd of the teacher
            on the same task over its seeds); None: a single seed, so no difference is distinguishable.
        baseline (float | None): the best simple baseline on the task (percent).
    """
    by_vocab = {}
    for point in points:
        by_vocab.setdefault(point["vocab_size"], {})[point["step"]] = 100 * point["accuracy"]
    sd = None if spread is None else spread / 2

    def one(value):
        return {"mean": value, "sd": sd, "runs": [value]}

    def verdict(first, second, label):
        found, detail = compare(one(first), one(second), "ahead", baseline, spread)
        return found, f"{label}: {detail}"

    vocabulary = []
    if len(by_vocab) >= 2:
        small, large = sorted(by_vocab)[:2]
        for step in sorted(set(by_vocab[small]) & set(by_vocab[large])):
            vocabulary.append(verdict(by_vocab[large][step], by_vocab[small][step], f"step {step:,}"))
    steps = []
    for vocab, curve in sorted(by_vocab.items()):
        if len(curve) >= 2:
            first, last = min(curve), max(curve)
            steps.append(verdict(curve[last], curve[first], f"{vocab:,} pieces, step {last:,} against {first:,}"))
    return {"vocabulary": (combine([v for v, _ in vocabulary]) if vocabulary else NOT_RUN, [d for _, d in vocabulary]),
            "steps": (combine([v for v, _ in steps]) if steps else NOT_RUN, [d for _, d in steps])}


def figure1_finding(points, scale, spread=None, baseline=None):
    """Figure 1 in sentences: the paper's two claims in its words, this run's verdicts with the numbers they rest
    on, and the two teachers' widths.

    Args:
        points (list[dict]): chapter 5's points (`arlm.tasks.experiments.figure1`), with ``hidden_size``.
        scale (str): the run's scale.
        spread, baseline: as for `figure1_verdicts`.
    """
    if not points:
        return "Figure 1 was not run: chapter 2's snapshots or the AJGT task are missing."
    verdicts = figure1_verdicts(points, spread, baseline)
    best = 100 * max(point["accuracy"] for point in points)
    said = []
    for key, claim in (("vocabulary", CLAIMS[4]), ("steps", CLAIMS[5])):
        verdict, details = verdicts[key]
        if verdict == NOT_TESTABLE_AT_SCALE:
            why = (f": no point reaches the simplest baseline on AJGT ({baseline:.1f}; the best point: "
                   f"{best:.1f})")
        elif details:
            why = f" ({'; '.join(details)})"
        else:
            why = ""
        said.append(f'The paper: "{claim.quote}" (section {claim.section}). At `{scale}` scale, with one '
                    f"fine-tuning seed per point: {verdict}{why}.")
    said.append(_widths(points))
    return " ".join(s for s in said if s)


def _widths(points):
    widths = {p["vocab_size"]: p.get("hidden_size") for p in points}
    if len(widths) < 2 or None in widths.values():
        return ""
    small, large = sorted(widths)[:2]
    theirs = f"H = {paper.setting('hidden_size_30k')} against {paper.setting('hidden_size')}"
    if widths[small] == widths[large]:
        return (f"The paper's 30K teacher is wider than its 50K one ({theirs}, section 3.3.1); this run's "
                f"smaller-vocabulary twin has the same width (H = {widths[large]}), so the vocabulary is the only "
                "difference.")
    return (f"As the paper's ({theirs}, section 3.3.1), this run's smaller-vocabulary twin is wider (H = "
            f"{widths[small]} against {widths[large]}).")


# ---- the claims on a run ---------------------------------------------------------------------------------------

def _scores(run):
    """``{(paper column, Table 3 dataset, metric): score}`` (percent) of the run's fine-tuned models."""
    from arlm.tasks.experiments import RUN_MODELS, TABLE3

    found = {}
    for key, result in run.get("05_finetuning", "finetuning", default={}).items():
        model, _, task = key.partition("/")
        if model not in RUN_MODELS or task not in TABLE3 or not RUN_MODELS[model][2]:
            continue
        dataset, metrics = TABLE3[task]
        factor = 1 if task == "arcd" else 100
        for metric, name in metrics.items():
            runs = result.get(f"{name}_runs") or ([result[name]] if name in result else [])
            if runs:
                found[(RUN_MODELS[model][2], dataset, metric)] = score([factor * r for r in runs])
    return found


def _baselines(run):
    """``{Table 3 dataset: best simple baseline (percent)}`` from chapter 5's majority and TF-IDF scores."""
    from arlm.tasks.experiments import TABLE3

    return {TABLE3[row["task"]][0]: 100 * max(row["majority_accuracy"], row["tfidf_lr_accuracy"])
            for row in run.get("05_finetuning", "baselines", default=[]) if row["task"] in TABLE3}


def _table3():
    return {(row["dataset"], row["metric"]): row for row in paper.table("table3_results")}


def _gaps(first, second, cells):
    """The paper's own numbers for a comparison: "AJGT +3.6, ..." (first minus second, Table 3)."""
    table = _table3()
    return ", ".join(f"{dataset}{'' if metric == 'accuracy' else ' ' + metric} "
                     f"{table[(dataset, metric)][first] - table[(dataset, metric)][second]:+.1f}"
                     for dataset, metric in cells)


CLASSIFICATION = [(row["dataset"], "accuracy") for row in paper.table("table3_results") if row["metric"] == "accuracy"]
TOKEN_TASKS = [(row["dataset"], row["metric"]) for row in paper.table("table3_results") if row["metric"] != "accuracy"]


def _pairs(run, first, second, kind, cells):
    """Per-cell verdicts of ``first`` against ``second`` in this run: (combined verdict, "cell: detail; ...")."""
    scores, baselines = _scores(run), _baselines(run)
    verdicts, details = [], []
    for dataset, metric in cells:
        verdict, detail = compare(scores.get((first, dataset, metric)), scores.get((second, dataset, metric)), kind,
                                  baselines.get(dataset) if metric == "accuracy" else None)
        verdicts.append(verdict)
        details.append(f"{dataset}{'' if metric == 'accuracy' else ' ' + metric}: {detail} ({verdict})")
    return combine(verdicts), "; ".join(details)


def _sizes(run):
    """The paper's sizes of IBERTA and AraBERT (Table 4) and this book's presets' (chapter 2), in words."""
    counts = {row["model"]: row["ours"] for row in run.get("02_teacher", "parameters", default=[])}
    table4 = {row["model"]: row["parameters_millions"] for row in paper.table("table4_sizes")}
    theirs = (f"{table4['IBERTA']}M against {table4['AraBERT']}M parameters "
              f"({table4['IBERTA'] / table4['AraBERT']:.2f} of AraBERT's size, Table 4)")
    if not {"IBERTA", "AraBERT"} <= set(counts):
        return theirs, "chapter 2 has not run"
    return theirs, (f"this book's presets at full size: {counts['IBERTA'] / 1e6:.1f}M against "
                    f"{counts['AraBERT'] / 1e6:.1f}M ({counts['IBERTA'] / counts['AraBERT']:.2f}, chapter 2)")


def figure1_of_run(run, scale):
    """`figure1_finding` on a run's results: chapter 5's points, the seed spread of its teacher on AJGT and the
    AJGT baselines."""
    from arlm.book.reporting import figure1

    teacher = _scores(run).get(("IBERTA", "AJGT", "accuracy"))
    spread = None if teacher is None or teacher["sd"] is None else 2 * teacher["sd"]
    return figure1_finding(figure1(run), scale, spread, _baselines(run).get("AJGT"))


def details(rows):
    """`check`'s rows as a Markdown list: each claim in the paper's words, its numbers, this run's and the verdict."""
    return "\n".join(
        f"- **{row['claim']}** ({_where(row['section'])}): \"{row['the paper says']}\". The paper's numbers: "
        f"{row[NUMBERS]}. This run: {row['this run']}. Verdict: **{row['verdict']}**." for row in rows)


NUMBERS = "the paper's numbers"


def _where(section):
    return section if section == "Abstract" else f"section {section}"


def check(run):
    """Each claim of `CLAIMS` on ``run`` (a `arlm.book.reporting.Run`): rows ``{"claim", "section", "the paper says",
    "the paper's numbers", "this run", "verdict"}``, the verdict one of this module's."""
    from arlm.book.reporting import figure1

    rows = []
    paper_sizes, our_sizes = _sizes(run)
    arabert = "AraBERT is not trained by this book"

    def row(claim, theirs, ours, verdict):
        rows.append({"claim": claim.name, "section": claim.section, "the paper says": claim.quote,
                     "the paper's numbers": theirs, "this run": ours, "verdict": verdict})

    row(CLAIMS[0], f"{paper_sizes}; its pretraining data is not given in numbers",
        f"{our_sizes}; {arabert}", NOT_TESTABLE_HERE)
    row(CLAIMS[1], _gaps("IBERTA", "AraBERT", CLASSIFICATION) + " (IBERTA - AraBERT, Table 3)", arabert,
        NOT_TESTABLE_HERE)
    row(CLAIMS[2], _gaps("IBERTA", "AraBERT", TOKEN_TASKS) + " (IBERTA - AraBERT, Table 3)", arabert,
        NOT_TESTABLE_HERE)
    row(CLAIMS[3], paper_sizes, f"{our_sizes}; {arabert}", NOT_TESTABLE_HERE)
    points = figure1(run)
    teacher_ajgt = _scores(run).get(("IBERTA", "AJGT", "accuracy"))
    spread = None if teacher_ajgt is None or teacher_ajgt["sd"] is None else 2 * teacher_ajgt["sd"]
    verdicts = figure1_verdicts(points, spread, _baselines(run).get("AJGT"))
    for claim, key in ((CLAIMS[4], "vocabulary"), (CLAIMS[5], "steps")):
        verdict, details = verdicts[key]
        ours = "; ".join(details) + "; one seed per point, the spread of the teacher's AJGT seeds" if details \
            else "no Figure 1 points"
        row(claim, "a plot, no numbers (Figure 1)", ours, verdict)
    cells = [(dataset, "accuracy") for dataset in ("HARD", "ArSenTD-LEV", "LABR")]
    verdict, details = _pairs(run, "MBERTA", "IBERTA", "close", cells)
    row(CLAIMS[6], _gaps("MBERTA", "IBERTA", cells) + " (MBERTA - IBERTA, Table 3)", details, verdict)
    precision = [("PADT", "precision")]
    row(CLAIMS[7], f"{_gaps('MBERTA', 'AraBERT', precision)} (MBERTA - AraBERT), "
                   f"{_gaps('MBERTA', 'IBERTA', precision)} (MBERTA - IBERTA, Table 3)", arabert, NOT_TESTABLE_HERE)
    cells = [("ARCD", "exact_match"), ("ARCD", "f1")]
    verdict, details = _pairs(run, "IBERTA", "MBERTA", "ahead", cells)
    row(CLAIMS[8], _gaps("IBERTA", "MBERTA", cells) + " (IBERTA - MBERTA, Table 3)", details, verdict)
    ratio = run.get("06_quantization", "dynamic_over_float32_size")
    mberta = {r["model"]: r for r in paper.table("table4_sizes")}["MBERTA"]
    row(CLAIMS[9], f"MBERTA {mberta['finetuned_size_on_disk_mb']} MB fine-tuned, "
                   f"{mberta['finetuned_quantized_size_mb']} MB quantized (Table 4; float32 files, chapter 6)",
        "chapter 6 has not run" if ratio is None else f"the dynamic-range int8 file is {ratio:.0%} of the float32 one",
        NOT_RUN if ratio is None else HOLDS if ratio < 1 else DOES_NOT_HOLD)
    return rows


def finding(rows, scale):
    """A paragraph summing up `check`: how many claims hold, which cannot be tested here and why.

    Args:
        rows (list[dict]): `check`'s rows.
        scale (str): the run's scale.
    """
    def named(*verdicts):
        return [row["claim"] for row in rows if row["verdict"] in verdicts]

    said = [f"Of the paper's {len(rows)} claims, at `{scale}` scale"]
    counts = [f"{len(named(*verdicts))} {label[len(named(*verdicts)) == 1]} ({'; '.join(named(*verdicts))})"
              for verdicts, label in (((HOLDS,), ("hold", "holds")),
                                      ((DOES_NOT_HOLD, REVERSED, MIXED), ("do not hold", "does not hold")),
                                      ((NOT_DISTINGUISHABLE,), ("are within the seed spread", "is within the seed "
                                                                                               "spread")))
              if named(*verdicts)]
    said.append((", ".join(counts) if counts else "none can be decided") + ".")
    if named(NOT_TESTABLE_AT_SCALE):
        said.append(f"{len(named(NOT_TESTABLE_AT_SCALE))} cannot be tested at this scale "
                    f"({'; '.join(named(NOT_TESTABLE_AT_SCALE))}): the models fine-tuned for them do not beat TF-IDF "
                    "or the majority class on the same examples, so their scores check the pipeline, not the paper.")
    if named(NOT_TESTABLE_HERE):
        said.append(f"{len(named(NOT_TESTABLE_HERE))} compare with AraBERT, which this book does not train.")
    if named(NOT_RUN):
        said.append(f"{len(named(NOT_RUN))} need a chapter or a task this run does not have "
                    f"({'; '.join(named(NOT_RUN))}).")
    return " ".join(said)
