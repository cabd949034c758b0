"""Chapter 5's experiments: which models the run has, Table 3 (paper vs. this book) and Figure 1.

* `run_models` finds the pretrained models of chapters 2-4 in the run folder (teacher = IBERTA, distilled
  student = MBERTA, the student pretrained without distillation as a control); with none, a randomly initialised
  MBERTA stands in, and the description says so.
* `finetune_task` loads a fresh backbone and fine-tunes it on one task, through a shared `ModelCache`.
* `save_model` writes ``models/<model>_<task>.keras`` and its entry in ``models/index.json`` (chapter 6 reads them);
  `finetune_and_save` does both, once per seed (``finetune_seeds``), each a resumable `arlm.fitting.Stage` (a
  rerun reuses finished runs), and returns the scores' mean and standard deviation over the seeds
  (`over_seeds`; `arlm.book.claims.spread_finding` says which differences between models exceed that spread).
* `table3` joins our scores to `arlm.paper.table("table3_results")`; `figure1_runs` lists chapter 2's snapshots.

>>> models = run_models(ch, cfg)                                   # doctest: +SKIP
"""

import dataclasses
import os
from pathlib import Path

from arlm.artifacts import write_model_index_entry
from arlm.files import file_sha256, read_json
from arlm.fitting import Stage, stage_config
from arlm.saving import save_model as save_keras

# name in the run -> (file under the run folder, preset / file stem, the paper's Table 3 column)
RUN_MODELS = {
    "teacher": (("02_teacher", "teacher.keras"), "iberta", "IBERTA"),
    "student": (("04_distillation", "student.keras"), "mberta", "MBERTA"),
    "scratch": (("04_distillation", "scratch.keras"), "mberta_scratch", ""),
}
# our task name -> (Table 3 dataset, metric keys: paper metric name -> our score key, scaled to percent)
TABLE3 = {
    "ajgt": ("AJGT", {"accuracy": "accuracy"}),
    "hard": ("HARD", {"accuracy": "accuracy"}),
    "arsentd_lev": ("ArSenTD-LEV", {"accuracy": "accuracy"}),
    "labr": ("LABR", {"accuracy": "accuracy"}),
    "tead": ("TEAD", {"accuracy": "accuracy"}),
    "astd_b": ("ASTD", {"accuracy": "accuracy"}),
    "padt": ("PADT", {"precision": "precision", "recall": "recall", "f1": "f1"}),
    "arcd": ("ARCD", {"exact_match": "exact_match", "f1": "f1"}),
}


@dataclasses.dataclass
class RunModel:
    name: str  # teacher | student | scratch | random
    stem: str  # preset-like name used in file names (mberta, iberta, ...)
    column: str  # the paper's Table 3 column ("" when the paper has none)
    source: object  # a saved model (`arlm.saving.load_model`) or a configuration name (random weights)
    description: str


def run_models(ch, cfg, wanted):
    """The models of `wanted` (names of `RUN_MODELS`) that exist in the run; a random MBERTA when none does."""
    found = []
    for name in wanted:
        if name not in RUN_MODELS:
            from arlm.errors import ParameterError

            raise ParameterError(f"unknown run model {name!r}; choose from {', '.join(RUN_MODELS)}")
        (chapter, file), stem, column = RUN_MODELS[name]
        path = ch.find(chapter, file)
        if path is not None:
            where = path.relative_to(ch.run_dir)
            found.append(RunModel(name, stem, column, path, f"{name} from chapter {chapter} ({where})"))
    if not found:
        found.append(RunModel("random", "mberta", "MBERTA", "mberta",
                              f"no pretrained model in the run folder (run chapters 2-4 first): MBERTA at scale "
                              f"{cfg.name!r} from random initialisation"))
    return found


def vocabulary(ch, fallback_texts, vocab_size):
    """Chapter 1's vocabulary, or (when chapter 1 has not run) one trained on `fallback_texts`; (path, note)."""
    path = ch.find("01_corpus", "vocab.txt")
    if path is not None:
        return path, f"chapter 1 vocabulary {path.relative_to(ch.run_dir)}"
    from arlm.tokenizer import train_vocabulary

    target = ch.path("vocab.txt")
    train_vocabulary(fallback_texts, vocab_size, target)
    return target, f"chapter 1 has not run: a {vocab_size}-token vocabulary trained on the tasks' training texts"


def finetune_task(task, model, tokenizer, cfg, cache, **kwargs):
    """Fine-tune a fresh copy of `model` (a `RunModel`) on `task`; (scores, fine-tuned keras model)."""
    from arlm.tasks.finetune import finetune, load_backbone

    backbone, _ = load_backbone(model.source, cfg, tokenizer.vocab_size)
    return finetune(task, backbone, tokenizer, cfg, cache=cache, **kwargs)


def training_seeds(cfg):
    """The training seeds of a scale: ``finetune_seeds`` of them, from ``seed`` up."""
    return [cfg.seed + k for k in range(cfg.finetune_seeds)]


def model_identity(ch, source):
    """What a fine-tuning stage records of the model it starts from: a configuration name as it is, a saved model
    by its place in the run folder and a digest of its file, never its absolute path, so a run folder that is
    copied or moved reuses its finished stages and a model trained again is refused."""
    if not isinstance(source, Path):
        return str(source)
    where = source.relative_to(ch.run_dir).as_posix() if source.is_relative_to(ch.run_dir) else source.name
    return f"{where} {file_sha256(source)[:16]}"


def finetune_and_save(ch, task, model, tokenizer, cfg, cache, vocab_path, **kwargs):
    """Fine-tune `model` (a `RunModel`) on `task` once per training seed (`training_seeds`), each a resumable
    stage (``finetune/<stem>_<task>/``, then ``..._seed2/`` and on): an interrupted run resumes, a finished one is
    not run again. The first seed's model is saved with `save_model` (chapter 6 quantizes it). Returns
    `over_seeds` of the runs' scores."""
    stem = f"{model.stem}_{task.name}"
    keys = [key for key in cfg.values if key.startswith(("finetune_", "qa_", "pos_"))
            and key not in ("finetune_models", "finetune_seeds")]
    options = {key: value for key, value in kwargs.items() if key != "verbose"}
    # a stage fine-tuned with other ids (a vocabulary trained again) or from another model is refused, not reused
    vocabulary = file_sha256(vocab_path)[:16]
    source = model_identity(ch, model.source)
    runs = []
    for number, seed in enumerate(training_seeds(cfg), 1):
        folder = stem if number == 1 else f"{stem}_seed{number}"
        stage = Stage(ch.path("finetune", folder, "finished.json").parent,
                      stage_config(cfg, keys, task=task.name, model=source, options=options,
                                   training_seed=seed, vocab=vocabulary))
        if not stage.finished:
            scores, keras_model = finetune_task(task, model, tokenizer, cfg, cache, work_dir=stage.dir, seed=seed,
                                                **kwargs)
            saved = {}
            if number == 1:
                saved["model"] = save_model(ch, keras_model, stem, task, vocab_path, scores["max_seq_length"])
            stage.finish(saved, scores)
        runs.append(stage.finished["result"])
    return over_seeds(runs)


# scores averaged over seeds (every other key is the first seed's)
SEED_METRICS = ("accuracy", "macro_f1", "precision", "recall", "f1", "token_accuracy", "micro_f1",
                "viterbi_token_accuracy", "exact_match", "arabic_exact_match", "arabic_f1", "final_train_loss")


def over_seeds(runs):
    """One scores dict for runs that differ only in their training seed.

    Each metric of `SEED_METRICS` becomes the mean over the runs, with ``<metric>_sd`` (the sample standard
    deviation; 0 for one run) and ``<metric>_runs`` (the runs' values); ``train_seconds`` is the total, ``seeds``
    the seeds, and every other key the first run's.

    >>> over_seeds([{"accuracy": 0.5, "seed": 1}, {"accuracy": 0.7, "seed": 2}])["accuracy_sd"]  # doctest: +ELLIPSIS
    0.141...
    """
    import numpy as np

    merged = dict(runs[0])
    for key in SEED_METRICS:
        if key in merged:
            values = [float(run[key]) for run in runs]
            merged[key] = float(np.mean(values))
            merged[f"{key}_sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
            merged[f"{key}_runs"] = values
    merged["seeds"] = [run.get("seed") for run in runs]
    merged["train_seconds"] = float(sum(run.get("train_seconds", 0.0) for run in runs))
    return merged


def save_model(ch, keras_model, stem, task, vocab_path, max_seq_length):
    """``models/<stem>.keras`` plus its entry in ``models/index.json`` (task name, kind, labels, length, vocab)."""
    folder = ch.path("models")
    folder.mkdir(parents=True, exist_ok=True)
    save_keras(keras_model, folder / f"{stem}.keras")
    write_model_index_entry(folder, stem, {
        "task": task.name, "kind": task.kind, "labels": list(task.labels), "max_seq_length": int(max_seq_length),
        # relative to the run folder, which moves (a bucket's working copy, another machine)
        "vocab": os.path.relpath(vocab_path, ch.run_dir)})
    return folder / f"{stem}.keras"


def table3(results, baseline_rows=()):
    """Rows (dataset, metric, model column, paper, ours) for every score we have; ours in percent, and ``sd``,
    its standard deviation over seeds, when the scores are `over_seeds` of several runs.

    `results` maps ``(column, task name)`` to a scores dict (fractions for accuracy/PADT, percent for SQuAD).
    With `baseline_rows` (chapter 5's, per task), accuracy rows also get ``majority`` and ``tfidf`` (percent).
    """
    baselines = {row["task"]: row for row in baseline_rows}
    from arlm import paper

    paper_rows = {(row["dataset"], row["metric"]): row for row in paper.table("table3_results")}
    rows = []
    for (column, task_name), scores in results.items():
        if task_name not in TABLE3 or not column:
            continue
        dataset, keys = TABLE3[task_name]
        for metric, key in keys.items():
            factor = 1 if task_name == "arcd" else 100
            reference = paper_rows.get((dataset, metric), {}).get(column)
            rows.append({"dataset": dataset, "metric": metric, "model": column, "paper": reference,
                         "ours": round(float(scores[key] * factor), 1)})
            if len(scores.get(f"{key}_runs", ())) > 1:  # over seeds (`over_seeds`): the spread beside the mean
                rows[-1]["sd"] = round(float(scores[f"{key}_sd"] * factor), 1)
            if baseline_rows:
                base = baselines.get(task_name) if metric == "accuracy" else None
                rows[-1]["majority"] = None if base is None else round(100 * base["majority_accuracy"], 1)
                rows[-1]["tfidf"] = None if base is None else round(100 * base["tfidf_lr_accuracy"], 1)
    return rows


def baseline_rows(tasks, cfg):
    """Per classification task, its baselines (`arlm.tasks.baselines.baseline_scores`) on the examples the
    transformers see: at most ``finetune_max_train_examples`` / ``finetune_max_eval_examples`` (`limit`, seeded).

    Args:
        tasks (dict): task name -> `arlm.tasks.loaders.Task`.
        cfg: the resolved scale (`arlm.scales.resolve`).

    Returns a list of ``{"task", "majority_accuracy", "tfidf_lr_accuracy", "tfidf_lr_macro_f1", "train", "test"}``.
    """
    from arlm.tasks.baselines import baseline_scores
    from arlm.tasks.finetune import limit

    rows = []
    for name, task in tasks.items():
        if task.kind != "classification":
            continue
        train = limit(task.train, cfg.finetune_max_train_examples, cfg.seed)
        test = limit(task.test, cfg.finetune_max_eval_examples, cfg.seed)
        rows.append({"task": name, **baseline_scores(train, test, cfg.seed), "train": len(train), "test": len(test)})
    return rows


def baseline_finding(scores, baseline_rows, teacher_steps=None, batch_size=None):
    """A sentence on which fine-tuned classifiers beat the majority class and TF-IDF on the same test examples,
    and, when few do, the likely reason at this run's scale.

    Args:
        scores (dict): ``(model name, task name)`` -> scores with ``accuracy`` (the classification runs).
        baseline_rows (list[dict]): per task, ``task``, ``majority_accuracy`` and ``tfidf_lr_accuracy``.
        teacher_steps, batch_size (int | None): the teacher's pretraining updates and batch, for the likely reason
            when most classifiers are below TF-IDF (None: no reason given).
    """
    baselines = {row["task"]: row for row in baseline_rows}
    runs = [(model, task, s["accuracy"]) for (model, task), s in scores.items() if task in baselines]
    if not runs:
        return "No classifier was fine-tuned in this run."
    below_majority = [f"{model} on {task} ({accuracy:.1%} vs {baselines[task]['majority_accuracy']:.1%})"
                      for model, task, accuracy in runs if accuracy <= baselines[task]["majority_accuracy"]]
    beat_tfidf = sum(accuracy > baselines[task]["tfidf_lr_accuracy"] for _, task, accuracy in runs)
    said = f"{beat_tfidf} of {len(runs)} fine-tuned classifiers beat TF-IDF + logistic regression."
    if below_majority:
        said += (" Not above the majority class, i.e. no better than always answering the most frequent label: "
                 + "; ".join(below_majority) + ".")
    else:
        said += " Every one is above the majority class."
    if teacher_steps and batch_size and beat_tfidf < len(runs) / 2:
        from arlm import paper

        said += (f" The likely reason: the transformers' pretraining is what should put them above word and "
                 f"character n-grams, and at this scale it is short (the teacher: {teacher_steps:,} updates of "
                 f"{batch_size} sequences; the paper: {paper.setting('teacher_steps'):,} of "
                 f"{paper.setting('batch_size')}), while TF-IDF needs none. A comparison with the paper needs models "
                 "that clear this baseline first.")
    return said


def probe_finding(probe, fine_tuned, majority):
    """A sentence on a linear probe against full fine-tuning and the majority class (test accuracies).

    Args:
        probe, fine_tuned, majority (float): the three accuracies (fractions).
    """
    said = (f"The linear probe gets {probe:.1%}, full fine-tuning {fine_tuned:.1%} and the majority class "
            f"{majority:.1%}")
    gain = fine_tuned - majority
    if gain <= 0:
        return said + ": fine-tuning itself is not above the majority class, so there is no gain for a probe to keep."
    return said + f": the probe keeps {(probe - majority) / gain:.0%} of fine-tuning's gain over the majority class."


def dev_finding(summaries):
    """A sentence naming the tasks whose dev set is their test set (`Task.summary`'s ``dev_is_test``).

    Args:
        summaries (list[dict]): `Task.summary` of the tasks loaded.
    """
    same = [row["task"] for row in summaries if row.get("dev_is_test")]
    if not same:
        return "No task loaded here uses its test set as its dev set."
    return (f"In {', '.join(same)} the dev set is the test set (`dev_is_test`): anything chosen on the dev set "
            "(an epoch, a learning rate) is chosen on the test set.")


def recipe_finding(cfg):
    """A sentence setting this scale's fine-tuning recipe beside the paper's (`arlm.paper.setting`)."""
    from arlm import paper

    limit = cfg.finetune_max_train_examples
    return (f"This run fine-tunes for {cfg.finetune_epochs} epoch(s) at a learning rate of "
            f"{cfg.finetune_learning_rate:g} (PoS: {cfg.pos_learning_rate:g}), on "
            f"{f'at most {limit:,}' if limit else 'all the'} training examples per task, cut to "
            f"{cfg.finetune_max_seq_length} pieces, {cfg.finetune_seeds} seed(s) per model; the paper fine-tunes "
            f"for {paper.setting('finetune_epochs')} epochs at {paper.setting('finetune_learning_rate'):g} (PoS: "
            f"{paper.setting('pos_learning_rate'):g}) on every training example (section 4).")


def figure1_runs(ch):
    """Chapter 2's Figure 1 snapshots: {run name: [step, ...]} from ``02_teacher/figure1/index.json`` ({} if none)."""
    index = ch.find("02_teacher", "figure1", "index.json")
    if index is None:
        return {}, ch.run_dir / "02_teacher" / "figure1" / "index.json"
    return {name: [s["step"] for s in run["snapshots"]] for name, run in read_json(index).items()}, index


def figure1_vocabulary(ch, vocab_size):
    """The chapter 1 vocabulary file with exactly `vocab_size` tokens (the 30K and 50K stand-ins differ)."""
    folder = ch.run_dir / "01_corpus"
    for path in sorted(folder.glob("*.txt")):
        with open(path, encoding="utf-8") as handle:
            first = handle.readline().strip()
            if first == "[PAD]" and 1 + sum(1 for _ in handle) == vocab_size:
                return path
    return None


def figure1(ch, tasks, cfg, cache=None, task="ajgt"):
    """Figure 1: every chapter 2 snapshot of both teachers fine-tuned on ``task`` with this scale's recipe.

    Returns ``(points, note)``: ``{"teacher", "vocab_size", "hidden_size", "step", "accuracy"}`` per snapshot, and
    why none was
    run when ``points`` is empty. Snapshots of one teacher share a shape, so ``cache`` traces each teacher once.
    """
    from arlm.tasks.finetune import finetune_classification
    from arlm.tokenizer import WordPieceTokenizer
    from arlm.training import load_snapshot

    runs, index = figure1_runs(ch)
    if task not in tasks:
        return [], f"{task} is not available"
    if not runs:
        return [], f"no snapshots ({index})"
    configs = {name: run["config"] for name, run in read_json(index).items()}
    sizes = {name: config["vocab_size"] for name, config in configs.items()}
    points = []
    for run_name, steps in runs.items():
        vocab = figure1_vocabulary(ch, sizes[run_name])
        if vocab is None:
            print(f"{run_name}: no chapter 1 vocabulary of {sizes[run_name]} tokens; skipped")
            continue
        tokenizer = WordPieceTokenizer(vocab)
        for step in steps:
            scores, _ = finetune_classification(tasks[task], load_snapshot(index, run_name, step), tokenizer, cfg,
                                                verbose=0, cache=cache)
            points.append({"teacher": run_name, "vocab_size": sizes[run_name],
                           "hidden_size": configs[run_name]["hidden_size"], "step": step,
                           "accuracy": scores["accuracy"]})
    return points, "" if points else "no snapshot could be fine-tuned"
