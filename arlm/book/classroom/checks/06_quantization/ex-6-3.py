from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-6-3"
expects = ("few: the features of 5 training examples; path: the full-int8 file calibrated on them; answer: one "
           "row per int8 file (this one and 6.3's; a Keras row may stay) with 'metric', 'agreement' and "
           "'max_logit_diff' of evaluate_files on the 6.3 test examples (cfg.quant_eval_examples)")
refuses = 'answer = answer.assign(agreement=answer["metric"])'  # the test metric taken for the agreement


def _rows(answer):
    need(answer=answer)
    rows = answer.to_dict("records") if hasattr(answer, "to_dict") else list(answer)
    files = [r for r in rows if r.get("max_logit_diff") != 0]  # an int8 file never gives the Keras logits
    assert len(files) == 2, "answer should score two int8 files"
    return files


def _scored(paths, loaded, classifier_stem, cfg):
    from arlm.quantization import evaluate, study

    model, task, tokenizer, length = loaded[classifier_stem]
    test = study.task_data(task, tokenizer, length, "test", cfg.quant_eval_examples)
    return evaluate.evaluate_files(model, dict(enumerate(paths)), test.features, test.labels, test.metric)[1:]


def _found(rows, expected):
    return any(all(close(r.get(k), expected[k], rel=1e-4, abs_tol=1e-6) for k in ("metric", "agreement",
                                                                                 "max_logit_diff")) for r in rows)


@test_case()
def test_five_calibration_examples(few):
    need(few=few)
    lengths = {len(v) for v in (few.values() if hasattr(few, "values") else [few])}
    assert lengths == {5}, "few should hold 5 examples"


@test_case()
def test_a_new_int8_file(path, results, classifier_stem):
    from pathlib import Path

    need(path=path)
    int8 = next(r for r in results if r["model"] == classifier_stem)["files"]["int8"]
    assert Path(path).is_file() and Path(path).read_bytes() != Path(int8).read_bytes(), (
        "path should be a new int8 file, calibrated on other examples than 6.3's")


@test_case()
def test_both_files_scored(answer, path, results, classifier_stem, loaded, cfg):
    rows = _rows(answer)
    int8 = next(r for r in results if r["model"] == classifier_stem)["files"]["int8"]
    few_row, int8_row = _scored([path, int8], loaded, classifier_stem, cfg)
    assert _found(rows, int8_row), "no row gives 6.3's int8 file's metric, agreement and largest logit change"
    assert _found(rows, few_row), "no row gives the new file's metric, agreement and largest logit change"
