"""Chapter 7's claims: quoted from the paper, and judged on planted results whichever way they fall."""

import json

import pytest

from arlm import paper
from arlm.book import claims, reporting
from arlm.tasks import experiments


def test_every_claim_is_the_papers_words_with_its_section():
    for claim in claims.CLAIMS:
        assert paper.quotes(claim.quote), claim.name
        assert claim.section in ("Abstract", "4"), claim.name
    quoted = " ".join(claim.quote for claim in claims.CLAIMS)
    assert "2x smaller than the baseline" in quoted and "PoS tagging, our models perform worse" in quoted
    assert not any("within a point" in claim.quote for claim in claims.CLAIMS)  # not a claim of the paper


def s(*runs):
    return claims.score(runs)


@pytest.mark.parametrize(("first", "second", "kind", "baseline", "verdict"), [
    (s(80, 82, 81), s(70, 71, 69), "ahead", None, claims.HOLDS),
    (s(70, 71, 69), s(80, 82, 81), "ahead", None, claims.REVERSED),  # the claim's direction, reversed
    (s(75, 80, 70), s(73, 78, 71), "ahead", None, claims.NOT_DISTINGUISHABLE),  # within the seed spread
    (s(80, 82, 81), s(70, 71, 69), "ahead", 85.0, claims.NOT_TESTABLE_AT_SCALE),  # both below TF-IDF
    (s(80, 82, 81), s(70, 71, 69), "ahead", 75.0, claims.HOLDS),  # one above the baseline: testable
    (s(80), s(70), "ahead", None, claims.NOT_DISTINGUISHABLE),  # one seed: no spread
    (s(80.5, 80.7, 80.6), s(80.0, 80.1, 79.9), "close", None, claims.HOLDS),  # within the tolerance
    (s(85, 86, 85), s(80, 81, 80), "close", None, claims.DOES_NOT_HOLD),  # 5 points, beyond both
    (s(80, 90, 85), s(80, 81, 79), "close", None, claims.NOT_DISTINGUISHABLE),  # 5 points, within the spread
    (None, s(80, 81, 80), "ahead", None, claims.NOT_RUN),
])
def test_compare_judges_planted_scores(first, second, kind, baseline, verdict):
    found, detail = claims.compare(first, second, kind, baseline)
    assert found == verdict, detail


def test_closeness_is_two_sided_and_states_its_tolerance():
    ahead, below = claims.compare(s(81, 81.2), s(80.5, 80.4), "close"), claims.compare(s(80.5, 80.4), s(81, 81.2),
                                                                                     "close")
    assert ahead[0] == below[0] == claims.HOLDS
    assert "within ±1 points" in ahead[1]


def test_combine_reads_several_tasks():
    assert claims.combine([claims.HOLDS, claims.NOT_RUN]) == claims.HOLDS
    assert claims.combine([claims.HOLDS, claims.REVERSED]) == claims.MIXED
    assert claims.combine([claims.NOT_DISTINGUISHABLE, claims.HOLDS]) == claims.NOT_DISTINGUISHABLE
    assert claims.combine([claims.NOT_TESTABLE_AT_SCALE, claims.NOT_RUN]) == claims.NOT_TESTABLE_AT_SCALE
    assert claims.combine([claims.NOT_RUN, claims.NOT_RUN]) == claims.NOT_RUN  # a task this run lacks
    assert claims.combine([claims.NOT_RUN, claims.NOT_TESTABLE_HERE]) == claims.NOT_TESTABLE_HERE


def point(vocab, step, accuracy):
    return {"vocab_size": vocab, "step": step, "accuracy": accuracy}


def test_figure1_verdicts_need_a_gap_beyond_the_seed_spread_and_the_baseline():
    points = [point(5000, 500, 0.70), point(8000, 500, 0.80), point(5000, 1000, 0.72), point(8000, 1000, 0.85)]
    assert claims.figure1_verdicts(points, spread=4.0)["vocabulary"][0] == claims.HOLDS
    assert claims.figure1_verdicts(points, spread=12.0)["vocabulary"][0] == claims.NOT_DISTINGUISHABLE
    assert claims.figure1_verdicts(points, spread=None)["vocabulary"][0] == claims.NOT_DISTINGUISHABLE
    assert claims.figure1_verdicts(points, spread=4.0, baseline=87.2)["vocabulary"][0] == \
        claims.NOT_TESTABLE_AT_SCALE
    reversed_ = [dict(p, vocab_size=13000 - p["vocab_size"]) for p in points]
    assert claims.figure1_verdicts(reversed_, spread=4.0)["vocabulary"][0] == claims.DOES_NOT_HOLD
    assert claims.figure1_verdicts(points, spread=1.0)["steps"][0] == claims.HOLDS  # both rose by > 1 point


def test_figure1_finding_quotes_the_paper_and_says_when_the_twin_is_as_wide():
    points = [dict(point(v, s_, a), hidden_size=128) for v, s_, a in ((5000, 1, 0.6), (8000, 1, 0.7))]
    said = claims.figure1_finding(points, "cpu", spread=4.0)
    assert '"the model with vocabulary size 50K achieve better results' in said and "(section 4)" in said
    assert "has the same width (H = 128)" in said and "H = 512 against 256" in said
    wider = [dict(p, hidden_size=256 if p["vocab_size"] == 5000 else 128) for p in points]
    assert "is wider (H = 256 against 128)" in claims.figure1_finding(wider, "gpu")
    assert claims.figure1_finding([], "tiny").startswith("Figure 1 was not run")


def write(run_dir, chapter, results):
    (run_dir / chapter).mkdir(parents=True, exist_ok=True)
    (run_dir / chapter / "results.json").write_text(json.dumps({"scale": "cpu", **results}))


def runs(*values):
    return {"accuracy": sum(values) / len(values), "accuracy_runs": list(values)}


@pytest.fixture
def planted(tmp_path):
    """A run where the student is 1.8 points ahead of its teacher on ArSenTD-LEV, both below TF-IDF on AJGT."""
    write(tmp_path, "05_finetuning", {
        "finetuning": {"teacher/arsentd_lev": runs(0.60, 0.61, 0.59), "student/arsentd_lev": runs(0.62, 0.625, 0.61),
                       "teacher/ajgt": runs(0.70, 0.75, 0.72), "student/ajgt": runs(0.74, 0.73, 0.72),
                       "teacher/arcd": {"f1": 40.0, "f1_runs": [40.0, 41.0, 39.0], "exact_match": 20.0,
                                        "exact_match_runs": [20.0, 21.0, 19.0]},
                       "student/arcd": {"f1": 30.0, "f1_runs": [30.0, 31.0, 29.0], "exact_match": 10.0,
                                        "exact_match_runs": [10.0, 11.0, 9.0]}},
        "baselines": [{"task": "ajgt", "majority_accuracy": 0.5, "tfidf_lr_accuracy": 0.87},
                      {"task": "arsentd_lev", "majority_accuracy": 0.3, "tfidf_lr_accuracy": 0.45}],
        "figure1": [point(5000, 100, 0.70), point(8000, 100, 0.73)]})
    write(tmp_path, "06_quantization", {"dynamic_over_float32_size": 0.29})
    return reporting.collect(tmp_path)


def test_check_gives_each_claim_its_verdict_on_planted_results(planted):
    rows = {row["claim"]: row for row in claims.check(planted)}
    assert len(rows) == len(claims.CLAIMS)
    comparable = rows["MBERTA comparable to IBERTA on HARD, ArSenTD, LABR"]
    assert comparable["verdict"] == claims.DOES_NOT_HOLD  # 1.8 points: beyond ±1 and the spread
    assert "HARD: not fine-tuned in this run" in comparable["this run"]
    assert rows["MBERTA much worse than IBERTA on QA"]["verdict"] == claims.HOLDS
    assert rows["50K vocabulary ahead of 30K at every step (Figure 1)"]["verdict"] == claims.NOT_TESTABLE_AT_SCALE
    assert rows["IBERTA ahead of AraBERT on classification"]["verdict"] == claims.NOT_TESTABLE_HERE
    assert "LABR -1.8" in rows["IBERTA ahead of AraBERT on classification"]["the paper's numbers"]
    assert "PADT f1 -5.0" in rows["IBERTA behind AraBERT on PoS and QA"]["the paper's numbers"]
    assert rows["quantization makes the models smaller"]["verdict"] == claims.HOLDS
    said = claims.finding(list(rows.values()), "cpu")
    assert said.startswith("Of the paper's 10 claims, at `cpu` scale 2 hold")
    assert "1 does not hold (MBERTA comparable to IBERTA" in said
    assert "1 cannot be tested at this scale" in said and "do not beat TF-IDF" in said


def test_check_on_an_empty_run_tests_nothing(tmp_path):
    rows = claims.check(reporting.Run(tmp_path, {}))
    assert {row["verdict"] for row in rows} <= {claims.NOT_RUN, claims.NOT_TESTABLE_HERE}
    assert "none can be decided" in claims.finding(rows, "tiny")


def test_spread_finding_says_which_differences_exceed_the_seed_spread():
    def runs(*values):
        return experiments.over_seeds([{"accuracy": v, "seed": i} for i, v in enumerate(values)])

    scores = {("student", "ajgt"): runs(0.80, 0.81, 0.82), ("scratch", "ajgt"): runs(0.60, 0.62, 0.61),
              ("student", "hard"): runs(0.70, 0.75, 0.65), ("scratch", "hard"): runs(0.69, 0.72, 0.66)}
    said = claims.spread_finding(scores, pairs=[("student", "scratch")])
    assert "ahead of the scratch's on 2 of 2" in said and "hard (" not in said
    assert "The student is ahead by more than the seed spread on ajgt (20.0 points)." in said
    behind = claims.spread_finding(scores, pairs=[("scratch", "student")])
    assert "ahead of the student's on 0 of 2" in behind and "The student is ahead by more" in behind
    hard = {key: value for key, value in scores.items() if key[1] == "hard"}
    assert "On none is the difference larger than the seed spread" in claims.spread_finding(hard)
    single = {key: experiments.over_seeds([{"accuracy": 0.5}]) for key in scores}
    assert "one seed" in claims.spread_finding(single, pairs=[("student", "scratch")])


def test_spread_finding_counts_a_floating_point_tie_as_level():
    def runs(*values):
        return experiments.over_seeds([{"accuracy": v, "seed": i} for i, v in enumerate(values)])

    # the cpu edition's AJGT: 0.775 against 0.7749999999999999, once counted as "ahead"
    scores = {("teacher", "ajgt"): runs(0.75, 0.825, 0.75), ("student", "ajgt"): runs(0.775, 0.7583333333333333,
                                                                                     0.7916666666666666)}
    assert scores[("teacher", "ajgt")]["accuracy"] != scores[("student", "ajgt")]["accuracy"]
    said = claims.spread_finding(scores, pairs=[("teacher", "student")])
    assert "ahead of the student's on 0 of 1 task(s), level with it on 1." in said
