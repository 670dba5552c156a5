"""Shared loss helpers and the method interface.

All helpers take *unshifted* model logits [B, L, V] and labels [B, L] (-100 on prompt/padding)
and shift inside (logits[:, t] predicts labels[:, t+1]). Vocabulary-wide tensors are built only
at answer positions and upcast to float32 before the softmax (METHODS.md, shared conventions).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from ..common.records import IGNORE


def answer_slice(logits: torch.Tensor, labels: torch.Tensor):
    """Return (logits at answer positions [N, V] float32, their labels [N], example index [N])."""
    lg, lb = logits[:, :-1], labels[:, 1:]
    mask = lb != IGNORE
    rows = mask.nonzero(as_tuple=True)[0]
    return lg[mask].float(), lb[mask], rows


def seq_logprob(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-example ``logp(y|x)`` = sum over answer tokens of log_softmax(logits)[y_t], and T."""
    lg, lb, rows = answer_slice(logits, labels)
    tok = torch.log_softmax(lg, dim=-1).gather(-1, lb[:, None]).squeeze(-1)
    b = logits.shape[0]
    total = torch.zeros(b, dtype=tok.dtype, device=tok.device).index_add(0, rows, tok)
    count = torch.zeros(b, dtype=tok.dtype, device=tok.device).index_add(0, rows, torch.ones_like(tok))
    return total, count


def nll_mean(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Token-mean negative log-likelihood over all answer tokens of the batch."""
    lg, lb, _ = answer_slice(logits, labels)
    return F.cross_entropy(lg, lb)


def kl_ref_theta(logits: torch.Tensor, ref_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """KL(pi_ref || pi_theta), mean over answer positions (the ``kl`` retain term)."""
    lg, _, _ = answer_slice(logits, labels)
    rl, _, _ = answer_slice(ref_logits, labels)
    lp, lq = torch.log_softmax(lg, -1), torch.log_softmax(rl, -1)
    return (lq.exp() * (lq - lp)).sum(-1).mean()


@dataclass
class LossInputs:
    """What a method's forget loss may use. ``ref_logits`` is a callable so reference-free methods
    never pay for the extra forward pass; it runs under ``no_grad``."""

    model: torch.nn.Module
    forget: dict
    hp: object  # resolved MethodConfig
    ref_logits: Callable[[dict], torch.Tensor]
    idk: dict | None = None
    cache: dict = field(default_factory=dict)

    def logits(self, batch: dict) -> torch.Tensor:
        key = id(batch)
        if key not in self.cache:
            self.cache[key] = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        return self.cache[key]


@dataclass(frozen=True)
class Method:
    """A registered unlearning method.

    ``preset`` holds every MethodConfig field the method fills when left None; ``paper`` the values
    the source paper used (shown beside the preset in the GUI); ``needs_ref`` says whether the
    forget loss uses pi_ref (the ``kl`` retain term needs it too, see ``uses_reference``).
    """

    name: str
    title: str
    forget_loss: Callable[[LossInputs], torch.Tensor]
    needs_ref: bool
    preset: dict
    paper: dict
    citation: str
    needs_idk: bool = False
    params: tuple[str, ...] = ()  # method-specific hyperparameters shown in the GUI

    def uses_reference(self, retain_loss: str) -> bool:
        return self.needs_ref or retain_loss == "kl"


def common_preset(**kw) -> dict:
    base = dict(beta=0.1, gamma=1.0, alpha=1.0, retain_loss="nll", delta=0.0, topk=5, lam=3.0,
                reduction="sum", lr=1e-4, steps=20, batch_size=4)
    base.update(kw)
    return base
