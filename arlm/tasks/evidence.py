"""Does distillation help? The distilled student against the same student pretrained from scratch (chapter 4).

Both students get the same number of updates on the same batches (stage 2 + stage 3 steps for the distilled
one; the teacher's own pretraining is not counted). They are compared on masked-LM accuracy and by
fine-tuning each on sentiment tasks (AJGT and ASTD-B by default) with `arlm.tasks.finetune`; with none of them
available offline, on the embedded hadith task (held out of the pretraining corpus).

>>> models = {"distilled": "student.keras", "scratch": "scratch.keras"}
>>> rows = finetune_comparison(models, tokenizer, cfg)  # doctest: +SKIP
"""

EVIDENCE_TASKS = ("ajgt", "astd_b")
FALLBACK_TASK = "hadith"  # shipped with the package: the comparison runs without the data mirror too


def finetune_comparison(models, tokenizer, cfg, tasks=EVIDENCE_TASKS, verbose=0):
    """Fine-tune every saved pretrainer of ``models`` (``{label: path}``) on each task, once per training seed
    (``finetune_seeds``); one row per pair.

    Each run starts from a fresh copy of the saved backbone, so tasks do not contaminate each other; the seeds
    change the head's initialisation, dropout and batch order, not the examples. A row holds ``model``,
    ``task``, ``accuracy`` and ``macro_f1`` (means over the seeds), ``accuracy_sd``, ``accuracy_runs``, ``seeds``
    and the examples used. A task whose files cannot be read offline is skipped with a message; when none can,
    the embedded `FALLBACK_TASK` is used instead.
    """
    from arlm.tasks.experiments import over_seeds, training_seeds
    from arlm.tasks.finetune import ModelCache, finetune_classification, load_backbone
    from arlm.tasks.loaders import available, load_task

    runnable = [name for name in tasks if available(name)]
    for name in tasks:
        if name not in runnable:
            print(f"skipping {name}: its files are not available offline (set ARLM_DATA_DIR to the data mirror)")
    if not runnable:
        print(f"fine-tuning on the embedded {FALLBACK_TASK!r} task instead")
        runnable = [FALLBACK_TASK]
    cache = ModelCache()  # the students share a shape: one traced model for every run
    rows = []
    for task_name in runnable:
        task = load_task(task_name)
        for label, path in models.items():
            runs = []
            for seed in training_seeds(cfg):
                backbone, _ = load_backbone(path, cfg, tokenizer.vocab_size)
                scores, _ = finetune_classification(task, backbone, tokenizer, cfg, verbose=verbose, cache=cache,
                                                    seed=seed)
                runs.append(scores)
            scores = over_seeds(runs)
            rows.append({"model": label, "task": task_name, "accuracy": scores["accuracy"],
                         "accuracy_sd": scores["accuracy_sd"], "accuracy_runs": scores["accuracy_runs"],
                         "macro_f1": scores.get("macro_f1", float("nan")), "seeds": scores["seeds"],
                         "train_examples": int(scores["train_examples"])})
    return rows


def summarize(mlm_scores, finetune_rows):
    """``results.json``-ready numbers: per model its masked-LM accuracy and per-task accuracy, plus the gaps."""
    summary = {}
    for label, scores in mlm_scores.items():
        summary[label] = {"mlm_accuracy": scores["mlm_accuracy"], "mlm_loss": scores["mlm_loss"],
                          "nsp_accuracy": scores["nsp_accuracy"]}
    for row in finetune_rows:
        summary.setdefault(row["model"], {})[f"{row['task']}_accuracy"] = row["accuracy"]
        summary[row["model"]][f"{row['task']}_accuracy_sd"] = row.get("accuracy_sd", 0.0)
    labels = list(summary)
    if len(labels) == 2:
        first, second = labels
        summary["gap"] = {key: summary[first][key] - summary[second][key]
                          for key in summary[first] if key in summary[second] and not key.endswith("_sd")}
        summary["gap_is"] = f"{first} minus {second}"
    return summary


def clearly_ahead(first, second, tokens):
    """Whether accuracy `first` is more than two standard errors (binomial, over `tokens` masked tokens each)
    above `second`."""
    import math

    error = math.sqrt((first * (1 - first) + second * (1 - second)) / max(tokens, 1))
    return first - second > 2 * error


def masked_lm_finding(accuracy, scale, updates, tokens, teacher_updates):
    """A sentence on chapter 4's held-out masked-LM accuracies: whether the teacher had anything to pass on (it is
    ahead of the student trained from scratch), where the distilled student stands, and why when it is ahead of
    its own teacher.

    Two accuracies count as different when they are more than two standard errors apart (binomial, over the
    ``tokens`` masked tokens evaluated): a gap smaller than that is what another draw of held-out tokens could
    undo.

    Args:
        accuracy (dict): ``distilled``, ``scratch`` and ``teacher`` masked-LM accuracies (fractions).
        scale (str): the run's scale, named in the sentence.
        updates (int): the updates each student received.
        tokens (int): the masked tokens the accuracies are measured on.
        teacher_updates (int): the teacher's pretraining updates.
    """
    import math

    def ahead(first, second):
        return clearly_ahead(first, second, tokens)

    distilled, scratch, teacher = accuracy["distilled"], accuracy["scratch"], accuracy["teacher"]
    said = (f"In this run (`{scale}`), after {updates:,} updates each, the distilled student's held-out masked-LM "
            f"accuracy is {distilled:.1%} and the scratch student's {scratch:.1%} (the teacher: {teacher:.1%}; "
            f"{tokens:,} masked tokens, so gaps under about {200 * math.sqrt(0.25 / max(tokens, 1)):.1f} points "
            "are within two standard errors). ")
    if not ahead(teacher, scratch):
        return said + ("The teacher is no better than the student trained from scratch: at this scale distillation "
                       "has nothing to pass on, and the comparison checks the pipeline, not the method.")
    said += "The teacher is ahead of the student trained from scratch, so there is something to distill; "
    if ahead(distilled, teacher):
        return said + (f"the distilled student is ahead of its own teacher. The likely reason: it starts from the "
                       f"teacher's embeddings and masked-LM head (copied in chapter 3), then trains {updates:,} more "
                       f"updates on the same corpus, {updates / max(teacher_updates, 1):.0%} of the teacher's own "
                       f"{teacher_updates:,}; a teacher this far from converged leaves the student room to learn "
                       "past it.")
    if not ahead(teacher, distilled):
        return said + "the distilled student is level with its teacher (within two standard errors)."
    if ahead(distilled, scratch):
        return said + "the distilled student is part of the way there, ahead of the scratch student."
    return said + "the distilled student is no further than the scratch one."


def alpha_finding(scores, steps):
    """A sentence on stage 3 with three mixes $\\alpha$ of true tokens and teacher (chapter 4's last exercise).

    Args:
        scores (dict): ``{"alpha = a": evaluate_masked_lm(...)}``.
        steps (int): the stage-3 steps each ran.
    """
    losses = {label: s["mlm_loss"] for label, s in scores.items()}
    best, worst = min(losses, key=losses.get), max(losses, key=losses.get)
    return (f"After {steps} steps the lowest held-out masked-LM loss is at {best} ({losses[best]:.4f}), the highest "
            f"at {worst} ({losses[worst]:.4f}), {losses[worst] - losses[best]:.4f} apart, one run each: a gap to "
            "set against the spread of repeated runs before reading it as an effect of $\\alpha$.")
