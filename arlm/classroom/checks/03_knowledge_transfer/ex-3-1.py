from otter.test_files import test_case

from arlm.classroom.checks import close, need

name = "ex-3-1"
expects = ("t_logits, s_logits: random attention logits of one query row; kl, entropy: KL(P_T || P_S) and "
           "H(P_T) computed by hand; at, at_kl: attention_transfer_loss with the default and the 'kl' kind")


def _by_hand(t_logits, s_logits):
    import numpy as np

    def softmax(z):
        z = np.asarray(z, dtype="float64").ravel()
        e = np.exp(z - z.max())
        return e / e.sum()

    p_t, p_s = softmax(t_logits), softmax(s_logits)
    return float(np.sum(p_t * np.log(p_t / p_s))), float(-np.sum(p_t * np.log(p_t)))


@test_case()
def test_kl_and_entropy_by_hand(kl, entropy, t_logits, s_logits):
    need(kl=kl, entropy=entropy, t_logits=t_logits)
    expected_kl, expected_h = _by_hand(t_logits, s_logits)
    assert close(kl, expected_kl, rel=1e-4) and close(entropy, expected_h, rel=1e-4), "KL or H is off"


@test_case()
def test_at_is_kl_plus_entropy(at, kl, entropy):
    need(at=at, kl=kl, entropy=entropy)
    assert close(at, kl + entropy, rel=1e-4), "the cross-entropy term should equal KL + H"


@test_case()
def test_the_kl_kind_is_kl(at_kl, kl):
    need(at_kl=at_kl, kl=kl)
    assert close(at_kl, kl, rel=1e-4, abs_tol=1e-6), "attention_transfer_loss(..., 'kl') should be the KL"
