"""Live probe metrics and before/after measurements on fixed, pre-tokenised item sets."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from . import metrics
from .data import Example, collate


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


@torch.no_grad()
def score(model, items: ItemSet) -> dict[str, float]:
    """Mean answer log-prob per token, Prob = mean exp(mean log-prob) (TOFU), and EM."""
    if items.n == 0:
        return {"logprob": math.nan, "prob": math.nan, "em": math.nan}
    was_training = model.training
    model.eval()
    lps, ems = [], []
    try:
        for b in items.batches:
            logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
            st = metrics.token_stats(logits, b["labels"])
            lps.append(st["mean_logprob"])
            ems.append(st["em"])
    finally:
        if was_training:
            model.train()
    lp = torch.cat(lps).float()
    em = torch.cat(ems).float()
    ok = ~torch.isnan(lp)
    return {"logprob": lp[ok].mean().item(), "prob": lp[ok].exp().mean().item(), "em": em[ok].mean().item()}


def probe_metrics(model, forget: ItemSet, retain: ItemSet) -> dict[str, float]:
    f, r = score(model, forget), score(model, retain)
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
