from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-6-4"
expects = ("answer: {choice: {'parameters int8', 'share', 'max_logit_diff', ...}} for three choices (FFNs only, "
           "all but the FFNs, every large kernel), simulated on the classifier of 6.2 and its 6.3 test examples")
refuses = 'answer = {k: {**r, "share": 100 * r["share"]} for k, r in answer.items()}'  # in percent
_SIMULATED = {}  # (classifier, scale) -> what _simulated found: both checks read it, it runs once
CHOICES = {"ffn": lambda p: "ffn_" in p, "rest": lambda p: "ffn_" not in p, "all": lambda p: True}


def _rows(answer):
    need(answer=answer)
    rows = list((answer.T.to_dict() if hasattr(answer, "T") else dict(answer)).values())
    assert len(rows) == 3, "answer should have three rows"
    return rows


def _simulated(loaded, classifier_stem, cfg):
    """{parameters int8: max logit change} of each choice, simulated as the exercise asks."""
    from arlm.quantization import simulate, study
    from arlm.quantization.evaluate import compare, keras_outputs

    model, task, tokenizer, length = loaded[classifier_stem]
    if (id(model), cfg.name) in _SIMULATED:
        return _SIMULATED[id(model), cfg.name]
    test = study.task_data(task, tokenizer, length, "test", cfg.quant_eval_examples)
    reference = keras_outputs(model, test.features)
    found = {}
    for select in CHOICES.values():
        with simulate.quantized_weights(model, select) as count:
            found[count] = compare(reference, keras_outputs(model, test.features), test.features)["max_logit_diff"]
    _SIMULATED[id(model), cfg.name] = found, model.count_params()
    return _SIMULATED[id(model), cfg.name]


@test_case()
def test_the_parts_and_shares(answer, loaded, classifier_stem, cfg):
    rows = _rows(answer)
    found, total = _simulated(loaded, classifier_stem, cfg)
    assert sorted(r["parameters int8"] for r in rows) == sorted(found), (
        "parameters int8: the FFN kernels, the other large kernels, and all of them")
    assert all(close(r["share"], r["parameters int8"] / total, rel=1e-6) for r in rows), (
        "share: the parameters quantized over all of the classifier's parameters")


@test_case()
def test_the_logit_changes(answer, loaded, classifier_stem, cfg):
    rows = _rows(answer)
    found, _ = _simulated(loaded, classifier_stem, cfg)
    assert all(close(r["max_logit_diff"], found.get(r["parameters int8"]), rel=1e-3, abs_tol=1e-6) for r in rows), (
        "max_logit_diff: the largest logit change of each choice against the float model")
