"""Headline rows and the plain-language verdict for a before/after scorecard pair.

Goals (docs/EVALUATION.md, "forget down is good, retain steady is good"):

- ``down``  (forget Prob, ROUGE-L, EM, hit rate): good when the number fell by at least
  ``FORGET_MIN_DROP`` (0.01); no change is not good. None when there was nothing to forget.
- ``up``    (forget truth-ratio score min(TR, 1/TR), forget quality): good when it rose by 0.01.
- ``steady`` (retain and utility numbers, model utility): good when the number did not fall by
  more than ``RETAIN_TOLERANCE`` = 0.05 in absolute terms (all these numbers live in [0, 1]).
- ``half``  (membership AUC): good when it moved towards 0.5 or is within 0.05 of it.

The arrow shows the direction of the change only (``→`` within ±0.005), colour is ``good``.
"""
from __future__ import annotations

import math

RETAIN_TOLERANCE = 0.05
FORGET_MIN_DROP = 0.01
ARROW_EPS = 0.005
CAVEAT = ("Unlearning is approximate: the information may still be recoverable by other prompts, "
          "by fine-tuning or by extraction attacks, and these checks only cover the items measured.")

HEADLINES = (  # key, name, goal, format
    ("forget.hit_rate", "Forget: answers naming the fact", "down", "pct"),
    ("forget.prob", "Forget: answer probability", "down", "num"),
    ("forget.rougeL", "Forget: ROUGE-L recall", "down", "num"),
    ("forget.em", "Forget: exact memorisation", "down", "num"),
    ("forget.truth_ratio", "Forget: truth ratio, min(TR, 1/TR)", "up", "num"),
    ("retain.hit_rate", "Retain: answers naming the fact", "steady", "pct"),
    ("retain.prob", "Retain: answer probability", "steady", "num"),
    ("retain.rougeL", "Retain: ROUGE-L recall", "steady", "num"),
    ("retain.em", "Retain: exact memorisation", "steady", "num"),
    ("retain.truth_ratio", "Retain: truth ratio, max(0, 1 − TR)", "steady", "num"),
    ("utility.world_facts.prob", "World facts: option-normalised probability", "steady", "num"),
    ("utility.world_facts.truth_ratio", "World facts: truth ratio, max(0, 1 − TR)", "steady", "num"),
    ("utility.real_authors.prob", "Real authors: option-normalised probability", "steady", "num"),
    ("utility.real_authors.truth_ratio", "Real authors: truth ratio, max(0, 1 − TR)", "steady", "num"),
    ("model_utility", "Model utility (harmonic mean)", "steady", "num"),
    ("membership.auc", "Membership AUC, Min-K%++ (0.5 = unseen)", "half", "num"),
    ("forget_quality", "Forget quality (KS p-value vs oracle)", "up", "num"),
)


def get(d: dict | None, key: str):
    """``get(card, "utility.world_facts.prob")``; None when any part is missing or not finite."""
    for part in key.split("."):
        if not isinstance(d, dict):
            return None
        d = d.get(part)
    return d if isinstance(d, (int, float)) and not isinstance(d, bool) and math.isfinite(d) else None


def _good(goal: str, b: float, a: float) -> bool | None:
    if goal == "down":
        return None if b < FORGET_MIN_DROP else a <= b - FORGET_MIN_DROP
    if goal == "up":
        return a >= b + FORGET_MIN_DROP
    if goal == "steady":
        return a >= b - RETAIN_TOLERANCE
    return abs(a - 0.5) <= 0.05 or abs(a - 0.5) < abs(b - 0.5)  # "half"


def compare(before: dict, after: dict) -> list[dict]:
    """Headline rows ``{key, name, goal, fmt, before, after, delta, good, arrow}`` for every
    number present on either side (``good``/``delta`` None when one side is missing)."""
    rows = []
    for key, name, goal, fmt in HEADLINES:
        b, a = get(before, key), get(after, key)
        if b is None and a is None:
            continue
        delta = None if b is None or a is None else a - b
        arrow = "→" if delta is None or abs(delta) <= ARROW_EPS else ("↑" if delta > 0 else "↓")
        rows.append({"key": key, "name": name, "goal": goal, "fmt": fmt, "before": b, "after": a, "delta": delta,
                     "good": None if delta is None else _good(goal, b, a), "arrow": arrow})
    return rows


def fmt_value(v, fmt: str = "num") -> str:
    if v is None:
        return "n/a"
    return f"{100 * v:.0f}%" if fmt == "pct" else f"{v:.3f}"


def _facts(before: dict, after: dict, side: str) -> tuple[int, int, int, str] | None:
    """(named before, of those still named after, keyed items, "hit rate a% → b%") from the
    per-item keyword hits (the hit rate is hits / keyed items by definition)."""
    hb, ha = (before.get(side) or {}).get("hit_items"), (after.get(side) or {}).get("hit_items")
    if not hb or ha is None or len(hb) != len(ha):
        return None
    n = len(hb)
    rate = f"hit rate {fmt_value(sum(hb) / n, 'pct')} → {fmt_value(sum(ha) / n, 'pct')}"
    return sum(hb), sum(1 for x, y in zip(hb, ha) if x and y), n, rate


def verdict(before: dict, after: dict) -> str:
    """A few plain sentences on what changed, always ending with :data:`CAVEAT`."""
    rows = {r["key"]: r for r in compare(before, after)}
    out: list[str] = []
    f, r = _facts(before, after, "forget"), _facts(before, after, "retain")
    if f and f[0]:
        out.append(f"The model no longer names {f[0] - f[1]} of the {f[0]} forget facts it named before "
                   f"({f[3]}, {f[2]} keyed items)")
    elif f:
        out.append(f"The model named none of the {f[2]} keyed forget facts even before unlearning, "
                   "so the hit rate cannot show forgetting")
    fp = rows.get("forget.prob")
    if fp and fp["delta"] is not None:
        out.append(("and the" if out else "The") + f" probability it gives the forget answers went from "
                   f"{fmt_value(fp['before'])} to {fmt_value(fp['after'])}")
    text = ", ".join(out) if out else "No forget numbers were measured"
    if r and r[0]:
        text += f"; it still names {r[1]} of the {r[0]} retain facts it named before ({r[3]})"
    rp = rows.get("retain.prob")
    if rp and rp["delta"] is not None:
        text += f"; retain answer probability {fmt_value(rp['before'])} → {fmt_value(rp['after'])}"
    sentences = [text + "."]
    mu = rows.get("model_utility")
    if mu and mu["delta"] is not None:
        how = "steady" if mu["good"] else f"a fall beyond the {RETAIN_TOLERANCE:g} tolerance"
        sentences.append(f"Model utility (harmonic mean of the retain-side scores) went from "
                         f"{fmt_value(mu['before'])} to {fmt_value(mu['after'])}: {how}.")
    mem = rows.get("membership.auc")
    if mem and mem["after"] is not None:
        sentences.append(f"A Min-K%++ membership test tells forget items from never-seen holdout items with AUC "
                         f"{fmt_value(mem['before'])} → {fmt_value(mem['after'])} (0.5 = indistinguishable).")
    fq = rows.get("forget_quality")
    if fq and fq["after"] is not None:
        sentences.append(f"Forget quality (KS-test p-value against the oracle model) is {fq['after']:.3g}; "
                         "compare it only across runs with the same forget-set size.")
    sentences.append(_overall(rows))
    sentences.append(CAVEAT)
    return " ".join(sentences)


def _overall(rows: dict) -> str:
    forget = next((rows[k] for k in ("forget.hit_rate", "forget.prob") if rows.get(k) and rows[k]["good"] is not None), None)
    keep = [rows[k] for k in ("model_utility", "retain.hit_rate", "retain.prob") if rows.get(k) and rows[k]["good"] is not None]
    kept = all(x["good"] for x in keep) if keep else None
    if forget is None:
        return "Overall: there was no measurable forget knowledge to remove on these items."
    if forget["good"] and kept is not False:
        return "Overall: on these items the forget knowledge went down and the retained knowledge held."
    if forget["good"]:
        return ("Overall: the forget knowledge went down, but retained knowledge fell too; try fewer steps, a lower "
                "learning rate or a larger retain weight.")
    if kept is False:
        return "Overall: the forget knowledge did not go down and retained knowledge fell; this run did not work."
    return "Overall: the forget knowledge did not clearly go down; try more steps or a higher learning rate."
