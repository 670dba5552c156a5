"""Negative Preference Optimization (NPO).

L_forget = -(2/beta) * mean_i log sigmoid(-beta * (logp_theta(y_i|x_i) - logp_ref(y_i|x_i)))

with logp the summed log-softmax probability of the answer tokens. Equals (2/beta) ln 2 when
pi_theta == pi_ref and is bounded below by 0, unlike gradient ascent. Zhang et al. 2024,
"Negative Preference Optimization: From Catastrophic Collapse to Effective Unlearning",
arXiv 2404.05868. Defaults beta = 0.1, gamma = alpha = 1 (open-unlearning).
"""
import torch.nn.functional as F

from .base import LossInputs, Method, common_preset, seq_logprob


def forget_loss(x: LossInputs):
    labels = x.forget["labels"]
    lp, _ = seq_logprob(x.logits(x.forget), labels)
    ref, _ = seq_logprob(x.ref_logits(x.forget), labels)
    beta = x.hp.beta
    return -(2.0 / beta) * F.logsigmoid(-beta * (lp - ref)).mean()


METHOD = Method(
    name="npo", title="NPO", forget_loss=forget_loss, needs_ref=True,
    # NPO's forget term sums log-probs over the answer while the retain NLL is a token mean: on the
    # demo a retain weight of 10 balances them (docs/methods.md has the sweep)
    preset=common_preset(alpha=10.0, lr=2e-4, steps=20),
    paper=dict(beta=0.1, gamma=1.0, alpha=1.0, lr=1e-5, retain_loss="nll"),
    citation="Zhang et al. 2024, arXiv 2404.05868",
    params=("beta", "gamma", "alpha", "retain_loss"),
)
