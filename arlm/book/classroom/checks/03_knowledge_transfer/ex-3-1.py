from otter.test_files import test_case

from arlm.book.classroom.checks import close, need

name = "ex-3-1"
expects = ("t_logits, s_logits: random attention logits of one query row; answer: {'kl', 'entropy'} KL(P_T || "
           "P_S) and H(P_T) computed by hand, {'at', 'at_kl'} attention_transfer_loss with the default and the "
           "'kl' kind")
refuses = 'answer = {**answer, "entropy": -answer["entropy"]}'  # the entropy's sign


def _by_hand(t_logits, s_logits):
    import numpy as np

    def softmax(z):
        z = np.asarray(z, dtype="float64").ravel()
        e = np.exp(z - z.max())
        return e / e.sum()

    p_t, p_s = softmax(t_logits), softmax(s_logits)
    return float(np.sum(p_t * np.log(p_t / p_s))), float(-np.sum(p_t * np.log(p_t)))


@test_case()
def test_kl_and_entropy_by_hand(answer, t_logits, s_logits):
    need(answer=answer, t_logits=t_logits, s_logits=s_logits)
    expected_kl, expected_h = _by_hand(t_logits, s_logits)
    assert close(answer.get("kl"), expected_kl, rel=1e-4, abs_tol=1e-6), "KL(P_T || P_S) is off"
    assert close(answer.get("entropy"), expected_h, rel=1e-4), "H(P_T) is off"


@test_case()
def test_at_is_the_librarys_and_kl_plus_entropy(answer, t_logits, s_logits):
    from arlm.distillation import losses

    need(answer=answer)
    assert close(answer.get("at"), float(losses.attention_transfer_loss(t_logits, s_logits)), rel=1e-4), (
        "at is not attention_transfer_loss(t_logits, s_logits)")
    assert close(answer["at"], answer.get("kl", 0) + answer.get("entropy", 0), rel=1e-4), (
        "the cross-entropy term should equal KL + H")


@test_case()
def test_the_kl_kind_is_kl(answer):
    need(answer=answer)
    assert close(answer.get("at_kl"), answer.get("kl"), rel=1e-4, abs_tol=1e-6), (
        "attention_transfer_loss(..., 'kl') should be the KL")
