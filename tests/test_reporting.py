"""Chapter 7's reporting: paper vs. run tables from results.json files, with missing numbers kept missing."""

import json

import pytest

from arlm.book import reporting
from arlm.errors import ArtifactError


def write(run_dir, chapter, results):
    folder = run_dir / chapter
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"chapter": chapter, "scale": "tiny", **results}))


@pytest.fixture
def run_dir(tmp_path):
    write(tmp_path, "01_corpus", {"sources": ["hadith"], "data_source": "embedded",
                                   "table1": [{"paper_dataset": "Alshamila", "paper_share": 6.9,
                                               "ours_source": "hadith", "ours_words": 1000, "ours_share": 100.0}]})
    write(tmp_path, "05_finetuning", {
        "tasks": {"ajgt": {}},
        "not_run": {"hard": "not run (offline)"},
        "table3": [{"dataset": "AJGT", "metric": "accuracy", "model": "MBERTA", "paper": 90.8, "ours": 61.0}],
        "figure1": [{"teacher": "iberta", "vocab_size": 2000, "step": s, "accuracy": a} for s, a in ((1, .6), (2, .7))]
        + [{"teacher": "iberta_30k", "vocab_size": 1200, "step": s, "accuracy": a} for s, a in ((1, .5), (2, .6))],
    })
    return tmp_path


def test_missing_numbers_are_not_run_never_zero(run_dir):
    run = reporting.collect(run_dir)
    rows = reporting.table3(run)
    assert len(rows) == 11  # every (dataset, metric) of the paper's Table 3
    ajgt = next(r for r in rows if r["dataset"] == "AJGT")
    assert ajgt["ours MBERTA"] == 61.0 and ajgt["paper MBERTA"] == 90.8
    assert ajgt["ours IBERTA"] is None
    shown = reporting.display(rows)
    assert shown.loc[0, "ours IBERTA"] == reporting.NOT_RUN
    assert (shown.drop(columns=["dataset", "metric"]) != 0).all().all()
    assert reporting.not_run_tasks(run) == {"hard": "not run (offline)"}


def test_provenance_names_scale_and_data(run_dir):
    rows = {r["chapter"]: r for r in reporting.provenance(reporting.collect(run_dir))}
    assert rows["01_corpus"]["source"] == "scale tiny; pretraining corpus hadith"
    assert rows["05_finetuning"]["source"] == "scale tiny; tasks ajgt"
    assert rows["02_teacher"]["status"] == reporting.NOT_RUN


def test_tables_1_2_4_keep_paper_rows_when_chapters_did_not_run(run_dir):
    run = reporting.collect(run_dir)
    table1 = reporting.table1(run)
    assert [r["dataset"] for r in table1] == ["Billion Words Corpus", "Wikipedia", "Alshamila", "Twitter"]
    assert table1[2]["ours_source"] == "hadith" and table1[0]["ours_source"] is None
    table2 = reporting.table2(run)
    assert table2[0]["paper"] == 500 and table2[0]["ours_knowledge_transfer"] is None
    table4 = reporting.table4(run)
    assert table4[0]["paper_quantized_mb"] == 516 and table4[0]["ours_parameters_millions"] is None


def test_table4_sizes_follow_the_parameter_counts(run_dir):
    write(run_dir, "02_teacher", {"parameters": [{"model": "MBERTA", "ours": 23_680_770}]})
    mberta = next(r for r in reporting.table4(reporting.collect(run_dir)) if r["model"] == "MBERTA")
    assert mberta["ours_finetuned_mib"] == mberta["paper_finetuned_mb"] == 272  # 12 bytes per parameter
    assert mberta["ours_float32_mib"] == mberta["paper_quantized_mb"] == 91  # the paper's "quantized" = float32
    assert mberta["ours_int8_mib"] == 23


def test_accuracy_against_size_puts_this_run_at_its_own_parameter_counts(run_dir):
    write(run_dir, "03_knowledge_transfer", {"teacher_parameters": 3_125_504, "student_parameters": 1_319_040})
    run = reporting.collect(run_dir)
    ours = [row for row in reporting.accuracy_vs_size(run) if row["source"] == "ours"]
    assert ours == [{"model": "MBERTA", "source": "ours", "parameters_millions": 1.3, "mean_accuracy": 61.0,
                     "tasks": 1}]
    said = reporting.size_finding(run)
    assert "MBERTA has 36% of IBERTA's parameters" in said and "the student has 42% of its teacher's" in said


def test_summary_counts(run_dir):
    summary = reporting.summary(reporting.collect(run_dir))
    assert summary["table3_scores"] == 1
    assert "02_teacher" in summary["chapters_not_run"]


def test_corrupt_results_file_is_named(run_dir):
    (run_dir / "01_corpus" / "results.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="01_corpus/results.json is not valid JSON"):
        reporting.collect(run_dir)


def test_missing_run_folder(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist"):
        reporting.collect(tmp_path / "nowhere")


def test_scores_outside_table3_are_listed(run_dir):
    results = json.loads((run_dir / "05_finetuning" / "results.json").read_text())
    results["finetuning"] = {"student/ajgt": {"accuracy": 0.61}, "student/hadith": {"accuracy": 0.75, "macro_f1": 0.7}}
    (run_dir / "05_finetuning" / "results.json").write_text(json.dumps(results))
    assert reporting.other_scores(reporting.collect(run_dir)) == [
        {"model": "student", "task": "hadith", "accuracy": 75.0, "macro_f1": 70.0}]


def test_the_gap_table_sets_this_run_beside_the_paper(run_dir):
    write(run_dir, "03_knowledge_transfer", {"teacher_parameters": 400_000, "student_parameters": 200_000,
                                             "total_steps": 20})
    config = {"teacher_steps": 30, "batch_size": 16, "max_seq_length": 64, "vocab_size": 2000}
    write(run_dir, "02_teacher", {"config": config})
    rows = {row["quantity"]: row for row in reporting.gap_table(reporting.collect(run_dir))}
    assert rows["teacher parameters (IBERTA)"] == {"quantity": "teacher parameters (IBERTA)", "this run": "0.4M",
                                                    "the paper": "66.7M", "paper / run": "167"}
    assert rows["tokens seen by the teacher"]["this run"] == "30,720"
    assert rows["tokens seen by the teacher"]["the paper"] == "262.1B"  # 2M updates x 256 x 512 (section 3.3.1)
    assert rows["distillation updates (stage 2 + 3)"]["the paper"] == "2.5M"  # 500K + 2M (section 3.3.2)
    tasks = rows["Table 3 datasets fine-tuned"]
    assert (tasks["this run"], tasks["the paper"]) == ("1", "8")
    assert rows["distillation updates (stage 2 + 3)"]["this run"] is None  # chapter 4 has not run: not guessed


def test_shortfalls_say_what_did_not_work_from_each_chapters_results(run_dir):
    write(run_dir, "02_teacher", {"config": {"teacher_steps": 2000, "batch_size": 16}})
    write(run_dir, "03_knowledge_transfer", {
        "factors": {"hidden": 100.0, "attention": 1.0}, "steps_per_layer": 150,
        "attention_transfer": {"before": [2.5, 2.6], "after": [2.49, 2.6], "teacher_entropy": [1.9, 2.0],
                               "uniform": 2.56, "at_share": 0.04}})
    write(run_dir, "04_distillation", {"student_update_budget": 1600, "masked_lm": {
        "distilled": {"mlm_accuracy": 0.20, "eval_masked_tokens": 20_000},
        "scratch": {"mlm_accuracy": 0.03, "eval_masked_tokens": 20_000},
        "teacher": {"mlm_accuracy": 0.115, "eval_masked_tokens": 20_000}}})
    results = json.loads((run_dir / "05_finetuning" / "results.json").read_text())
    results.update(finetuning={"teacher/ajgt": {"accuracy": 0.775}},
                   baselines=[{"task": "ajgt", "majority_accuracy": 0.486, "tfidf_lr_accuracy": 0.872}])
    (run_dir / "05_finetuning" / "results.json").write_text(json.dumps(results))
    said = reporting.shortfalls(reporting.collect(run_dir))
    assert [s.split(":")[0] for s in said] == ["Chapter 3", "Chapter 4", "Chapter 5"]
    assert "Attention transfer did not move the student" in said[0]
    assert "ahead of its own teacher" in said[1] and "copied in chapter 3" in said[1]
    assert "0 of 1 fine-tuned classifiers beat TF-IDF" in said[2] and "The likely reason" in said[2]
    assert reporting.shortfalls(reporting.Run(run_dir, {})) == []


def test_closeness_finding_sets_close_cells_beside_models_without_the_method(run_dir):
    results = json.loads((run_dir / "05_finetuning" / "results.json").read_text())
    results.update(finetuning={"scratch/padt": {"f1": 0.768}, "scratch/ajgt": {"accuracy": 0.5}},
                   baselines=[{"task": "ajgt", "majority_accuracy": 0.5, "tfidf_lr_accuracy": 0.87}])
    (run_dir / "05_finetuning" / "results.json").write_text(json.dumps(results))
    run = reporting.collect(run_dir)
    said = reporting.closeness_finding([("PADT", "f1", "IBERTA"), ("AJGT", "accuracy", "MBERTA")], run, 5.0)
    assert said.startswith("2 cell(s) of Table 3 are within 5 points of the paper")
    assert "PADT f1 (the scratch student too)" in said and "AJGT accuracy (TF-IDF too)" in said
    assert reporting.closeness_finding([], run, 5.0).startswith("No cell of Table 3")
