"""Result-dependent sentences: each finding says what its numbers show, whichever way they fall."""

import numpy as np

from arlm import corpus, prose, reporting
from arlm import pretraining_data as pdata
from arlm.distillation import transfer
from arlm.tasks import evidence, experiments


def test_say_prints_outside_a_notebook(capsys):
    prose.say("**42** words")
    assert capsys.readouterr().out == "**42** words\n"


def test_table1_finding_on_the_embedded_corpus_and_on_a_news_corpus():
    stats = corpus.corpus_stats(list(corpus.iter_corpus([corpus.embedded_source()], max_words=20_000)))
    hadith = corpus.table1_finding(corpus.table1(stats, [corpus.embedded_source()]))
    assert "differs from the paper's" in hadith and "Billion Words Corpus" in hadith
    news = [{"paper_dataset": "Billion Words Corpus", "paper_share": 79.9, "ours_source": "saudinewsnet",
             "ours_share": 69.5},
            {"paper_dataset": "Twitter", "paper_share": 4.2, "ours_source": "tweets", "ours_share": 30.5}]
    assert "the paper's largest too (80%" in corpus.table1_finding(news)


def test_random_next_finding_explains_a_share_above_one_half_only():
    assert "about BERT's one half" in pdata.random_next_finding({"next_sentence_random_ratio": 0.5}, 128)
    high = pdata.random_next_finding({"next_sentence_random_ratio": 0.71, "long_lines": 3498}, 64)
    assert high.startswith("71% of the pairs") and "3,498 lines" in high


def test_phase_finding_reads_falling_and_flat_terms():
    history = [{"layer": layer, "fmt": fmt, "at": 2.0794} for layer in (0, 1) for fmt in (4.0, 3.0, 2.0)]
    said = transfer.phase_finding(history)
    assert "`fmt` fell by 50%" in said and "`at` stayed within 5%" in said


def test_attention_finding_tells_uniform_from_focused_maps():
    uniform = np.full((1, 2, 8, 8), 1 / 8)
    assert "almost uniform" in transfer.attention_finding(uniform)
    focused = np.tile(np.eye(8) * 0.93 + 0.01, (1, 2, 1, 1))
    assert "focused" in transfer.attention_finding(focused)


def test_baseline_finding_names_classifiers_at_or_below_the_majority_class():
    baselines = [{"task": "ajgt", "majority_accuracy": 0.531, "tfidf_lr_accuracy": 0.93}]
    below = experiments.baseline_finding({("mberta", "ajgt"): {"accuracy": 0.469}}, baselines)
    assert "0 of 1" in below and "mberta on ajgt (46.9% vs 53.1%)" in below
    above = experiments.baseline_finding({("iberta", "ajgt"): {"accuracy": 0.95}}, baselines)
    assert "1 of 1" in above and "Every one is above" in above
    assert "No classifier" in experiments.baseline_finding({}, baselines)


def test_table3_finding_with_and_without_scores():
    rows = [{"dataset": "AJGT", "metric": "accuracy", **{f"paper {m}": 90.0 for m in reporting.PAPER_NAMES.values()},
             **{f"ours {m}": None for m in reporting.PAPER_NAMES.values()}}]
    assert reporting.table3_finding(rows, "tiny").startswith("No cell of Table 3")
    rows[0]["ours MBERTA"] = 60.0
    said = reporting.table3_finding(rows, "cpu")
    assert said.startswith("1 of ") and "30.0 points below" in said and "`tiny`" not in said


def test_table3_compact_puts_paper_and_ours_in_one_cell_with_the_baselines(tmp_path):
    run = reporting.Run(tmp_path, {"05_finetuning": {
        "table3": [{"dataset": "AJGT", "metric": "accuracy", "model": "MBERTA", "ours": 61.2}],
        "baselines": [{"task": "ajgt", "majority_accuracy": 0.5, "tfidf_lr_accuracy": 0.83}]}})
    rows = {(row["dataset"], row["metric"]): row for row in reporting.table3_compact(run)}
    ajgt = rows[("AJGT", "accuracy")]
    assert ajgt["MBERTA"].endswith(" / 61.2") and ajgt["IBERTA"].endswith(" / –")
    assert (ajgt["majority"], ajgt["TF-IDF"]) == (50.0, 83.0)
    assert rows[("PADT", "f1")]["majority"] == "–" and ("ARCD", "EM") in rows  # no baseline, not "not run"


def test_chapter5_table3_has_the_baselines_beside_accuracy_rows():
    baselines = [{"task": "ajgt", "majority_accuracy": 0.531, "tfidf_lr_accuracy": 0.93}]
    rows = experiments.table3({("MBERTA", "ajgt"): {"accuracy": 0.5}, ("MBERTA", "padt"):
                               {"precision": 0.1, "recall": 0.2, "f1": 0.15}}, baselines)
    ajgt = next(row for row in rows if row["dataset"] == "AJGT")
    assert (ajgt["ours"], ajgt["majority"], ajgt["tfidf"]) == (50.0, 53.1, 93.0)
    assert all(row["majority"] is None for row in rows if row["dataset"] == "PADT")
    assert "majority" not in experiments.table3({("MBERTA", "ajgt"): {"accuracy": 0.5}})[0]


def test_length_finding_reads_full_and_partly_short_examples():
    assert pdata.length_finding([64, 64, 63], 64).startswith("None of these 3 examples")
    assert pdata.length_finding([64, 20, 64, 30], 64).startswith("50% of these examples")


def test_masked_lm_finding_tells_a_teacher_worth_distilling_from_one_that_is_not():
    caught_up = evidence.masked_lm_finding({"distilled": 0.122, "scratch": 0.034, "teacher": 0.115}, "cpu", 1600,
                                           2156, 2000)
    assert "something to distill" in caught_up and "level with its teacher" in caught_up  # 0.7 points: noise
    assert "1,600 updates" in caught_up and "2,156 masked tokens" in caught_up
    ahead = evidence.masked_lm_finding({"distilled": 0.20, "scratch": 0.034, "teacher": 0.115}, "cpu", 1600, 20_000,
                                       2000)
    assert "ahead of its own teacher" in ahead and "copied in chapter 3" in ahead and "80% of the teacher's" in ahead
    untrained = evidence.masked_lm_finding({"distilled": 0.03, "scratch": 0.03, "teacher": 0.031}, "tiny", 50, 500,
                                           30)
    assert "nothing to pass on" in untrained
    partial = evidence.masked_lm_finding({"distilled": 0.08, "scratch": 0.03, "teacher": 0.12}, "cpu", 1600, 20_000,
                                         2000)
    assert "part of the way" in partial


def test_alpha_finding_names_the_lowest_loss_and_the_missing_spread():
    said = evidence.alpha_finding({"alpha = 1.0": {"mlm_loss": 6.05}, "alpha = 0.0": {"mlm_loss": 6.03}}, 20)
    assert said.startswith("After 20 steps the lowest held-out masked-LM loss is at alpha = 0.0 (6.0300)")
    assert "0.0200 apart, one run each" in said
