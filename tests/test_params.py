"""Closed-form parameter counts: equal to Keras' count_params on tiny graphs and to the spec on the presets."""

import json

import pytest

from arlm.models.config import MobileBertConfig, get_preset
from arlm.params import count_parameters, format_table, parameter_table

SPEC = {"iberta": 66_656_258, "mberta": 23_680_770, "mberta_ii": 14_179_074, "arabert_base": 135_194_882}
TINY = dict(vocab_size=30, hidden_size=8, num_layers=2, num_heads=2, intermediate_size=16, max_position_embeddings=16)
VARIANTS = [
    TINY,
    dict(TINY, embedding_size=4, trigram_input=True, use_bottleneck=True, intra_bottleneck_size=8),
    dict(TINY, embedding_size=4, trigram_input=True, use_bottleneck=True, intra_bottleneck_size=4,
         key_query_shared_bottleneck=True, num_feedforward_networks=3, normalization_type="no_norm",
         classifier_activation=False),
    dict(TINY, embedding_size=6, use_bottleneck=True, intra_bottleneck_size=4, use_bottleneck_attention=True,
         num_feedforward_networks=2),
]


def test_closed_form_equals_the_spec():
    for name, expected in SPEC.items():
        assert count_parameters(get_preset(name), "classifier") == expected
    assert count_parameters(get_preset("iberta_30k"), "pretraining") == 155_073_330
    assert count_parameters(get_preset("iberta"), "backbone") == 66_589_952 + 65_792
    assert count_parameters(get_preset("mberta"), "pretraining") == 30_197_074


@pytest.mark.parametrize("fields", VARIANTS)
def test_closed_form_equals_keras(fields):
    pytest.importorskip("keras")
    from arlm.models import MobileBertBackbone, MobileBertClassifier, MobileBertPretrainer

    config = MobileBertConfig(**fields)
    backbone = MobileBertBackbone.from_mobilebert_config(config)
    assert count_parameters(config, "backbone") == backbone.count_params()
    assert count_parameters(config, "classifier", 3) == MobileBertClassifier(backbone, 3).count_params()
    assert count_parameters(config, "pretraining") == MobileBertPretrainer(backbone).count_params()


def test_parameter_table_and_cli(capsys):
    rows = parameter_table()
    assert [r["preset"] for r in rows] == ["arabert_base", "iberta", "mberta", "mberta_ii", "iberta_30k"]
    assert all(abs(r["residual_millions"]) < 0.05 for r in rows)
    assert "IBERTA" in format_table(rows)
    from arlm.cli import params

    assert params.run(type("Args", (), {"json": True})()) == 0
    assert json.loads(capsys.readouterr().out) == rows
