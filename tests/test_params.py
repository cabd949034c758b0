"""Closed-form parameter counts: equal to Keras' count_params on tiny graphs and to the spec on the presets."""

import json

import pytest
from helpers import tiny_config

from arlm.mobilebert.config import named_config
from arlm.params import count_parameters, format_table, parameter_table

SPEC = {"iberta": 66_656_258, "mberta": 23_680_770, "mberta_ii": 14_179_074, "arabert_base": 135_194_882}
# every configuration's shape at tiny size, and the one block variant no configuration uses
VARIANTS = [tiny_config(name) for name in ("arabert_base", "iberta", "mberta")] + [
    tiny_config("iberta", embedding_size=6, trigram_input=False, intra_bottleneck_size=4,
                use_bottleneck_attention=True, num_feedforward_networks=2)]


def test_closed_form_equals_the_spec():
    for name, expected in SPEC.items():
        assert count_parameters(named_config(name), "classifier") == expected
    assert count_parameters(named_config("iberta_30k"), "pretraining") == 155_073_330
    assert count_parameters(named_config("iberta"), "backbone") == 66_589_952 + 65_792
    assert count_parameters(named_config("mberta"), "pretraining") == 30_197_074


@pytest.mark.parametrize("config", VARIANTS)
def test_closed_form_equals_keras(config):
    from arlm.mobilebert import MobileBertBackbone, MobileBertPretrainer, MobileBertTextClassifier

    backbone = MobileBertBackbone.from_mobilebert_config(config)
    assert count_parameters(config, "backbone") == backbone.count_params()
    assert count_parameters(config, "classifier", 3) == MobileBertTextClassifier(backbone, 3).count_params()
    assert count_parameters(config, "pretraining") == MobileBertPretrainer(backbone).count_params()


def test_parameter_table_and_cli(capsys):
    rows = parameter_table()
    assert [r["preset"] for r in rows] == ["arabert_base", "iberta", "mberta", "mberta_ii", "iberta_30k"]
    assert all(abs(r["residual_millions"]) < 0.05 for r in rows)
    assert "IBERTA" in format_table(rows)
    from arlm.cli import params

    assert params.run(type("Args", (), {"json": True})()) == 0
    assert json.loads(capsys.readouterr().out) == rows
