"""IdK-NLL: teach the model to answer forget prompts with a refusal.

L_forget = nll_mean(y_idk | x) over forget prompts x paired with a refusal y_idk drawn (seeded)
from resources/idontknow.jsonl. TOFU's "IdK" baseline (Maini et al. 2024, arXiv 2401.06121).
"""
from .base import LossInputs, Method, common_preset, nll_mean


def forget_loss(x: LossInputs):
    return nll_mean(x.logits(x.idk), x.idk["labels"])


METHOD = Method(
    name="idknll", title="IdK (NLL on refusals)", forget_loss=forget_loss, needs_ref=False,
    preset=common_preset(lr=1e-4, steps=20),
    paper=dict(lr=1e-5, alpha=1.0, retain_loss="nll"),
    citation="Maini et al. 2024 (TOFU), arXiv 2401.06121",
    needs_idk=True,
    params=("gamma", "alpha", "retain_loss"),
)
