"""The distillation loss terms of MobileBERT as the Arabic paper ran them (spec sections 3.3 and 3.4).

Every term is a function of plain tensors written with ``keras.ops``, so it runs on the TensorFlow and JAX
backends. Teacher tensors are wrapped in ``stop_gradient`` by the callers (`transfer`, `pretraining_distiller`).

Stage 2 (progressive knowledge transfer), for layer ``l`` with block outputs ``Y`` and masked attention logits ``s``:

* `feature_map_transfer_loss`: $\\mathrm{FMT}_l = \\mathrm{mean}_{b,t,c}(\\mathrm{LN}_0(Y^T_{l+1})
  - \\mathrm{LN}_0(Y^S_{l+1}))^2$
* `attention_transfer_loss`: $\\mathrm{AT}_l = \\mathrm{mean}_{b,h,i}\\, -\\sum_j \\mathrm{softmax}(s^T_l)_{ij}
  \\log \\mathrm{softmax}(s^S_l)_{ij}$
* `mean_matching_loss`: $\\mathrm{MEAN}_l = \\mathrm{mean}_{b,t}(\\mu^T_{l+1} - \\mu^S_{l+1})^2$
* `variance_matching_loss`: $\\mathrm{VAR}_l = \\mathrm{mean}_{b,t}|\\sigma^{2,T}_{l+1} - \\sigma^{2,S}_{l+1}|$
* `knowledge_transfer_loss`: $L_{KT} = \\frac{1}{L}\\sum_l g_l(t)\\,(\\lambda_h \\mathrm{FMT}_l + \\lambda_a
  \\mathrm{AT}_l + \\lambda_\\beta \\mathrm{MEAN}_l + \\lambda_\\gamma \\mathrm{VAR}_l)$

Stage 3 (pretraining distillation):

* `pretraining_distillation_loss`: $L_{PD} = \\alpha L_{MLM} + (1-\\alpha) L_{KD} + L_{NSP}$

>>> import numpy as np
>>> float(mean_matching_loss(np.ones((1, 2, 3)), np.zeros((1, 2, 3))))
1.0
"""

import dataclasses

from keras import ops

from arlm import paper
from arlm.errors import ParameterError
from arlm.losses import masked_lm_cross_entropy, next_sentence_loss

# the AT term's forms: the paper's cross-entropy, and two variants of the method (`attention_transfer_loss`)
ATTENTION_LOSSES = ("cross_entropy", "kl", "mse")

# LN_0's epsilon: the official `layer_norm` used for the FMT term (spec 3.3).
STANDARDIZE_EPSILON = 1e-12


@dataclasses.dataclass(frozen=True)
class DistillationFactors:
    """The loss weights of both distillation stages (spec 3.5, paper Table 2).

    ``beta`` defaults to 5000, the value every launch script passes (authors' and Google's); the paper's
    Table 2 prints 500. `DistillationFactors.paper()` gives the paper's values, read from `arlm.paper`.

    Args:
        hidden: lambda_h, weight of the feature-map transfer term (``hidden_distill_factor``).
        attention: lambda_a, weight of attention transfer (``attention_distill_factor``).
        beta: lambda_beta, weight of mean matching (``beta_distill_factor``).
        gamma: lambda_gamma, weight of variance matching (``gamma_distill_factor``).
        alpha: ground-truth ratio of stage 3 (``distill_ground_truth_ratio``).
        temperature: multiplies the teacher's last hidden state before its MLM head (``distill_temperature``).
        replicate_official_stat_bug: compare each student layer's mean/variance with those of *every* teacher
            hidden state, as the official code does (spec 3.3), instead of the matching layer's.
        attention_loss: the AT term, one of `ATTENTION_LOSSES` (`attention_transfer_loss`): ``"cross_entropy"``
            (the paper's and the official code's), ``"kl"`` or ``"mse"`` (variants of the method).
    """

    hidden: float = 100.0
    attention: float = 1.0
    beta: float = 5000.0
    gamma: float = 5.0
    alpha: float = 0.5
    temperature: float = 1.0
    replicate_official_stat_bug: bool = False
    attention_loss: str = "cross_entropy"

    def __post_init__(self):
        if self.attention_loss not in ATTENTION_LOSSES:
            raise ParameterError(f"DistillationFactors.attention_loss must be one of {', '.join(ATTENTION_LOSSES)}, "
                                 f"got {self.attention_loss!r}")

    @classmethod
    def paper(cls, **changes):
        """The values of the paper's Table 2 (beta = 500)."""
        rows = {row["parameter"]: row["value"] for row in paper.table("table2_distillation_hparams")}
        values = dict(
            hidden=float(rows["hidden_distillation_factor"]),
            beta=float(rows["beta_distillation_factor"]),
            gamma=float(rows["gamma_distillation_factor"]),
            alpha=float(rows["distillation_ground_truth_ratio"]),
        )
        return cls(**{**values, **changes})

    def as_dict(self):
        values = dataclasses.asdict(self)
        if values["attention_loss"] == "cross_entropy":  # the paper's: absent, as in runs made before the option
            del values["attention_loss"]
        return values

    def term_weights(self):
        """The stage-2 weight of each term: ``{"fmt": hidden, "at": attention, "mean": beta, "var": gamma}``."""
        return {"fmt": self.hidden, "at": self.attention, "mean": self.beta, "var": self.gamma}


def standardize(x, epsilon=STANDARDIZE_EPSILON):
    """LN_0: parameter-free layer normalisation over the last axis, $(x - \\mu) / \\sqrt{\\sigma^2 + \\epsilon}$."""
    x = ops.convert_to_tensor(x, "float32")
    mean = ops.mean(x, axis=-1, keepdims=True)
    variance = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) / ops.sqrt(variance + epsilon)


def hidden_moments(x):
    """Per-token mean and population variance over the hidden axis: ``(mu, sigma2)``, each ``x.shape[:-1]``."""
    x = ops.convert_to_tensor(x, "float32")
    mean = ops.mean(x, axis=-1)
    variance = ops.mean(ops.square(x - ops.expand_dims(mean, -1)), axis=-1)
    return mean, variance


def feature_map_transfer_loss(teacher_hidden, student_hidden, epsilon=STANDARDIZE_EPSILON):
    """FMT: $\\mathrm{mean}_{b,t,c}(\\mathrm{LN}_0(Y^T) - \\mathrm{LN}_0(Y^S))^2$ (spec 3.3).

    Both inputs are block outputs ``[batch, T, H]``; padding positions count (the official code has no mask).

    >>> import numpy as np
    >>> float(feature_map_transfer_loss(np.array([[[1.0, -1.0]]]), np.array([[[-3.0, 3.0]]])))
    4.0
    """
    return ops.mean(ops.square(standardize(teacher_hidden, epsilon) - standardize(student_hidden, epsilon)))


def attention_transfer_loss(teacher_logits, student_logits, kind="cross_entropy"):
    """AT: $\\mathrm{mean}_{b,h,i}\\, -\\sum_j \\mathrm{softmax}(s^T)_{ij} \\log\\mathrm{softmax}(s^S)_{ij}$ (spec 3.3).

    Inputs are the -6-masked, scaled attention logits ``[batch, heads, T, T]`` of one block; the softmax runs
    over keys (last axis). The value is KL(P_T || P_S) plus the teacher's entropy, a constant for the student.
    ``kind`` picks a variant of the method: ``"kl"`` subtracts that entropy (same gradients, a loss that is 0
    when the maps agree), ``"mse"`` is $\\mathrm{mean}_{b,h,i} \\sum_j (P^T_{ij} - P^S_{ij})^2$ on the
    probabilities (bounded, and weak where the student is far off).

    >>> import numpy as np
    >>> round(float(attention_transfer_loss(np.zeros((1, 1, 1, 2)), np.zeros((1, 1, 1, 2)))), 4)  # log 2
    0.6931
    """
    if kind not in ATTENTION_LOSSES:
        raise ParameterError(f"attention_transfer_loss kind must be one of {', '.join(ATTENTION_LOSSES)}, got {kind!r}")
    teacher_logits = ops.convert_to_tensor(teacher_logits, "float32")
    student_logits = ops.convert_to_tensor(student_logits, "float32")
    p_teacher = ops.softmax(teacher_logits, axis=-1)
    if kind == "mse":
        return ops.mean(ops.sum(ops.square(p_teacher - ops.softmax(student_logits, axis=-1)), axis=-1))
    log_student = ops.log_softmax(student_logits, axis=-1)
    if kind == "kl":
        return ops.mean(ops.sum(p_teacher * (ops.log_softmax(teacher_logits, axis=-1) - log_student), axis=-1))
    return ops.mean(-ops.sum(p_teacher * log_student, axis=-1))


def mean_matching_loss(teacher_hidden, student_hidden):
    """MEAN: $\\mathrm{mean}_{b,t}(\\mu^T - \\mu^S)^2$ with $\\mu$ the mean over the hidden axis (spec 3.3).

    ``teacher_hidden`` may carry extra leading axes (the stacked ``[L+1, batch, T, H]`` of the official code's
    bug); the statistics then broadcast against the student's and the mean runs over all of them.
    """
    teacher_mean, _ = hidden_moments(teacher_hidden)
    student_mean, _ = hidden_moments(student_hidden)
    return ops.mean(ops.square(teacher_mean - student_mean))


def variance_matching_loss(teacher_hidden, student_hidden):
    """VAR: $\\mathrm{mean}_{b,t}|\\sigma^{2,T} - \\sigma^{2,S}|$, an L1 penalty on per-token variances (spec 3.3).

    Broadcasting over extra leading teacher axes as in `mean_matching_loss`.
    """
    _, teacher_variance = hidden_moments(teacher_hidden)
    _, student_variance = hidden_moments(student_hidden)
    return ops.mean(ops.abs(teacher_variance - student_variance))


def layer_transfer_terms(teacher, student, layer, replicate_official_stat_bug=False, attention_loss="cross_entropy"):
    """The four unweighted stage-2 terms of block ``layer`` (0-based) as a dict ``{fmt, at, mean, var}``.

    ``teacher`` and ``student`` are backbone output dicts with ``hidden_states`` (embedding output then each
    block: L+1 tensors) and ``attention_logits`` (L tensors). With ``replicate_official_stat_bug`` the mean
    and variance terms compare against all L+1 teacher hidden states stacked, as the official code does.
    """
    teacher_hidden = teacher["hidden_states"][layer + 1]
    student_hidden = student["hidden_states"][layer + 1]
    stats_source = ops.stack(list(teacher["hidden_states"])) if replicate_official_stat_bug else teacher_hidden
    return {
        "fmt": feature_map_transfer_loss(teacher_hidden, student_hidden),
        "at": attention_transfer_loss(teacher["attention_logits"][layer], student["attention_logits"][layer],
                                      attention_loss),
        "mean": mean_matching_loss(stats_source, student_hidden),
        "var": variance_matching_loss(stats_source, student_hidden),
    }


def knowledge_transfer_loss(teacher, student, gates, factors=None):
    """$L_{KT} = \\frac{1}{L}\\sum_l g_l (\\lambda_h \\mathrm{FMT}_l + \\lambda_a \\mathrm{AT}_l
    + \\lambda_\\beta \\mathrm{MEAN}_l + \\lambda_\\gamma \\mathrm{VAR}_l)$ (spec 3.3).

    ``gates`` is a sequence of L scalars (`schedules.layer_gates`), 1 for the layer being transferred.
    Returns ``(total, terms)`` where ``terms`` holds the gated, weighted sum of each term
    (``fmt``, ``at``, ``mean``, ``var``) and the unweighted per-layer values (``fmt_0``, ``at_0``, ...).
    There is no MLM, NSP or KD term in this stage.
    """
    factors = factors or DistillationFactors()
    weights = factors.term_weights()
    num_layers = len(gates)
    summed = {name: 0.0 for name in weights}
    terms = {}
    for layer, gate in enumerate(gates):
        values = layer_transfer_terms(teacher, student, layer, factors.replicate_official_stat_bug,
                                      factors.attention_loss)
        for name, value in values.items():
            terms[f"{name}_{layer}"] = value
            summed[name] = summed[name] + gate * value
    for name, weight in weights.items():
        terms[name] = weight * summed[name] / num_layers
    total = terms["fmt"] + terms["at"] + terms["mean"] + terms["var"]
    return total, terms


def pretraining_distillation_loss(y, student_mlm_logits, student_nsp_logits, teacher_mlm_logits, alpha=0.5):
    """$L_{PD} = \\sum_i w_i \\mathrm{CE}(\\alpha\\,\\mathrm{onehot}_i + (1-\\alpha) p^T_i, p^S_i)/(\\sum w + 10^{-5})
    + L_{NSP} = \\alpha L_{MLM} + (1-\\alpha) L_{KD} + L_{NSP}$ (spec 3.4).

    ``teacher_mlm_logits`` are the teacher head's logits on $\\tau \\cdot Y^T_L$ (the temperature multiplies
    the hidden state, not the logits); they are held under stop-gradient here. ``y`` holds
    ``masked_lm_ids``, ``masked_lm_weights`` and ``next_sentence_labels``.
    Returns ``(total, terms)`` with ``terms = {mlm, kd, nsp}`` unweighted.
    """
    vocab_size = ops.shape(student_mlm_logits)[-1]
    one_hot = ops.one_hot(ops.cast(y["masked_lm_ids"], "int32"), vocab_size)
    teacher_probs = ops.stop_gradient(ops.softmax(ops.cast(teacher_mlm_logits, "float32"), axis=-1))
    weights = y["masked_lm_weights"]
    terms = {
        "mlm": masked_lm_cross_entropy(one_hot, student_mlm_logits, weights),
        "kd": masked_lm_cross_entropy(teacher_probs, student_mlm_logits, weights),
        "nsp": next_sentence_loss(y["next_sentence_labels"], student_nsp_logits),
    }
    total = alpha * terms["mlm"] + (1.0 - alpha) * terms["kd"] + terms["nsp"]
    return total, terms


def leading_term_finding(weighted):
    """A sentence naming the largest weighted stage-2 term under each set of weights, and whether they differ.

    Args:
        weighted (dict): ``{label: {term: weighted value}}``, e.g. the same block's terms under $\beta$ = 5000 and
            500, before or after training.
    """
    leaders = {label: max(terms, key=terms.get) for label, terms in weighted.items()}
    said = "; ".join(f"{label}: {leader.upper()} ({weighted[label][leader]:.3g})" for label, leader in leaders.items())
    if len(set(leaders.values())) > 1:
        return f"The largest weighted term: {said}. The weights change which term leads."
    return f"The largest weighted term: {said}. The same term leads under every set of weights."
