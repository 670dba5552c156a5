"""End-of-run scorecard: the same items, measured the same way, before and after unlearning.

Definitions are those of docs/EVALUATION.md (TOFU, arXiv 2401.06121; MUSE, arXiv 2407.06460; as
in open-unlearning) and reuse :mod:`metrics`:

- forget / retain: ``Prob`` = mean_i exp(-L_i) (L_i = mean answer-token NLL), ``EM`` (argmax ==
  label share), ROUGE-L recall and keyword hit rate of the greedy answers, truth ratio
  ``TR_i = exp(L(paraphrase) - mean_j L(perturbed_j))`` where rows carry perturbed answers,
  aggregated as ``mean min(TR, 1/TR)`` on the forget side (1 = can no longer tell true from
  false) and ``mean max(0, 1 - TR)`` on the retain side (higher = still prefers the truth).
- utility: on the first ``utility_items`` rows of TOFU's world-facts and real-authors files, the
  option-normalised probability ``P(c) / (P(c) + sum_j P(p_j))`` and the retain-side TR score.
- model utility: harmonic mean of the retain-side numbers, so one collapsed number sinks it.
  (TOFU also uses ROUGE on the utility sets; we skip it to avoid 80 extra generations.)
- membership: Min-K%++ (k = 0.4) AUC forget vs holdout, 0.5 = indistinguishable from unseen.
- forget quality: KS-test p-value of forget TRs vs an oracle (retain-only) model's.

All forward passes run in eval mode without grad. Items are tokenised once, packed so shared
prefixes (chat template, the question before 4 answer options) are computed once (:mod:`packed`;
~5x fewer tokens on the TOFU utility files), and cached on the session (attribute
``_scorecard_cache``) so before and after reuse them; models that ignore custom attention masks
fall back to plain padded batches. Numbers that do not apply are None, never 0.
Headline rows, tolerances and the plain-language verdict live in :mod:`scorecard_text` and are
re-exported here (``scorecard.compare``, ``scorecard.verdict``).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from . import metrics, packed_scoring as packed
from ..data.tokenize import Example, collate
from .probes import generation_metrics

UTILITY_FILES = {"world_facts": ("tofu", "world_facts_perturbed.json"),
                 "real_authors": ("tofu", "real_authors_perturbed.json")}
CACHE_ATTR = "_scorecard_cache"
BATCH_SIZE = 16
MINK_K = 0.4


@dataclass
class _Items:
    """Flat list of tokenised (prompt, answer-variant) examples, packed once (see :mod:`packed`),
    plus per-item indices into it: the answer, the paraphrase (the answer itself when absent),
    the perturbed answers."""

    examples: list[Example]
    chunks: list[packed.Chunk]
    answer: list[int]
    para: list[int]
    pert: list[list[int]]

    @property
    def n(self) -> int:
        return len(self.examples)


def _build(tkz, answers: list[Example], variants: bool = True) -> _Items:
    flat: list[Example] = list(answers)
    para, pert = list(range(len(answers))), [[] for _ in answers]
    for i, e in enumerate(answers if variants else ()):
        r = e.record
        if r.paraphrased_answer and (ex := tkz.example(r, r.paraphrased_answer)) is not None:
            para[i] = len(flat)
            flat.append(ex)
        for p in r.perturbed_answers:
            if p and (ex := tkz.example(r, p)) is not None:
                pert[i].append(len(flat))
                flat.append(ex)
    return _Items(flat, packed.pack(flat), list(range(len(answers))), para, pert)


@torch.no_grad()
def _score(session, model, items: _Items, *, mink: bool = False, cancel=None) -> dict[str, np.ndarray]:
    """Per-example mean NLL and EM (and Min-K%++ when asked), in the flat order, in eval mode.

    Packed (shared prefixes computed once) when this model reproduces plain scores that way,
    else plain right-padded batches of 16."""
    if items.n == 0:
        return {k: np.zeros(0) for k in ("nll", "em", "mink")}
    was_training = model.training
    model.eval()
    try:
        key = ("packs", id(model))
        c = _cache(session)
        if key not in c:
            sample = [items.examples[0], items.examples[items.pert[0][0]]] if items.pert and items.pert[0] \
                else items.examples[:2]
            c[key] = packed.works_with(model, sample)
        if c[key]:
            return packed.score(model, items.chunks, items.n, mink=mink, cancel=cancel)
        return _score_plain(model, items.examples, session.tokenizer.pad_token_id, mink, cancel)
    finally:
        if was_training:
            model.train()


@torch.no_grad()
def _score_plain(model, examples: list[Example], pad_id: int, mink: bool, cancel) -> dict[str, np.ndarray]:
    out = {k: np.full(len(examples), np.nan) for k in ("nll", "em", "mink")}
    dev = next(model.parameters()).device
    order = sorted(range(len(examples)), key=lambda k: len(examples[k].input_ids))  # little padding
    for s in range(0, len(order), BATCH_SIZE):
        if cancel is not None:
            cancel.raise_if_cancelled()
        idx = order[s:s + BATCH_SIZE]
        b = {k: v.to(dev) for k, v in collate([examples[j] for j in idx], pad_id).items()}
        logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
        st = metrics.token_stats(logits, b["labels"])
        out["nll"][idx] = st["nll_mean"].cpu().numpy()
        out["em"][idx] = st["em"].cpu().numpy()
        if mink:  # logits[t] predicts labels[t + 1]; only answer rows reach the full softmax
            out["mink"][idx] = [metrics.min_k_plus_plus(logits[i, :-1], b["labels"][i, 1:], MINK_K)
                                for i in range(len(idx))]
    return out


def _num(x) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def _mean(values) -> float | None:
    v = [float(x) for x in values if x is not None and math.isfinite(float(x))]
    return sum(v) / len(v) if v else None


def _truth_ratios(nll: np.ndarray, items: _Items) -> list[float]:
    return [metrics.truth_ratio(float(nll[p]), [float(nll[j]) for j in js])
            for p, js in zip(items.para, items.pert) if js and math.isfinite(nll[p])]


def _cache(session) -> dict:
    c = getattr(session, CACHE_ATTR, None)
    if c is None:
        c = {}
        setattr(session, CACHE_ATTR, c)
    return c


def _side_items(session, side: str) -> _Items:
    ex = session.forget[:session.eval_forget.n] if side == "forget" else session.retain[:session.eval_retain.n]
    key = (side, len(ex))
    c = _cache(session)
    if key not in c:
        c[key] = _build(session.tkz, ex)
    return c[key]


def _utility_items(session, name: str, n: int) -> _Items:
    from ..common.paths import resource
    from ..data.readers import read_records

    key = ("utility", name, n)
    c = _cache(session)
    if key not in c:
        recs = read_records(resource(*UTILITY_FILES[name]))[:n]
        ex = [e for e in (session.tkz.example(r) for r in recs) if e is not None]
        c[key] = _build(session.tkz, ex)
    return c[key]


def _generation_side(rows, texts, split: str) -> dict:
    """Hit rate and ROUGE-L via evaluate.generation_metrics (the engine's numbers), plus per-item
    hits so the verdict can say how many facts went missing."""
    g = generation_metrics(rows, texts)
    hits = [metrics.keyword_hit(t, r.keys) for r, t in zip(rows, texts)
            if r.split == split and any(k.strip() for k in r.keys)]
    return {"rougeL": _num(g[f"{split}_rougeL"]), "hit_rate": _num(g[f"{split}_hit_rate"]),
            "hits": sum(hits), "n_keyed": len(hits), "hit_items": hits}


def measure(session, *, original: bool, cancel=None, utility_items: int = 40, texts: list[str] | None = None,
            holdout: list | None = None, oracle_model=None) -> dict:
    """Scorecard numbers for the original (``original=True``) or current model; see module doc.

    ``texts``: greedy answers already generated for ``session.compare`` (else generated here).
    ``holdout``: never-trained records (role "holdout") for the Min-K%++ membership AUC.
    ``oracle_model``: a retain-only model with the same tokenizer, for forget quality.
    Numbers that do not apply are None (JSON null), never 0.
    """
    t0 = time.perf_counter()
    if original and not session.original_kept:  # fail before minutes of generation, not after
        raise RuntimeError(session.NO_ORIGINAL)
    if texts is None:
        texts = session.generate_ids(session.compare_prompts, original=original, cancel=cancel)
    if len(texts) != len(session.compare):
        raise ValueError(f"texts holds {len(texts)} answers for {len(session.compare)} compare rows")
    holdout = holdout if holdout is not None else getattr(session, "holdout", None)
    f_items, r_items = _side_items(session, "forget"), _side_items(session, "retain")
    util = {name: _utility_items(session, name, utility_items) for name in UTILITY_FILES} if utility_items else {}
    h_items = None
    if holdout:
        ex = [h if isinstance(h, Example) else session.tkz.example(h) for h in holdout]
        h_items = _build(session.tkz, [e for e in ex if e is not None], variants=False)
    with session.model_for(original) as model:
        f = _score(session, model, f_items, mink=h_items is not None, cancel=cancel)
        r = _score(session, model, r_items, cancel=cancel)
        u = {name: _score(session, model, it, cancel=cancel) for name, it in util.items()}
        h = _score(session, model, h_items, mink=True, cancel=cancel) if h_items is not None else None
    f_trs = _truth_ratios(f["nll"], f_items)
    out: dict = {"schema": 1, "model": "original" if original else "current",
                 "forget": _side(f, f_items, f_trs, metrics.truth_ratio_forget_score, session.compare, texts, "forget"),
                 "retain": _side(r, r_items, _truth_ratios(r["nll"], r_items), metrics.truth_ratio_retain_score,
                                 session.compare, texts, "retain"),
                 "utility": {name: _utility(res["nll"], util[name]) for name, res in u.items()}}
    out.update(_model_utility(out))
    out["membership"] = None
    if h is not None:
        fs, hs = f["mink"][f_items.answer], h["mink"]
        out["membership"] = {"auc": _num(metrics.auc_forget_vs_holdout(fs, hs)), "method": "Min-K%++", "k": MINK_K,
                             "n_forget": int(np.isfinite(fs).sum()), "n_holdout": int(np.isfinite(hs).sum())}
    out["forget_quality"] = None
    if oracle_model is not None and f_trs:
        o_trs = _truth_ratios(_score(session, oracle_model, f_items, cancel=cancel)["nll"], f_items)
        out["forget_quality"] = _num(metrics.ks_test_pvalue(f_trs, o_trs)) if o_trs else None
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def _side(res: dict, items: _Items, trs: list[float], tr_score, rows, texts, split: str) -> dict:
    ans = res["nll"][items.answer]
    return {"n": len(items.answer), "prob": _mean(np.exp(-ans)), "em": _mean(res["em"][items.answer]),
            **_generation_side(rows, texts, split),
            "truth_ratio": _num(tr_score(trs)) if trs else None, "n_truth_ratio": len(trs)}


def _utility(nll: np.ndarray, it: _Items) -> dict:
    onp = [metrics.option_normalised_prob(float(nll[a]), [float(nll[j]) for j in js])
           for a, js in zip(it.answer, it.pert) if js and math.isfinite(nll[a])]
    trs = _truth_ratios(nll, it)
    return {"n": len(onp), "prob": _mean(onp),
            "truth_ratio": _num(metrics.truth_ratio_retain_score(trs)) if trs else None}


def _model_utility(out: dict) -> dict:
    """Harmonic mean of the retain-side numbers present (TOFU model utility, minus utility ROUGE)."""
    parts = {"retain.prob": out["retain"]["prob"], "retain.rougeL": out["retain"]["rougeL"],
             "retain.truth_ratio": out["retain"]["truth_ratio"]}
    for name, d in out["utility"].items():
        parts.update({f"utility.{name}.prob": d["prob"], f"utility.{name}.truth_ratio": d["truth_ratio"]})
    parts = {k: v for k, v in parts.items() if v is not None}
    return {"model_utility": _num(metrics.harmonic_mean(list(parts.values()))), "model_utility_parts": sorted(parts)}


def from_summary(summary: dict, side: str) -> dict:
    """A partial scorecard (forget/retain only) from ``summary.json``'s flat ``metrics[side]`` and
    its generations, for run folders written before ``scorecard.json`` existed. ``side`` is
    "before" or "after"."""
    m = (summary.get("metrics") or {}).get(side) or {}
    out: dict = {"schema": 1, "model": "original" if side == "before" else "current", "from": "summary.json"}
    gens = summary.get("generations") or []
    for split in ("forget", "retain"):
        hits = [metrics.keyword_hit(g.get(side) or "", g.get("keys") or "") for g in gens
                if g.get("split") == split and g.get(side) is not None
                and any(k.strip() for k in (g.get("keys") or "").split("|"))]
        out[split] = {"prob": _num(m.get(f"{split}_prob")), "em": _num(m.get(f"{split}_em")),
                      "rougeL": _num(m.get(f"{split}_rougeL")), "hit_rate": _num(m.get(f"{split}_hit_rate")),
                      "hits": sum(hits), "n_keyed": len(hits), "hit_items": hits, "truth_ratio": None}
    out.update(utility={}, model_utility=None, membership=None, forget_quality=None)
    return out


from .verdict import CAVEAT, RETAIN_TOLERANCE, compare, verdict  # noqa: E402 - re-exported API

__all__ = ["measure", "from_summary", "compare", "verdict", "CAVEAT", "RETAIN_TOLERANCE", "CACHE_ATTR"]
