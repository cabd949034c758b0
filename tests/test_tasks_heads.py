"""The PoS tagger's CRF against brute force, and the task models' training and .keras round trip."""

import itertools

import numpy as np
import pytest

from arlm.tasks.heads import INPUT_NAMES, SpanQA, TokenTagger, crf_log_likelihood, viterbi_decode


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


def _backbone():
    from arlm.models import MobileBertBackbone

    return MobileBertBackbone(vocab_size=40, hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32,
                              max_position_embeddings=16, classifier_activation=False)


def _inputs(rows=8, length=12, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, 40, size=(rows, length)).astype("int32")
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
    path = tmp_path / "tagger.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    assert (loaded.crf_transitions() is None) == (not crf)


@pytest.mark.backend
def test_span_qa_outputs_and_round_trip(tmp_path):
    import keras

    x = _inputs()
    model = SpanQA(_backbone(), max_seq_length=12)
    loss, weights = SpanQA.span_loss()
    model.compile(optimizer="adam", loss=loss, loss_weights=weights)
    targets = {"start_logits": np.full(8, 3), "end_logits": np.full(8, 4)}
    first = model.evaluate(x, targets, verbose=0, return_dict=True)["loss"]
    assert first == pytest.approx(np.log(12), rel=0.2)  # (CE_start + CE_end) / 2 near log T at initialisation
    model.fit(x, targets, epochs=3, verbose=0)
    path = tmp_path / "qa.keras"
    model.save(path)
    out = keras.saving.load_model(path, compile=False).predict(x, verbose=0)
    assert set(out) == {"start_logits", "end_logits"} and out["start_logits"].shape == (8, 12)
    assert INPUT_NAMES == ("token_ids", "segment_ids", "padding_mask")
