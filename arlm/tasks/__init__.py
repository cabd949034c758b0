"""Chapter 5: the paper's fine-tuning tasks, heads, metrics and baselines, and fine-tuning on a user's data.

Modules (none is imported here, so ``import arlm.tasks`` stays light):

* `arlm.tasks.loaders`: the eight tasks of Table 3, ASTD 4-class and the embedded hadith task, with their splits;
* `arlm.tasks.metrics`: accuracy, macro-F1, the authors' PADT P/R/F1, official SQuAD v1.1 EM/F1 (+ Arabic variant);
* `arlm.tasks.baselines`: majority class and TF-IDF + logistic regression;
* `arlm.tasks.finetune`: fine-tuning with the paper's settings, scaled by `arlm.scales`;
* `arlm.tasks.experiments`: the run's models, Table 3 and Figure 1 for chapter 5;
* `arlm.tasks.evidence`: chapter 4's distilled vs. from-scratch student, fine-tuned on AJGT and ASTD-B;
* `arlm.tasks.user_data`: CSV/TSV/JSONL reading and ``arlm finetune``.

The inputs of each kind of task (classification, tagging, QA) are built by `arlm.preprocessing`.
"""
