"""Gradient Difference (GradDiff).

L = gamma * (-nll_mean(D_f)) + alpha * L_retain, with L_retain the token-mean NLL on D_r (or KL to
the reference). Liu et al. 2022, "Continual Learning and Private Unlearning" (arXiv 2203.12817);
defaults from the TOFU benchmark (Maini et al. 2024, arXiv 2401.06121): gamma = alpha = 1.
"""
from .base import LossInputs, Method, common_preset, nll_mean


def forget_loss(x: LossInputs):
    return -nll_mean(x.logits(x.forget), x.forget["labels"])


METHOD = Method(
    name="graddiff", title="Gradient Difference", forget_loss=forget_loss, needs_ref=False,
    preset=common_preset(lr=2e-5, steps=10),
    paper=dict(lr=1e-5, gamma=1.0, alpha=1.0, retain_loss="nll"),
    citation="Liu et al. 2022, arXiv 2203.12817; TOFU, arXiv 2401.06121",
    params=("gamma", "alpha", "retain_loss"),
)
