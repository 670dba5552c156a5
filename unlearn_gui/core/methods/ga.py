"""Gradient Ascent (GA).

L_forget = -nll_mean(D_f): maximise the forget answers' token NLL. Unbounded below, so it
collapses a model if run long; kept as the simplest baseline (Jang et al. 2023, "Knowledge
Unlearning for Mitigating Privacy Risks in Language Models", arXiv 2210.01504). No retain term.
"""
from .base import LossInputs, Method, common_preset, nll_mean


def forget_loss(x: LossInputs):
    return -nll_mean(x.logits(x.forget), x.forget["labels"])


METHOD = Method(
    name="ga", title="Gradient Ascent", forget_loss=forget_loss, needs_ref=False,
    preset=common_preset(retain_loss="none", alpha=0.0, lr=2e-5, steps=10),
    paper=dict(lr=1e-5, retain_loss="none"),
    citation="Jang et al. 2023, arXiv 2210.01504",
)
