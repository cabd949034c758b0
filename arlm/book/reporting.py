"""Chapter 7: one run's `results.json` files beside the paper's Tables 1-4 and Figure 1.

`collect` reads every chapter's results of a run folder; each `table*` function returns rows (dicts) with the
paper's number, ours, and where ours came from (scale, data). A number we do not have is ``None`` and
`display` shows it as "not run" (ours) or "not in paper" (the paper's), never as zero.

>>> run = collect("runs/tiny")                                   # doctest: +SKIP
>>> display(table3(run))                                         # doctest: +SKIP
"""

import dataclasses
import json
from pathlib import Path

from arlm import paper
from arlm.artifacts import CHAPTERS
from arlm.errors import ArtifactError
from arlm.params import PAPER_NAMES

NOT_RUN = "not run"
NOT_IN_PAPER = "not in paper"
# Table 2 parameter -> the key of `arlm.distillation` factors written by chapters 3 and 4
TABLE2_KEYS = {
    "beta_distillation_factor": "beta",
    "gamma_distillation_factor": "gamma",
    "hidden_distillation_factor": "hidden",
    "distillation_ground_truth_ratio": "alpha",
}


@dataclasses.dataclass
class Run:
    """The results of one run folder: ``{chapter: results dict}`` for the chapters that have run."""

    run_dir: Path
    results: dict

    def get(self, chapter, *keys, default=None):
        """``results[chapter][key][...]``, or `default` when the chapter has not run or a key is absent."""
        value = self.results.get(chapter, {})
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return default
            value = value[key]
        return value

    def source(self, chapter):
        """'scale ...; data ...' behind a chapter's numbers, or "not run"."""
        if chapter not in self.results:
            return NOT_RUN
        scale = self.results[chapter].get("scale", "?")
        if chapter == "05_finetuning":
            data = "tasks " + (", ".join(sorted(self.get(chapter, "tasks", default={}))) or "none")
        elif chapter == "06_quantization":
            data = f"chapter 5's models fine-tuned on {self.get(chapter, 'task', default='?')}"
        else:
            sources = self.get("01_corpus", "sources")
            data = "pretraining corpus " + (", ".join(sources) if sources else "unknown (chapter 1 has not run)")
        return f"scale {scale}; {data}"


def collect(run_dir):
    """Read ``run_dir/<chapter>/results.json`` for every chapter; a corrupt file is an error naming it."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ArtifactError(f"run folder {run_dir} does not exist: run the book first (arlm run --out ...)")
    results = {}
    for chapter in CHAPTERS:
        path = run_dir / chapter / "results.json"
        if chapter == "07_results" or not path.is_file():
            continue
        try:
            results[chapter] = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ArtifactError(f"{path} is not valid JSON ({error}): re-run chapter {chapter}") from error
    return Run(run_dir, results)


def provenance(run):
    """One row per chapter: whether it ran, its scale and the data its numbers came from."""
    return [{"chapter": chapter, "status": "ran" if chapter in run.results else NOT_RUN, "source": run.source(chapter)}
            for chapter in CHAPTERS[:-1]]


def table1(run):
    """Pretraining tokens per source: the paper's four sources and the stand-in this run used for each."""
    ours = {row["paper_dataset"]: row for row in run.get("01_corpus", "table1", default=[])}
    rows = []
    for row in paper.table("table1_pretraining_tokens"):
        mine = ours.get(row["dataset"], {})
        rows.append({"dataset": row["dataset"], "paper_tokens": row["tokens"],
                     "ours_source": mine.get("ours_source"), "ours_words": mine.get("ours_words"),
                     "paper_share": mine.get("paper_share"), "ours_share": mine.get("ours_share")})
    return rows


def table2(run):
    """Distillation hyper-parameters: the paper's Table 2 and the values chapters 3 and 4 used."""
    rows = []
    for row in paper.table("table2_distillation_hparams"):
        key = TABLE2_KEYS[row["parameter"]]
        rows.append({"parameter": row["parameter"], "paper": row["value"],
                     "ours_knowledge_transfer": run.get("03_knowledge_transfer", "factors", key),
                     "ours_distillation": run.get("04_distillation", "factors", key)})
    return rows


def table3(run):
    """Fine-tuning scores (percent): every (dataset, metric) of the paper's Table 3, paper and ours per model.

    Tasks chapter 5 could not run (no data offline) and models the run does not have stay ``None``.
    """
    ours = {(r["dataset"], r["metric"], r["model"]): r["ours"] for r in run.get("05_finetuning", "table3", default=[])}
    models = list(PAPER_NAMES.values())
    rows = []
    for row in paper.table("table3_results"):
        record = {"dataset": row["dataset"], "metric": row["metric"]}
        for model in models:
            record[f"paper {model}"] = row[model]
            record[f"ours {model}"] = ours.get((row["dataset"], row["metric"], model))
        rows.append(record)
    return rows


def baselines(run):
    """``{Table 3 dataset: {"majority": %, "tfidf": %}}``: chapter 5's baselines on the same test examples."""
    from arlm.tasks.experiments import TABLE3

    return {TABLE3[row["task"]][0]: {"majority": _percent(row["majority_accuracy"]),
                                     "tfidf": _percent(row["tfidf_lr_accuracy"])}
            for row in run.get("05_finetuning", "baselines", default=[]) if row["task"] in TABLE3}


def table3_compact(run):
    """`table3` for a narrow page: one column per model holding "paper / ours" ("–" where the paper has no
    number or this run none; "± sd" after ours when it is a mean over seeds), and the majority-class and TF-IDF
    baselines of this run beside the accuracy rows."""
    found = baselines(run)
    spread = {(r["dataset"], r["metric"], r["model"]): r.get("sd") for r in run.get("05_finetuning", "table3",
                                                                                     default=[])}
    rows = []
    for row in table3(run):
        record = {"dataset": row["dataset"], "metric": row["metric"].replace("exact_match", "EM")}
        for model in PAPER_NAMES.values():
            paper_value, ours = row[f"paper {model}"], row[f"ours {model}"]
            sd = spread.get((row["dataset"], row["metric"], model))
            record[model] = f"{_cell(paper_value)} / {_cell(ours)}" + ("" if sd is None else f" ± {sd:.1f}")
        if row["metric"] == "accuracy":
            base = found.get(row["dataset"], {})
            record["majority"], record["TF-IDF"] = base.get("majority"), base.get("tfidf")
        else:  # the baselines are classifiers: they have no PoS or QA score ("not run" would be wrong)
            record["majority"] = record["TF-IDF"] = "–"
        rows.append(record)
    return rows


def _cell(value):
    return "–" if value is None else f"{value:.1f}"


def table3_finding(rows, scale):
    """A sentence on how much of Table 3 this run filled and how far its scores are from the paper's.

    Args:
        rows (list[dict]): `table3`'s rows.
        scale (str): the run's scale, named in the sentence.
    """
    cells = [(row[f"paper {m}"], row[f"ours {m}"]) for row in rows for m in PAPER_NAMES.values()
             if row[f"paper {m}"] is not None]
    scored = [(p, o) for p, o in cells if o is not None]
    if not scored:
        return (f"No cell of Table 3 holds a score of this run (`{scale}` scale): the tasks above were not run, so "
                "this table shows the paper's numbers only.")
    gap = sum(p - o for p, o in scored) / len(scored)
    said = (f"{len(scored)} of {len(cells)} cells of Table 3 hold a score of this run (`{scale}` scale); "
            f"on those, ours are {abs(gap):.1f} points {'below' if gap > 0 else 'above'} the paper's on average.")
    if scale == "tiny":
        said += " At `tiny` the models have seen a few hundred sentences: the numbers show the pipeline runs."
    return said


def other_scores(run):
    """Chapter 5's scores on tasks outside Table 3 (the ASTD 4-class variant, the embedded hadith task)."""
    from arlm.tasks.experiments import TABLE3

    rows = []
    for key, scores in run.get("05_finetuning", "finetuning", default={}).items():
        model, _, task = key.partition("/")
        if task not in TABLE3:
            rows.append({"model": model, "task": task, "accuracy": _percent(scores.get("accuracy")),
                         "macro_f1": _percent(scores.get("macro_f1"))})
    return rows


def not_run_tasks(run):
    """``{task: reason}`` for the tasks chapter 5 skipped (for example HARD and LABR offline)."""
    return dict(run.get("05_finetuning", "not_run", default={}))


def table4(run):
    """Parameters and sizes at full size: the paper's Table 4 beside our exact parameter counts (chapter 2) and
    the sizes those counts imply (`arlm.quantization.sizes`: 12 bytes per parameter with Adam state, 4 for
    float32 weights, about 1 for int8). The files chapter 6 measured at this run's scale are `quantized_files`."""
    from arlm.quantization import sizes

    counts = {row["model"]: row["ours"] for row in run.get("02_teacher", "parameters", default=[])}
    rows = []
    for row in sizes.paper_rows():
        count = counts.get(row["model"])
        rows.append({"model": row["model"],
                     "paper_parameters_millions": row["parameters_millions"],
                     "ours_parameters_millions": _millions(count),
                     "paper_finetuned_mb": row["finetuned_size_on_disk_mb"],
                     "ours_finetuned_mib": None if count is None else sizes.du_mib(sizes.checkpoint_bytes(count)),
                     "paper_quantized_mb": row["finetuned_quantized_size_mb"],
                     "paper_quantized_bytes_per_param": round(row["quantized_bytes_per_param"], 2),
                     "ours_float32_mib": None if count is None else sizes.du_mib(sizes.FLOAT32_BYTES * count),
                     "ours_int8_mib": None if count is None else sizes.du_mib(count)})
    return rows


def quantized_files(run):
    """Chapter 6's exported files at this run's scale: model, precision, size, metric, agreement with Keras."""
    rows = []
    for row in run.get("06_quantization", "evaluation", default=[]):
        if row.get("precision") in (None, "keras"):
            continue
        rows.append({key: row.get(key) for key in ("model", "task", "precision", "bytes", "metric", "agreement",
                                                   "max_logit_diff")})
    return rows


def figure1(run):
    """AJGT accuracy against pretraining steps for the 30K- and 50K-vocabulary teachers (chapter 5's points).

    The paper publishes Figure 1 as a plot only, with two claims about it; `arlm.book.claims.figure1_verdicts` checks
    them on these points.
    """
    return list(run.get("05_finetuning", "figure1", default=[]))


def accuracy_vs_size(run):
    """Mean Table 3 classification accuracy against parameters: the paper's models at full size (Table 4) and
    this run's at its own scale (chapter 3's counts of the teacher's and the student's backbones).

    This run's accuracies are of models a fraction of the paper's size, trained a fraction as long: the plot sets
    both side by side so the reader sees the gap, not a comparison of methods.
    """
    counts = {"IBERTA": run.get("03_knowledge_transfer", "teacher_parameters"),
              "MBERTA": run.get("03_knowledge_transfer", "student_parameters")}
    paper_sizes = {row["model"]: row["parameters_millions"] for row in paper.table("table4_sizes")}
    accuracy_rows = [row for row in table3(run) if row["metric"] == "accuracy"]
    rows = []
    for model in PAPER_NAMES.values():
        for who in ("paper", "ours"):
            values = [row[f"{who} {model}"] for row in accuracy_rows if row[f"{who} {model}"] is not None]
            size = paper_sizes[model] if who == "paper" else _millions(counts.get(model))
            if not values or size is None:
                continue
            rows.append({"model": model, "source": who, "parameters_millions": size,
                         "mean_accuracy": round(sum(values) / len(values), 1), "tasks": len(values)})
    return rows


def size_finding(run):
    """A sentence on the student's size as a share of its teacher's, in the paper (Table 4) and in this run."""
    table4 = {row["model"]: row["parameters_millions"] for row in paper.table("table4_sizes")}
    said = (f"In the paper MBERTA has {table4['MBERTA'] / table4['IBERTA']:.0%} of IBERTA's parameters "
            f"({table4['MBERTA']}M against {table4['IBERTA']}M, Table 4)")
    teacher, student = (run.get("03_knowledge_transfer", key) for key in ("teacher_parameters", "student_parameters"))
    if not teacher or not student:
        return said + "; this run has no distilled student (chapter 3 has not run)."
    return (said + f"; in this run the student has {student / teacher:.0%} of its teacher's ({_readable(student, 'M')} "
            f"against {_readable(teacher, 'M')}, backbones without heads).")


def gap_table(run):
    """How far this run is from the paper: sizes, steps, tokens, corpus and tasks, this run beside the paper.

    The paper's side: parameters from Table 4, corpus tokens from Table 1, and the settings its text states
    (`arlm.paper.setting`: 2M teacher updates of 256 sequences of 512 tokens; 500K + 2M distillation updates).
    Ours: the run's configs and results.
    """

    def cfg(chapter, key, default=None):
        return run.get(chapter, "config", key, default=default)

    def tokens(steps, batch, length):
        return None if None in (steps, batch, length) else steps * batch * length

    said = paper.setting
    paper_sizes = {row["model"]: row["parameters_millions"] for row in paper.table("table4_sizes")}
    paper_tokens = sum(row["tokens"] for row in paper.table("table1_pretraining_tokens"))
    kt = run.get("03_knowledge_transfer", "total_steps")
    distill = run.get("04_distillation", "distill_steps")
    tasks = {row["dataset"] for row in run.get("05_finetuning", "table3", default=[])}
    rows = [
        ("teacher parameters (IBERTA)", run.get("03_knowledge_transfer", "teacher_parameters"),
         paper_sizes["IBERTA"] * 1e6, "M"),
        ("student parameters (MBERTA)", run.get("03_knowledge_transfer", "student_parameters"),
         paper_sizes["MBERTA"] * 1e6, "M"),
        ("vocabulary", cfg("01_corpus", "vocab_size"), said("vocab_size"), ""),
        ("pretraining corpus (words; paper: tokens)", run.get("01_corpus", "corpus", "words"), paper_tokens, ""),
        ("sequence length", cfg("02_teacher", "max_seq_length"), said("max_seq_length"), ""),
        ("teacher updates x batch", _product(cfg("02_teacher", "teacher_steps"), cfg("02_teacher", "batch_size")),
         _product(said("teacher_steps"), said("batch_size")), ""),
        ("tokens seen by the teacher", tokens(cfg("02_teacher", "teacher_steps"), cfg("02_teacher", "batch_size"),
                                              cfg("02_teacher", "max_seq_length")),
         tokens(said("teacher_steps"), said("batch_size"), said("max_seq_length")), ""),
        ("distillation updates (stage 2 + 3)", None if kt is None or distill is None else kt + distill,
         said("attention_transfer_steps") + said("distill_steps"), ""),
        ("Table 3 datasets fine-tuned", len(tasks) if "05_finetuning" in run.results else None,
         len({row["dataset"] for row in paper.table("table3_results")}), ""),
    ]
    return [{"quantity": name, "this run": _readable(ours, unit), "the paper": _readable(theirs, unit),
             "paper / run": None if not ours or not theirs else f"{theirs / ours:,.{0 if theirs >= 10 * ours else 1}f}"}
            for name, ours, theirs, unit in rows]


def _product(a, b):
    return None if a is None or b is None else a * b


def _readable(value, unit=""):
    """1,234 / 12.3M / 1.6B: a count a reader can compare at a glance."""
    if value is None:
        return None
    if unit == "M":
        return f"{value / 1e6:,.1f}M"
    for size, suffix in ((1e9, "B"), (1e6, "M")):
        if value >= size:
            return f"{value / size:,.1f}{suffix}"
    return f"{value:,}"


def closeness_finding(cells, run, tolerance):
    """A sentence on the Table 3 cells where this run is within ``tolerance`` points of the paper, set beside the
    student trained from scratch (chapter 4's control) and the simplest baseline on the same cells: a cell where
    either is as close says the task is easy at this scale, not that the method replicates.

    Args:
        cells (list[tuple]): ``(dataset, metric, model)`` of the close cells.
        run: the `Run`.
        tolerance (float): the points that count as close.
    """
    if not cells:
        return f"No cell of Table 3 is within {tolerance:g} points of the paper in this run."
    from arlm.tasks.experiments import TABLE3

    names = {dataset: (task, keys) for task, (dataset, keys) in TABLE3.items()}
    scratch = run.get("05_finetuning", "finetuning", default={})
    floor = baselines(run)
    also = []
    for dataset, metric, model in cells:
        task, keys = names[dataset]
        own = scratch.get(f"scratch/{task}", {}).get(keys[metric])
        rows = {r["dataset"]: r for r in table3(run) if r["metric"] == metric}
        paper_value = rows[dataset][f"paper {model}"]
        if own is not None and abs((own if task == "arcd" else 100 * own) - paper_value) <= tolerance:
            also.append(f"{dataset} {metric} (the scratch student too)")
        elif metric == "accuracy" and floor.get(dataset, {}).get("tfidf") is not None \
                and abs(floor[dataset]["tfidf"] - paper_value) <= tolerance:
            also.append(f"{dataset} {metric} (TF-IDF too)")
    said = (f"{len(cells)} cell(s) of Table 3 are within {tolerance:g} points of the paper: "
            + ", ".join(f"{model} on {dataset} {metric}" for dataset, metric, model in cells) + ".")
    if also:
        return said + (f" A model without the paper's method is as close on {', '.join(sorted(set(also)))}: there the "
                       "closeness says the task is easy at this scale, not that the method replicates.")
    return said + " Neither the scratch student nor TF-IDF is as close on them."


def shortfalls(run):
    """What worked and what did not at this run's scale, each said by the finding of the chapter that measured it:
    attention transfer (chapter 3), the distilled student against its teacher and the scratch student (chapter 4),
    the fine-tuned classifiers against the majority class and TF-IDF (chapter 5). A list of sentences, one per
    chapter that has run."""
    from arlm.distillation.transfer import attention_transfer_finding
    from arlm.tasks.evidence import masked_lm_finding
    from arlm.tasks.experiments import baseline_finding

    said = []
    moved = run.get("03_knowledge_transfer", "attention_transfer")
    if moved:
        factors = run.get("03_knowledge_transfer", "factors", default={})
        weights = {"fmt": factors.get("hidden"), "at": factors.get("attention")}
        said.append("Chapter 3: " + attention_transfer_finding(
            moved["before"], moved["after"], moved["teacher_entropy"], moved["uniform"], moved["at_share"],
            run.get("03_knowledge_transfer", "steps_per_layer"), weights))
    masked = run.get("04_distillation", "masked_lm")
    if masked:
        said.append("Chapter 4: " + masked_lm_finding(
            {name: scores["mlm_accuracy"] for name, scores in masked.items()},
            run.get("04_distillation", "scale", default="?"), run.get("04_distillation", "student_update_budget"),
            masked["teacher"]["eval_masked_tokens"], run.get("02_teacher", "config", "teacher_steps", default=0)))
    scores = {tuple(key.split("/")): value for key, value in run.get("05_finetuning", "finetuning",
                                                                      default={}).items()}
    if scores:
        said.append("Chapter 5: " + baseline_finding(
            scores, run.get("05_finetuning", "baselines", default=[]),
            run.get("02_teacher", "config", "teacher_steps"), run.get("02_teacher", "config", "batch_size")))
    return said


def display(rows, paper_columns=("paper",)):
    """A DataFrame of `rows` for reading: a missing value reads "not in paper" in columns whose name starts
    with one of `paper_columns`, and "not run" elsewhere."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    for column in frame.columns:
        if frame[column].isna().any():
            missing = NOT_IN_PAPER if str(column).startswith(paper_columns) else NOT_RUN
            frame[column] = frame[column].astype(object).where(frame[column].notna(), missing)
    return frame


def summary(run):
    """What chapter 7 writes to its results.json: counts of what ran and what did not."""
    scores = sum(row[f"ours {model}"] is not None for row in table3(run) for model in PAPER_NAMES.values())
    return {"chapters_run": sorted(run.results), "chapters_not_run": [c for c in CHAPTERS[:-1] if c not in run.results],
            "table3_scores": scores, "tasks_not_run": not_run_tasks(run)}


def _percent(fraction):
    return None if fraction is None else round(100 * fraction, 1)


def _millions(count):
    return None if count is None else round(count / 1e6, 1)
