"""Vocabulary logits at the answer positions only.

Every loss and metric here reads the logits only where a label is an answer token (METHODS.md,
shared conventions: logits[:, t] predicts labels[:, t+1], prompt and padding are -100). A chat
prompt, with its system turn, is most of each sequence, yet the vocabulary projection and the
[B, L, V] logits tensor it writes (and its gradient) cost as much per prompt position as per
answer position: for SmolLM2-135M the projection is 576 x 49152 of the 135M parameters.

:func:`answer_index` gathers the answer positions of each row into a dense [B, A] index (A = the
longest answer in the batch) and builds labels aligned with it; :func:`compact_logits` runs the
decoder, gathers those hidden states and projects only them. The compact logits [B, A + 1, V]
and labels [B, A + 1] keep the shift convention, so every loss helper (``methods.base``) gives
the same numbers as on the full tensors (tests/core/test_losses.py checks values and gradients).
"""
from __future__ import annotations

import torch

from ..common.records import IGNORE

# Architectures whose logits are exactly ``lm_head(final hidden state)`` (no soft-capping or logit
# scaling after the head), so the head may be applied to a subset of positions.
PLAIN_HEAD = frozenset({"llama", "mistral", "qwen2", "qwen3", "phi3", "olmo", "olmo2", "smollm3"})


def head_parts(model):
    """(decoder, head) of a causal LM (PEFT-wrapped or not) whose logits are ``head(decoder(x))``,
    or None. PEFT swaps LoRA layers in place inside the decoder, so adapters (and
    ``disable_adapter``) still apply when the decoder is called directly."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if getattr(getattr(base, "config", None), "model_type", "") not in PLAIN_HEAD:
        return None
    try:
        decoder, head = base.get_decoder(), base.get_output_embeddings()
    except (AttributeError, NotImplementedError):
        return None
    if decoder is None or head is None or decoder is base:
        return None
    return decoder, head


def answer_index(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Positions t with ``labels[:, t + 1] != -100`` per row, left-aligned and padded into
    ``idx`` [B, A], and the matching labels [B, A + 1] (column 0 is -100, column j + 1 is the label
    that position ``idx[:, j]`` predicts; -100 where a row has fewer than A answer tokens)."""
    lb = labels[:, 1:]
    mask = lb != IGNORE
    counts = mask.sum(1)
    a = int(counts.max()) if labels.shape[0] else 0
    # stable sort puts each row's answer positions first, in order
    order = torch.sort((~mask).to(torch.int8), dim=1, stable=True).indices[:, :a]
    valid = torch.arange(a, device=labels.device)[None, :] < counts[:, None]
    idx = torch.where(valid, order, torch.zeros_like(order))
    lab = torch.full((labels.shape[0], a + 1), IGNORE, dtype=labels.dtype, device=labels.device)
    lab[:, 1:] = torch.where(valid, lb.gather(1, order), torch.full_like(order, IGNORE))
    return idx, lab


def compact_logits(model, batch: dict, parts=None) -> torch.Tensor:
    """[B, A + 1, V] logits at ``batch["answer_idx"]`` (the last column is a zero filler so the
    usual shift drops it)."""
    decoder, head = parts or head_parts(model)
    h = decoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    idx = batch["answer_idx"]
    sel = h.gather(1, idx[:, :, None].expand(-1, -1, h.shape[-1]))
    logits = head(sel)
    return torch.cat([logits, logits.new_zeros(logits.shape[0], 1, logits.shape[-1])], dim=1)


def compact_batch(batch: dict) -> dict:
    """The batch with ``answer_idx`` and compact labels (input_ids/attention_mask untouched)."""
    idx, lab = answer_index(batch["labels"])
    return {**batch, "labels": lab, "answer_idx": idx}
