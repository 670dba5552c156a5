"""Batched greedy generation with left padding, cancellable between tokens."""
from __future__ import annotations


import torch

from ..common.cancel import Cancelled, CancelToken


class _CancelCriteria:
    """A StoppingCriteria that ends generation as soon as the token is set (polled per token)."""

    def __init__(self, cancel: CancelToken | None):
        self.cancel = cancel

    def __call__(self, input_ids, scores, **kwargs):
        stop = bool(self.cancel is not None and self.cancel.cancelled)
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)


def left_pad(prompts: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    n = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), n), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, n - len(p):] = torch.tensor(p, dtype=torch.long)
        mask[i, n - len(p):] = 1
    return ids.to(device), mask.to(device)


@torch.no_grad()
def generate(model, tokenizer, prompts: list[list[int]], *, max_new_tokens: int = 32, stop_ids=(),
             cancel: CancelToken | None = None, batch_size: int = 16) -> list[str]:
    """Greedy answers for tokenised prompts, in order.

    Prompts are sorted by length so each batch pads little. Which model (current, or the original
    with LoRA adapters disabled) is the caller's choice: ``Session.model_for``.
    Raises :class:`Cancelled` if the token is set before or during generation.
    """
    from transformers import StoppingCriteriaList

    if not prompts:
        return []
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id
    eos = list(stop_ids) or [tokenizer.eos_token_id]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    out: list[str] = [""] * len(prompts)
    try:
        for s in range(0, len(order), batch_size):
            if cancel is not None:
                cancel.raise_if_cancelled()
            idx = order[s:s + batch_size]
            ids, mask = left_pad([prompts[i] for i in idx], pad, device)
            gen = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                                 do_sample=False, num_beams=1, pad_token_id=pad, eos_token_id=eos,
                                 stopping_criteria=StoppingCriteriaList([_CancelCriteria(cancel)]),
                                 temperature=None, top_p=None, top_k=None)
            if cancel is not None and cancel.cancelled:
                raise Cancelled()
            for row, i in zip(gen[:, ids.shape[1]:], idx):
                out[i] = tokenizer.decode(row, skip_special_tokens=True).strip()
    finally:
        if was_training:
            model.train()
    return out
