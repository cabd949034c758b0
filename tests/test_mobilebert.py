"""Backbone, heads, pretraining loss, configurations, presets and parameter counts (spec 1, 2, 3.1, 9)."""

import keras
import numpy as np
import pytest
from helpers import CONFIG_NAMES, TINY, VOCAB, run_backbone_test, run_task_test, tiny_config, tiny_inputs  # noqa: E402
from keras import ops  # noqa: E402

import arlm  # noqa: E402
from arlm.errors import ArtifactError  # noqa: E402
from arlm.mobilebert import (  # noqa: E402
    MobileBertBackbone,
    MobileBertConfig,
    MobileBertPretrainer,
    MobileBertTextClassifier,
    config_at_scale,
    named_config,
)
from arlm.names import INPUT_NAMES  # noqa: E402

STUDENT = tiny_config("mberta").to_dict()


def batch(rng, b=3, t=7, p=2, vocab=VOCAB, pad=2):
    mask = np.ones((b, t), "int32")
    mask[:, t - pad:] = 0
    x = {"token_ids": rng.integers(0, vocab, (b, t)).astype("int32"),
         "segment_ids": (np.arange(t) >= 3).astype("int32")[None].repeat(b, 0),
         "padding_mask": mask,
         "mask_positions": rng.integers(1, t - pad, (b, p)).astype("int32")}
    y = {"masked_lm_ids": rng.integers(0, vocab, (b, p)).astype("int32"),
         "masked_lm_weights": np.array([[1.0, 0.0]] * b, "float32")[:, :p],
         "next_sentence_labels": rng.integers(0, 2, (b,)).astype("int32")}
    return x, y


def backbone_inputs(x):
    return {k: x[k] for k in INPUT_NAMES}


@pytest.mark.backend
@pytest.mark.parametrize("config", [TINY, STUDENT, tiny_config("arabert_base").to_dict()])
def test_backbone_outputs(config):
    backbone = MobileBertBackbone(**config)
    x, _ = batch(np.random.default_rng(0))
    out = backbone(backbone_inputs(x))
    assert out["sequence_output"].shape == (3, 7, 8)
    assert len(out["hidden_states"]) == 3 and len(out["attention_logits"]) == 2
    assert out["attention_logits"][0].shape == (3, 2, 7, 7)
    assert ("pooled_output" in out) == config.get("classifier_activation", True)
    with_extra_keys = backbone(x)  # a whole pretraining batch: extra keys are ignored, not mapped by position
    np.testing.assert_allclose(ops.convert_to_numpy(with_extra_keys["sequence_output"]),
                               ops.convert_to_numpy(out["sequence_output"]), rtol=1e-6)
    logits = ops.convert_to_numpy(out["attention_logits"][1])
    np.testing.assert_array_equal(logits[..., 5:], -6.0)  # padded keys
    np.testing.assert_allclose(ops.convert_to_numpy(out["hidden_states"][-1]),
                               ops.convert_to_numpy(out["sequence_output"]))


@pytest.mark.backend
def test_attention_logits_are_the_blocks_masked_logits():
    backbone = MobileBertBackbone(**STUDENT)
    x, _ = batch(np.random.default_rng(1))
    out = backbone(backbone_inputs(x))
    block = backbone.transformer_layers[1]
    _, logits = block(out["hidden_states"][1], x["padding_mask"])
    np.testing.assert_allclose(ops.convert_to_numpy(out["attention_logits"][1]), ops.convert_to_numpy(logits),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.backend
def test_mlm_head_gathers_masked_positions_and_ties_embeddings():
    keras.utils.set_random_seed(0)
    pretrainer = MobileBertPretrainer(MobileBertBackbone(**TINY))
    x, _ = batch(np.random.default_rng(2))
    out = pretrainer(x)
    assert out["mlm_logits"].shape == (3, 2, VOCAB) and out["nsp_logits"].shape == (3, 2)
    head = pretrainer.mlm_head
    assert head.output_weights().shape == (VOCAB, 8)  # [V x E | V x (H - E)]
    sequence = ops.convert_to_numpy(pretrainer.backbone(backbone_inputs(x))["sequence_output"])
    gathered = sequence[np.arange(3)[:, None], x["mask_positions"]]
    g = ops.convert_to_numpy(head.transform_norm(keras.activations.gelu(head.transform(gathered), approximate=True)))
    w = np.concatenate([ops.convert_to_numpy(pretrainer.backbone.token_embedding.embeddings),
                        ops.convert_to_numpy(head.extra_output_weights)], axis=1)
    np.testing.assert_allclose(ops.convert_to_numpy(out["mlm_logits"]), g @ w.T, rtol=1e-4, atol=1e-5)


@pytest.mark.backend
def test_pretrainer_fit_logs_losses_and_accuracies():
    keras.utils.set_random_seed(0)
    pretrainer = MobileBertPretrainer(MobileBertBackbone(**STUDENT))
    pretrainer.compile(optimizer=arlm.optimizers.Lamb(1e-2), jit_compile=False)
    x, y = batch(np.random.default_rng(4))
    logs = pretrainer.fit(x, y, epochs=3, verbose=0).history
    assert {"loss", "mlm_loss", "nsp_loss", "mlm_accuracy", "nsp_accuracy"} <= set(logs)
    np.testing.assert_allclose(logs["loss"][0], logs["mlm_loss"][0] + logs["nsp_loss"][0], rtol=1e-5)
    assert logs["loss"][-1] < logs["loss"][0]


@pytest.mark.backend
def test_keras_file_round_trip_keeps_the_optimizer(tmp_path):
    keras.utils.set_random_seed(0)
    pretrainer = MobileBertPretrainer(MobileBertBackbone(**STUDENT))
    pretrainer.compile(optimizer=arlm.optimizers.make_optimizer("lamb", 1e-3, 10, 2), jit_compile=False)
    pretrainer.optimizer.build(pretrainer.trainable_variables)
    x, _ = batch(np.random.default_rng(5))
    restored = arlm.saving.load_model(arlm.saving.save_model(pretrainer, tmp_path / "teacher.keras"))  # safe_mode on
    for key in ("mlm_logits", "nsp_logits"):
        np.testing.assert_allclose(ops.convert_to_numpy(restored(x)[key]), ops.convert_to_numpy(pretrainer(x)[key]),
                                   rtol=1e-5, atol=1e-6)
    assert isinstance(restored.backbone, MobileBertBackbone)
    assert restored.backbone.config == pretrainer.backbone.config
    assert isinstance(restored.optimizer, arlm.optimizers.Lamb)


@pytest.mark.backend
@pytest.mark.parametrize("run_eagerly", [False, True])
def test_remat_keeps_outputs_gradients_and_dropout(run_eagerly, tmp_path):
    # plain SGD (lr 1): the weights move by exactly the gradients, which remat must not change; dropout is on
    # (0.1 in TINY), so the recomputation must reuse the forward pass's masks
    x, y = batch(np.random.default_rng(6))
    results = []
    for remat in (False, True):
        keras.utils.set_random_seed(0)
        pretrainer = MobileBertPretrainer(MobileBertBackbone(**{**TINY, "remat": remat}))
        outputs = ops.convert_to_numpy(pretrainer(x)["mlm_logits"])
        pretrainer.compile(optimizer=keras.optimizers.SGD(1.0), run_eagerly=run_eagerly)
        losses = pretrainer.fit(x, y, epochs=2, shuffle=False, verbose=0).history["loss"]
        results.append((outputs, losses, {v.path: ops.convert_to_numpy(v) for v in pretrainer.weights}))
    (plain_out, plain_losses, plain), (remat_out, remat_losses, remat) = results
    np.testing.assert_allclose(remat_out, plain_out, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(remat_losses, plain_losses, rtol=1e-6)
    assert remat.keys() == plain.keys()  # the same weights, by name
    for path, value in plain.items():
        np.testing.assert_allclose(remat[path], value, rtol=1e-5, atol=1e-6, err_msg=path)
    assert pretrainer.backbone.config.remat
    restored = arlm.saving.load_model(arlm.saving.save_model(pretrainer, tmp_path / "remat.keras"))
    assert restored.backbone.config == pretrainer.backbone.config
    np.testing.assert_allclose(ops.convert_to_numpy(restored(x)["mlm_logits"]),
                               ops.convert_to_numpy(pretrainer(x)["mlm_logits"]), rtol=1e-5, atol=1e-6)


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="num_heads"):
        MobileBertConfig(vocab_size=10, hidden_size=10, num_heads=3)
    with pytest.raises(ValueError, match="valid fields"):
        named_config("iberta", hidden=3)
    with pytest.raises(ValueError, match="configurations are"):
        named_config("bert_large")


def test_presets_at_scale_keep_proportions():
    tiny = arlm.scales.resolve("tiny")
    iberta = config_at_scale("iberta", tiny)
    mberta = config_at_scale("mberta", tiny)
    thirty = config_at_scale("iberta_30k", tiny)
    assert (iberta.hidden_size, iberta.num_layers, iberta.vocab_size) == (64, 2, tiny.vocab_size)
    assert iberta.intermediate_size == 16 * iberta.hidden_size and iberta.intra_bottleneck_size == iberta.hidden_size
    assert mberta.intra_bottleneck_size * 2 == mberta.hidden_size and mberta.num_feedforward_networks == 4
    assert thirty.vocab_size == tiny.vocab_size_small
    assert thirty.replace(vocab_size=iberta.vocab_size) == iberta  # figure1_width_ratio 1 at tiny
    wide = config_at_scale("iberta_30k", arlm.scales.resolve("tiny", figure1_width_ratio=2.0))
    assert wide.hidden_size == wide.intra_bottleneck_size == 2 * iberta.hidden_size
    full = arlm.scales.resolve("full")
    for name in ("iberta", "iberta_30k", "mberta", "mberta_ii", "arabert_base"):
        assert config_at_scale(name, full) == named_config(name)
    assert config_at_scale("mberta", arlm.scales.resolve("tiny", remat=True)).remat  # the scale key


# Table 4 (spec 2.2): backbone + pooler where configured + a 2-class classifier; the 30K teacher with MLM/NSP heads
EXPECTED = {"iberta": 66_656_258, "mberta": 23_680_770, "mberta_ii": 14_179_074, "arabert_base": 135_194_882}


def test_parameter_counts_equal_the_spec():
    for name, expected in EXPECTED.items():
        with keras.StatelessScope():  # shapes only: no random initialisation of 100M+ values
            backbone = MobileBertBackbone.from_config_name(name)  # not compiled: an optimizer would need values
            count = MobileBertTextClassifier(backbone, num_classes=2, compile=False).count_params()
        assert count == expected, name
    with keras.StatelessScope():
        pretrainer = MobileBertPretrainer(MobileBertBackbone.from_config_name("iberta_30k"), compile=False)
        assert pretrainer.count_params() == 155_073_330


# --- every model through keras-hub's checks (tests/helpers.py), and the configurations / presets API ---------------


@pytest.mark.backend
@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_backbone_checks_in_each_configurations_shape(name, tmp_path):
    run_backbone_test(tiny_config(name).to_dict(), tmp_path)


@pytest.mark.backend
def test_pretrainer_checks(tmp_path):
    x = tiny_inputs(predictions=3)
    model = run_task_test(MobileBertPretrainer, {"backbone": MobileBertBackbone(**STUDENT)}, x,
                          {"mlm_logits": (2, 3, VOCAB), "nsp_logits": (2, 2)}, tmp_path, variable_length=False)
    # the MLM output matrix stays the backbone's word embedding (one variable, not a copy)
    assert model.mlm_head.token_embedding is model.backbone.token_embedding
    paths = [v.path for v in model.weights]
    assert len(paths) == len(set(paths)) and paths.count("word_embeddings/token_embedding/embeddings") == 1
    assert {"mlm_head/transform/kernel", "mlm_head/output_bias", "nsp_head/kernel"} <= set(paths)


@pytest.mark.backend
def test_classifier_checks(tmp_path):
    run_task_test(MobileBertTextClassifier, {"backbone": MobileBertBackbone(**TINY), "num_classes": 3}, tiny_inputs(),
                  (2, 3), tmp_path)


@pytest.mark.backend
def test_a_new_head_on_a_saved_backbone(tmp_path):
    pretrainer = MobileBertPretrainer(MobileBertBackbone(**TINY))
    preset = pretrainer.save_to_preset(tmp_path / "teacher")
    classifier = MobileBertTextClassifier.from_preset(preset, num_classes=4)  # a head argument: a new head
    assert classifier.num_classes == 4 and classifier(tiny_inputs()).shape == (2, 4)
    for got, want in zip(classifier.backbone.weights, pretrainer.backbone.weights, strict=True):
        np.testing.assert_array_equal(ops.convert_to_numpy(got), ops.convert_to_numpy(want))
    unweighted = MobileBertBackbone.from_preset(preset, load_weights=False)  # the saved shape, random weights
    assert unweighted.config == pretrainer.backbone.config


def test_configuration_names_are_not_presets(tmp_path):
    backbone = MobileBertBackbone.from_config_name("mberta", num_layers=1, vocab_size=VOCAB)
    assert backbone.config == named_config("mberta", num_layers=1, vocab_size=VOCAB)
    assert set(MobileBertBackbone.config_names) == set(CONFIG_NAMES)
    with pytest.raises(ArtifactError, match=r"paper's configurations.*from_config_name\('mberta'\)"):
        MobileBertBackbone.from_preset("mberta")
    with pytest.raises(ArtifactError, match="no such file or folder"):
        MobileBertBackbone.from_preset(tmp_path / "missing")
