"""Every distillation loss term against values worked out by hand (spec 3.3, 3.4)."""

import math

import numpy as np
import pytest

from arlm.distillation import losses
from arlm.errors import ParameterError
from arlm.losses import masked_lm_accuracy

pytestmark = pytest.mark.backend

LN2, LN3 = math.log(2.0), math.log(3.0)


def test_standardize_is_parameter_free_layer_norm_over_the_hidden_axis():
    out = np.asarray(losses.standardize(np.array([[1.0, 3.0], [5.0, 5.0]])))
    np.testing.assert_allclose(out, [[-1.0, 1.0], [0.0, 0.0]], atol=1e-6)  # constant row: 0 / sqrt(eps)


def test_feature_map_transfer_is_the_mse_of_standardized_block_outputs():
    # teacher rows standardize to [-1, 1] and [0, 0]; student rows to [1, -1] and [0, 0]: (4 + 4 + 0 + 0) / 4
    teacher = np.array([[[0.0, 2.0], [1.0, 1.0]]])
    student = np.array([[[2.0, 0.0], [5.0, 5.0]]])
    assert float(losses.feature_map_transfer_loss(teacher, student)) == pytest.approx(2.0, abs=1e-6)
    # scale and shift of either side do not matter: that is what the standardisation is for
    assert float(losses.feature_map_transfer_loss(teacher, 7.0 * teacher - 3.0)) == pytest.approx(0.0, abs=1e-6)


def test_attention_transfer_is_the_cross_entropy_over_keys_averaged_over_queries():
    # query 0: p_T = [1/4, 3/4], p_S = [1/2, 1/2] -> ln 2
    # query 1: p_T = [1/2, 1/2], p_S = [1/4, 3/4] -> -(ln(1/4) + ln(3/4)) / 2
    teacher = np.array([[[[0.0, LN3], [0.0, 0.0]]]])
    student = np.array([[[[0.0, 0.0], [0.0, LN3]]]])
    expected = (LN2 + 0.5 * (math.log(4.0) + math.log(4.0 / 3.0))) / 2.0
    assert float(losses.attention_transfer_loss(teacher, student)) == pytest.approx(expected, rel=1e-6)



def test_attention_transfer_variants_kl_and_mse():
    teacher = np.array([[[[0.0, LN3], [0.0, 0.0]]]])  # p_T rows [1/4, 3/4], [1/2, 1/2]
    student = np.array([[[[0.0, 0.0], [0.0, LN3]]]])  # p_S rows [1/2, 1/2], [1/4, 3/4]
    entropy = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75) + math.log(0.5)) / 2
    ce = float(losses.attention_transfer_loss(teacher, student))
    assert float(losses.attention_transfer_loss(teacher, student, "kl")) == pytest.approx(ce - entropy, rel=1e-6)
    assert float(losses.attention_transfer_loss(teacher, teacher, "kl")) == pytest.approx(0.0, abs=1e-7)
    # each row: (1/4)^2 + (1/4)^2 = 1/8
    assert float(losses.attention_transfer_loss(teacher, student, "mse")) == pytest.approx(0.125, rel=1e-6)
    with pytest.raises(ParameterError, match="cross_entropy, kl, mse"):
        losses.attention_transfer_loss(teacher, student, "l1")
    with pytest.raises(ParameterError, match="attention_loss"):
        losses.DistillationFactors(attention_loss="l1")
    # the factor reaches the stage-2 loss; the paper's form stays out of as_dict (stage configs of earlier runs)
    outputs = {"hidden_states": [np.ones((1, 2, 2))] * 2, "attention_logits": [teacher]}
    other = {"hidden_states": [np.ones((1, 2, 2))] * 2, "attention_logits": [student]}
    _, terms = losses.knowledge_transfer_loss(outputs, other, [1.0], losses.DistillationFactors(attention_loss="mse"))
    assert float(terms["at_0"]) == pytest.approx(0.125, rel=1e-6)
    assert "attention_loss" not in losses.DistillationFactors().as_dict()
    assert losses.DistillationFactors(attention_loss="kl").as_dict()["attention_loss"] == "kl"

def test_attention_transfer_reads_the_minus_six_masked_logits():
    # a masked key keeps logit -6 and so e^-6 of relative mass: the loss is not the unmasked log 2
    teacher = student = np.array([[[[0.0, -6.0]]]])
    p = 1.0 / (1.0 + math.exp(-6.0))
    entropy = -(p * math.log(p) + (1 - p) * math.log(1 - p))
    assert float(losses.attention_transfer_loss(teacher, student)) == pytest.approx(entropy, rel=1e-5)


# token 0: teacher [1, 3] (mean 2, variance 1), student [0, 0] (0, 0)
# token 1: teacher [2, 2] (mean 2, variance 0), student [1, -1] (0, 1)
TEACHER = np.array([[[1.0, 3.0], [2.0, 2.0]]])
STUDENT = np.array([[[0.0, 0.0], [1.0, -1.0]]])


def test_mean_matching_is_the_squared_difference_of_per_token_means():
    assert float(losses.mean_matching_loss(TEACHER, STUDENT)) == pytest.approx((4.0 + 4.0) / 2.0)


def test_variance_matching_is_the_l1_difference_of_per_token_variances():
    assert float(losses.variance_matching_loss(TEACHER, STUDENT)) == pytest.approx((1.0 + 1.0) / 2.0)


def test_the_official_stat_bug_averages_over_every_teacher_hidden_state():
    # stacked teacher states: an all-zero embedding output (means 0, variances 0) and TEACHER
    stacked = np.stack([np.zeros_like(TEACHER), TEACHER])
    assert float(losses.mean_matching_loss(stacked, STUDENT)) == pytest.approx((0 + 0 + 4 + 4) / 4)
    assert float(losses.variance_matching_loss(stacked, STUDENT)) == pytest.approx((0 + 1 + 1 + 1) / 4)
    outputs = lambda hidden: {"hidden_states": hidden, "attention_logits": [np.zeros((1, 1, 2, 2))]}  # noqa: E731
    terms = losses.layer_transfer_terms(outputs([np.zeros_like(TEACHER), TEACHER]),
                                        outputs([np.zeros_like(STUDENT), STUDENT]), 0,
                                        replicate_official_stat_bug=True)
    assert float(terms["mean"]) == pytest.approx(2.0) and float(terms["var"]) == pytest.approx(0.75)


def test_knowledge_transfer_loss_weights_the_gated_layer_by_table_2_and_divides_by_L():
    rng = np.random.default_rng(0)
    noise = lambda *shape: rng.normal(size=shape)  # noqa: E731
    teacher = {"hidden_states": [noise(1, 2, 2), noise(1, 2, 2), TEACHER],
               "attention_logits": [noise(1, 1, 2, 2), np.array([[[[0.0, LN3], [0.0, 0.0]]]])]}
    student = {"hidden_states": [noise(1, 2, 2), noise(1, 2, 2), STUDENT],
               "attention_logits": [noise(1, 1, 2, 2), np.array([[[[0.0, 0.0], [0.0, 0.0]]]])]}
    # layer 1: FMT: teacher rows -> [-1, 1], [0, 0]; student rows -> [0, 0], [1, -1]: (1 + 1 + 1 + 1) / 4 = 1
    # AT: (ln 2 + ln 2) / 2; MEAN 4; VAR 1
    factors = losses.DistillationFactors()
    total, terms = losses.knowledge_transfer_loss(teacher, student, gates=[0.0, 1.0], factors=factors)
    expected = (100.0 * 1.0 + 1.0 * LN2 + 5000.0 * 4.0 + 5.0 * 1.0) / 2
    assert float(total) == pytest.approx(expected, rel=1e-5)
    assert float(terms["fmt_1"]) == pytest.approx(1.0, abs=1e-5) and float(terms["mean"]) == pytest.approx(10000.0)
    paper_total, _ = losses.knowledge_transfer_loss(teacher, student, [0.0, 1.0], losses.DistillationFactors.paper())
    assert float(paper_total) == pytest.approx(expected - 4500.0 * 4.0 / 2, rel=1e-5)  # beta 500, not 5000


def test_paper_factors_come_from_table_2():
    paper = losses.DistillationFactors.paper()
    assert (paper.beta, paper.gamma, paper.hidden, paper.alpha) == (500.0, 5.0, 100.0, 0.5)
    assert losses.DistillationFactors().beta == 5000.0  # the launch scripts' value is the default


def test_pretraining_distillation_loss_mixes_hard_and_soft_targets():
    # slot 0 (weight 1): student p = [3/4, 1/4], true id 0, teacher p = [1/4, 3/4]; slot 1 has weight 0
    y = {"masked_lm_ids": np.array([[0, 1]]), "masked_lm_weights": np.array([[1.0, 0.0]]),
         "next_sentence_labels": np.array([[1]])}
    student = np.array([[[LN3, 0.0], [0.0, 9.0]]])
    teacher = np.array([[[0.0, LN3], [0.0, 0.0]]])
    nsp = np.array([[0.0, 0.0]])
    total, terms = losses.pretraining_distillation_loss(y, student, nsp, teacher, alpha=0.5)
    mlm = -math.log(0.75) / (1 + 1e-5)
    kd = -(0.25 * math.log(0.75) + 0.75 * math.log(0.25)) / (1 + 1e-5)
    assert float(terms["mlm"]) == pytest.approx(mlm, rel=1e-5)
    assert float(terms["kd"]) == pytest.approx(kd, rel=1e-5)
    assert float(terms["nsp"]) == pytest.approx(LN2, rel=1e-5)
    assert float(total) == pytest.approx(0.5 * mlm + 0.5 * kd + LN2, rel=1e-5)
    accuracy = masked_lm_accuracy(y["masked_lm_ids"], student, y["masked_lm_weights"])
    assert float(accuracy) == pytest.approx(1.0 / (1 + 1e-5), rel=1e-6)
