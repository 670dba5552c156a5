"""SimNPO: reference-free, length-normalised NPO.

L_forget = -(2/beta) * mean_i log sigmoid(-(beta/T_i) * logp_theta(y_i|x_i) - beta*delta)

T_i is the number of answer tokens. Fan et al. 2024, "Simplicity Prevails: Rethinking Negative
Preference Optimization for LLM Unlearning", arXiv 2410.07163. Defaults (open-unlearning):
beta 4.5, delta 0, gamma 0.125, alpha 1.
"""
import torch.nn.functional as F

from .base import LossInputs, Method, common_preset, seq_logprob


def forget_loss(x: LossInputs):
    lp, t = seq_logprob(x.logits(x.forget), x.forget["labels"])
    beta, delta = x.hp.beta, x.hp.delta
    return -(2.0 / beta) * F.logsigmoid(-(beta / t.clamp(min=1)) * lp - beta * delta).mean()


METHOD = Method(
    name="simnpo", title="SimNPO", forget_loss=forget_loss, needs_ref=False,
    preset=common_preset(beta=4.5, delta=0.0, gamma=0.125),
    paper=dict(beta=4.5, delta=0.0, gamma=0.125, alpha=1.0, lr=1e-5),
    citation="Fan et al. 2024, arXiv 2410.07163",
    params=("beta", "delta", "gamma", "alpha", "retain_loss"),
)
