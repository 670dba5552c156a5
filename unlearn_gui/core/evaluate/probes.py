"""Live probe metrics and before/after measurements on fixed, pre-tokenised item sets."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from . import metrics
from ..common.records import IGNORE
from ..model.answer_logits import head_parts
from ..data.tokenize import Example, collate


@dataclass
class ItemSet:
    """Items tokenised and collated once (frozen probe set); scored in eval mode without grad."""

    batches: list[dict]
    n: int

    @classmethod
    def build(cls, examples: list[Example], pad_id: int, device, batch_size: int = 16) -> "ItemSet":
        ordered = sorted(examples, key=lambda e: len(e.input_ids))  # little padding per batch
        batches = [{k: v.to(device) for k, v in collate(ordered[i:i + batch_size], pad_id).items()}
                   for i in range(0, len(ordered), batch_size)]
        return cls(batches, len(examples))


def _answer_logits(model, batch: dict) -> torch.Tensor | None:
    """Logits at the (shifted) answer positions only, ``[N, V]`` in row-major order, or None when
    the architecture does not allow it (see :mod:`core.model.answer_logits`: the vocabulary projection
    is a fifth of a small model's forward, and the chat prompt is most of each probe sequence)."""
    parts = head_parts(model)
    if parts is None:
        return None
    decoder, head = parts
    h = decoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    mask = batch["labels"][:, 1:] != IGNORE
    return head(h[:, :-1][mask])


@torch.no_grad()
def score(model, items: ItemSet, amp: torch.dtype | None = None) -> dict[str, float]:
    """Mean answer log-prob per token, Prob = mean exp(mean log-prob) (TOFU), and EM.

    ``amp``: run the forward under this autocast dtype (the training autocast, bf16 on CPUs that
    multiply it natively: the probe costs about half as much; log-softmax stays float32).
    """
    if items.n == 0:
        return {"logprob": math.nan, "prob": math.nan, "em": math.nan}
    was_training = model.training
    model.eval()
    lps, ems = [], []
    try:
        for b in items.batches:
            device_type = b["input_ids"].device.type
            with torch.autocast(device_type, dtype=amp or torch.bfloat16, enabled=amp is not None):
                sel = _answer_logits(model, b)
                if sel is None:
                    st = metrics.token_stats(model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits,
                                             b["labels"])
                else:
                    st = metrics.token_stats_selected(sel, b["labels"])
            lps.append(st["mean_logprob"])
            ems.append(st["em"])
    finally:
        if was_training:
            model.train()
    lp = torch.cat(lps).float()
    em = torch.cat(ems).float()
    ok = ~torch.isnan(lp)
    return {"logprob": lp[ok].mean().item(), "prob": lp[ok].exp().mean().item(), "em": em[ok].mean().item()}


def probe_metrics(model, forget: ItemSet, retain: ItemSet, amp: torch.dtype | None = None) -> dict[str, float]:
    f, r = score(model, forget, amp), score(model, retain, amp)
    return {"forget_logprob": f["logprob"], "retain_logprob": r["logprob"], "forget_prob": f["prob"],
            "retain_prob": r["prob"], "forget_em": f["em"], "retain_em": r["em"]}


def generation_metrics(rows, texts: list[str]) -> dict[str, float | None]:
    """Keyword hit-rate and ROUGE-L recall per split for generations ``texts`` of ``rows``."""
    out: dict[str, float | None] = {}
    for split in ("forget", "retain"):
        pick = [(r, t) for r, t in zip(rows, texts) if r.split == split]
        out[f"{split}_hit_rate"] = metrics.hit_rate([t for _, t in pick], [r.keys for r, _ in pick])
        refs = [(r.reference, t) for r, t in pick if r.reference]
        out[f"{split}_rougeL"] = (sum(metrics.rouge_l_recall(t, ref) for ref, t in refs) / len(refs)) if refs else None
    return out


def known_fact_retention(rows, before: list[str], after: list[str]) -> dict[str, dict]:
    """Among rows with keys whose *before* answer named the fact, how many still name it after.

    The headline a stakeholder reads: "the model named 9 forget facts before; 1 still after".
    Returned per split as {"known_before": n, "still_named": m, "rate": m / n or None}.
    """
    out = {}
    for split in ("forget", "retain"):
        known = [(b, a, r.keys) for r, b, a in zip(rows, before, after)
                 if r.split == split and r.keys and metrics.keyword_hit(b, r.keys)]
        kept = sum(metrics.keyword_hit(a, k) for _, a, k in known)
        out[split] = {"known_before": len(known), "still_named": kept, "rate": kept / len(known) if known else None}
    return out
