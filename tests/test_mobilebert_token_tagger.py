"""The PoS tagger's CRF against brute force, the task models' training, and keras-hub's checks of both models."""

import itertools

import numpy as np
import pytest
from helpers import VOCAB, run_task_test, tiny_config, tiny_inputs

from arlm.mobilebert import SpanQA, TokenTagger, crf_log_likelihood, viterbi_decode
from arlm.names import INPUT_NAMES
from arlm.saving import load_model, save_model


def _brute_force(emissions, transitions, tags, length):
    def score(path):
        return (sum(emissions[t, path[t]] for t in range(length))
                + sum(transitions[path[t - 1], path[t]] for t in range(1, length)))

    paths = list(itertools.product(range(emissions.shape[1]), repeat=length))
    log_z = np.log(sum(np.exp(score(p)) for p in paths))
    return score(tags[:length]) - log_z, list(max(paths, key=score))


@pytest.mark.backend
def test_crf_log_likelihood_and_viterbi_match_brute_force():
    import keras

    rng = np.random.default_rng(0)
    emissions = rng.normal(size=(3, 5, 3)).astype("float32")
    transitions = rng.normal(size=(3, 3)).astype("float32")
    tags = rng.integers(0, 3, size=(3, 5))
    lengths = [5, 3, 1]
    mask = np.array([[1] * n + [0] * (5 - n) for n in lengths])
    got = keras.ops.convert_to_numpy(crf_log_likelihood(emissions, tags, mask, transitions))
    for b, n in enumerate(lengths):
        expected, best = _brute_force(emissions[b], transitions, tags[b], n)
        assert got[b] == pytest.approx(expected, abs=1e-4)
        assert viterbi_decode(emissions[b], transitions, n) == best


def _backbone(name="arabert_base"):
    """Learning tests: a BERT-block backbone (it learns the toy tags in 25 steps); the checks: the student's shape."""
    from arlm.mobilebert import MobileBertBackbone

    return MobileBertBackbone.from_mobilebert_config(tiny_config(name, classifier_activation=False))  # no pooler


def _inputs(rows=8, length=12, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, VOCAB, size=(rows, length)).astype("int32")
    ids[:, 0] = 2
    ids[:, 9:] = 0
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": (ids > 0).astype("int32")}


@pytest.mark.backend
@pytest.mark.parametrize("crf", [False, True])
def test_tagger_learns_and_round_trips(crf, tmp_path):
    import keras

    keras.utils.set_random_seed(1)
    x = _inputs()
    y = np.where(x["padding_mask"] > 0, x["token_ids"] % 3 + 1, 0).astype("int32")  # a learnable tag per token
    model = TokenTagger(_backbone(), num_labels=4, crf=crf, max_seq_length=12)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = model.evaluate(x, y, verbose=0)
    repeat = {k: np.tile(v, (25, 1)) for k, v in x.items()}
    model.fit(repeat, np.tile(y, (25, 1)), epochs=1, batch_size=8, verbose=0)  # 25 steps, one traced epoch
    assert model.evaluate(x, y, verbose=0) < 0.5 * before
    loaded = load_model(save_model(model, tmp_path / "tagger.keras"))  # trained, with its optimizer
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    assert (loaded.crf_transitions() is None) == (not crf)


@pytest.mark.backend
def test_span_qa_loss_is_the_mean_of_start_and_end():
    x = _inputs()
    model = SpanQA(_backbone(), max_seq_length=12)
    loss, weights = SpanQA.span_loss()
    model.compile(optimizer="adam", loss=loss, loss_weights=weights)
    targets = {"start_logits": np.full(8, 3), "end_logits": np.full(8, 4)}
    first = model.evaluate(x, targets, verbose=0, return_dict=True)["loss"]
    assert first == pytest.approx(np.log(12), rel=0.2)  # (CE_start + CE_end) / 2 near log T at initialisation
    assert set(model.input) == set(INPUT_NAMES)
    assert INPUT_NAMES == ("token_ids", "segment_ids", "padding_mask")


@pytest.mark.backend
@pytest.mark.parametrize("crf", [False, True])
def test_tagger_checks(crf, tmp_path):
    model = run_task_test(TokenTagger, {"backbone": _backbone("mberta"), "num_labels": 4, "crf": crf},
                          tiny_inputs(), (2, 7, 4), tmp_path)
    assert (model.crf_layer is None) == (not crf)


@pytest.mark.backend
def test_span_qa_checks(tmp_path):
    run_task_test(SpanQA, {"backbone": _backbone("mberta")}, tiny_inputs(),
                  {"start_logits": (2, 7), "end_logits": (2, 7)}, tmp_path)


def test_heads_start_from_the_backbones_initializer_range():
    from arlm.mobilebert import MobileBertBackbone

    backbone = MobileBertBackbone.from_mobilebert_config(tiny_config("mberta", initializer_range=0.5))
    assert TokenTagger(backbone, num_labels=3).tag_dense.kernel_initializer.stddev == 0.5
    assert SpanQA(backbone).span_dense.kernel_initializer.stddev == 0.5
