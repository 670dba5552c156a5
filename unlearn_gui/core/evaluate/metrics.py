"""Evaluation metrics for unlearning runs: pure functions, no Qt, no model code.

Definitions follow docs/EVALUATION.md, i.e. TOFU (Maini et al. 2024, arXiv 2401.06121) and MUSE
(Shi et al. 2024, arXiv 2407.06460) as implemented in the open-unlearning framework. NLLs are
always *mean per answer token* (length-normalised), so "Prob" is ``exp(-L)``. Aggregates skip
None/NaN (an item with no answer tokens or no perturbations cannot contribute a number).
"""
from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from ..common.records import IGNORE
KS_EXACT_MAX_N = 10_000  # scipy's ks_2samp(method="auto") switches to asymptotic above this too


def _clean(values: Iterable | None) -> list[float]:
    """Floats from a list / array / tensor, dropping None and NaN."""
    if values is None:
        return []
    if hasattr(values, "tolist"):
        values = values.tolist()
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


# ---------------------------------------------------------------- text metrics
@functools.lru_cache(maxsize=1)
def _rouge_scorer():
    from rouge_score import rouge_scorer  # imported lazily: pulls in nltk's stemmer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l_recall(prediction: str, reference: str) -> float:
    """ROUGE-L recall = LCS(reference, prediction) / len(reference tokens) (TOFU's "ROUGE").

    rouge_score's tokenizer lowercases, splits on non-alphanumerics and Porter-stems; recall (not
    F1) is what TOFU/open-unlearning report: how much of the true answer the generation contains.
    """
    return float(_rouge_scorer().score(reference, prediction)["rougeL"].recall)


def _keys(keys: Sequence[str] | str | None) -> list[str]:
    if isinstance(keys, str):  # tolerate the raw "a|b" form from data files
        keys = keys.split("|")
    return [k.strip().lower() for k in (keys or ()) if k and k.strip()]


def keyword_hit(text: str, keys: Sequence[str]) -> bool:
    """True when any (lowercased) key is a substring of ``text.lower()``; no keys -> False."""
    low = (text or "").lower()
    return any(k in low for k in _keys(keys))


def hit_rate(texts: Sequence[str], keys_list: Sequence[Sequence[str]]) -> float | None:
    """Fraction of keyed items whose text is a keyword hit; items without keys are skipped.

    Returns None when no item has keys (the metric does not apply, which is not the same as 0).
    """
    pairs = [(t, k) for t, k in zip(texts, keys_list, strict=True) if _keys(k)]
    return sum(keyword_hit(t, k) for t, k in pairs) / len(pairs) if pairs else None


def unique_token_ratio(text: str) -> float:
    """Distinct whitespace tokens / tokens (0.0 for empty text); low values flag repetition."""
    toks = (text or "").split()
    return len(set(toks)) / len(toks) if toks else 0.0


def is_degenerate(text: str, min_ratio: float = 0.3) -> bool:
    """Collapse detector for generations: empty/whitespace, the same token repeated (>= 2 times),
    or, with at least 6 tokens, a unique-token ratio below ``min_ratio``."""
    toks = (text or "").split()
    if not toks:
        return True
    if len(toks) >= 2 and len(set(toks)) == 1:
        return True
    return len(toks) >= 6 and unique_token_ratio(text) < min_ratio


def changed_words(before: str, after: str) -> list[tuple[str, str]]:
    """Word-level diff of two generations as ``[(op, text)]``, op in equal/insert/delete.

    difflib.SequenceMatcher on whitespace tokens (autojunk off, so common words are not
    ignored); a "replace" opcode becomes a delete of the old words followed by an insert.
    """
    a, b = (before or "").split(), (after or "").split()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("equal", " ".join(a[i1:i2])))
        if op in ("delete", "replace"):
            out.append(("delete", " ".join(a[i1:i2])))
        if op in ("insert", "replace"):
            out.append(("insert", " ".join(b[j1:j2])))
    return out


# ---------------------------------------------------------------- scalar aggregates
def prob_from_nll(nll_mean: float) -> float:
    """Length-normalised answer probability ``Prob = exp(-L)`` (TOFU "Probability")."""
    return math.exp(-nll_mean)


def truth_ratio(paraphrase_nll: float, perturbed_nlls: Sequence[float]) -> float:
    """TOFU truth ratio ``TR = exp(-mean_j L_j) / exp(-L_para) = exp(L_para - mean_j L_j)``.

    L are mean per-token NLLs; the mean over perturbed answers is taken in log space (geometric
    mean of their probabilities), as open-unlearning does. TR < 1: the model prefers the true
    (paraphrased) answer. Raises ValueError without perturbed answers.
    """
    pert = _clean(perturbed_nlls)
    if not pert:
        raise ValueError("truth_ratio needs at least one perturbed answer")
    d = paraphrase_nll - sum(pert) / len(pert)
    return math.inf if d > 709.0 else math.exp(d)


def truth_ratio_forget_score(trs: Iterable[float]) -> float:
    """Forget-side aggregate ``mean min(TR, 1/TR)`` ("closer to 1 is better"): 1 means the model
    can no longer tell true from false answers. NaN when no valid TR."""
    v = _clean(trs)
    return sum(t if t <= 1.0 else 1.0 / t for t in v) / len(v) if v else math.nan


def truth_ratio_retain_score(trs: Iterable[float]) -> float:
    """Retain-side aggregate ``mean max(0, 1 - TR)`` ("true better"). NaN when no valid TR."""
    v = _clean(trs)
    return sum(max(0.0, 1.0 - t) for t in v) / len(v) if v else math.nan


def option_normalised_prob(correct_nll: float, perturbed_nlls: Sequence[float]) -> float:
    """``P(c) / (P(c) + sum_j P(p_j))`` with ``P = exp(-L)`` (TOFU world-facts / real-authors).

    Computed as a softmax over ``-L`` (log-sum-exp) so tiny probabilities do not underflow.
    """
    logits = [-correct_nll] + [-x for x in _clean(perturbed_nlls)]
    m = max(logits)
    return math.exp(logits[0] - m) / sum(math.exp(x - m) for x in logits)


def harmonic_mean(values: Sequence[float]) -> float:
    """Harmonic mean (TOFU "model utility"): 0 if any value <= 0, so one collapsed metric sinks
    the whole utility. None/NaN entries are ignored; NaN when nothing is left."""
    v = _clean(values)
    if not v:
        return math.nan
    if any(x <= 0 for x in v):
        return 0.0
    return len(v) / sum(1.0 / x for x in v)


def summarize(values: Iterable[float] | None) -> dict:
    """``{"mean", "min", "max", "n"}`` over valid values (None/NaN skipped); None stats if n=0."""
    v = _clean(values)
    if not v:
        return {"mean": None, "min": None, "max": None, "n": 0}
    return {"mean": sum(v) / len(v), "min": min(v), "max": max(v), "n": len(v)}


# ---------------------------------------------------------------- membership / distributions
def roc_auc(pos_scores: Iterable[float], neg_scores: Iterable[float]) -> float:
    """ROC AUC = P(pos > neg) + 0.5 P(pos == neg), the Mann-Whitney U statistic / (n_pos n_neg).

    O(n log n) via searchsorted; NaN/None dropped; NaN if either side is empty.
    """
    pos, neg = np.asarray(_clean(pos_scores)), np.sort(np.asarray(_clean(neg_scores)))
    if not len(pos) or not len(neg):
        return math.nan
    below = np.searchsorted(neg, pos, side="left")
    ties = np.searchsorted(neg, pos, side="right") - below
    return float((below.sum() + 0.5 * ties.sum()) / (len(pos) * len(neg)))


def auc_forget_vs_holdout(forget_scores: Iterable[float], holdout_scores: Iterable[float]) -> float:
    """Membership AUC for scores where LARGER = LESS likely a member (Min-K%++ as returned by
    :func:`min_k_plus_plus`, or a plain NLL), oriented so that 1.0 means forget items are
    perfectly recognisable as training members and 0.5 means indistinguishable from never-seen
    holdout data. Implemented as AUC with holdout as the positive (higher-score) class."""
    return roc_auc(holdout_scores, forget_scores)


def _kolmogorov_sf(lam: float) -> float:
    """Limiting Kolmogorov tail Q(lam) = 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 lam^2); below 1.18 the
    series converges slowly, so use the equivalent theta form
    1 - sqrt(2 pi)/lam sum_{j>=1} exp(-(2j-1)^2 pi^2 / (8 lam^2))."""
    if lam <= 0:
        return 1.0
    if lam < 1.18:
        s = sum(math.exp(-((2 * j - 1) ** 2) * math.pi**2 / (8 * lam * lam)) for j in range(1, 6))
        return min(1.0, max(0.0, 1.0 - math.sqrt(2 * math.pi) / lam * s))
    s = sum((-1) ** (j - 1) * math.exp(-2 * j * j * lam * lam) for j in range(1, 101))
    return min(1.0, max(0.0, 2.0 * s))


def _ks_exact(n1: int, n2: int, h: int) -> float:
    """P(D >= h/lcm(n1, n2)) under H0 (no ties): the share of the C(n1+n2, n1) monotone lattice
    paths (0,0)->(n1,n2) that touch a cell with |i n2 - j n1| >= h gcd (Hodges 1958).

    Equal sizes: reflection principle, 2 sum_k (-1)^(k-1) C(2n, n-kh)/C(2n, n). Otherwise a DP on
    log W(i, j) = log #paths to (i, j) that have touched the outside: W = C(i+j, i) on outside
    cells, W(i, j) = W(i-1, j) + W(i, j-1) inside; a row's inside cells are one contiguous run,
    so a row is a log-cumsum of the previous row (vectorised, no overflow). Like scipy's exact
    mode, the tail is computed directly (not as 1 - inside), so tiny p-values keep their digits.
    """
    if n1 == n2:
        terms = [math.exp(2 * math.lgamma(n1 + 1) - math.lgamma(n1 - k * h + 1)
                          - math.lgamma(n1 + k * h + 1)) for k in range(1, n1 // h + 1)]
        return min(1.0, max(0.0, 2.0 * sum((-1) ** k * t for k, t in enumerate(terms))))
    if n1 > n2:
        n1, n2 = n2, n1  # symmetric; fewer Python-level rows
    hg = h * math.gcd(n1, n2)
    lf = np.array([math.lgamma(k + 1) for k in range(n1 + n2 + 1)])  # log k!
    cols = np.arange(n2 + 1)
    prev = np.full(n2 + 1, -np.inf)
    for i in range(n1 + 1):
        row = lf[i + cols] - lf[i] - lf[cols]  # log C(i+j, i): every path to an outside cell
        lo = max(0, (i * n2 - hg) // n1 + 1)
        hi = min(n2, -((-(i * n2 + hg)) // n1) - 1)
        if lo <= hi:
            left = row[lo - 1] if lo > 0 else -np.inf
            row[lo:hi + 1] = np.logaddexp(left, np.logaddexp.accumulate(prev[lo:hi + 1]))
        prev = row
    lp = prev[n2] - (lf[n1 + n2] - lf[n1] - lf[n2])
    return min(1.0, max(0.0, math.exp(lp)))


def ks_test_pvalue(a: Iterable[float], b: Iterable[float]) -> float:
    """Two-sided two-sample Kolmogorov-Smirnov p-value (TOFU "forget quality": forget-set truth
    ratios of the unlearned model vs a retain-only oracle; higher = closer to the oracle).

    D = max |F_a - F_b| is computed exactly in integers. The p-value is EXACT (lattice-path count,
    as scipy.stats.ks_2samp(method="exact")) when max(n) <= 10000, else the asymptotic Kolmogorov
    distribution with Stephens' small-sample correction lam = (sqrt(en) + 0.12 + 0.11/sqrt(en)) D,
    en = n1 n2/(n1+n2). Ties are handled as scipy does (no exact correction). None/NaN dropped;
    ValueError if a side is empty. The floor depends on n: never compare across set sizes.
    """
    x, y = np.sort(np.asarray(_clean(a))), np.sort(np.asarray(_clean(b)))
    n1, n2 = len(x), len(y)
    if not n1 or not n2:
        raise ValueError("ks_test_pvalue needs two non-empty samples")
    pts = np.concatenate([x, y])
    c1 = np.searchsorted(x, pts, side="right").astype(np.int64)
    c2 = np.searchsorted(y, pts, side="right").astype(np.int64)
    num = int(np.abs(c1 * n2 - c2 * n1).max())  # D = num / (n1 n2)
    if num == 0:
        return 1.0
    if max(n1, n2) <= KS_EXACT_MAX_N:
        return _ks_exact(n1, n2, num // math.gcd(n1, n2))
    en = n1 * n2 / (n1 + n2)
    return _kolmogorov_sf((math.sqrt(en) + 0.12 + 0.11 / math.sqrt(en)) * num / (n1 * n2))


# ---------------------------------------------------------------- tensor helpers
def min_k_plus_plus(logits: torch.Tensor, labels: torch.Tensor, k: float = 0.4) -> float:
    """Min-K%++ membership score (Zhang et al. 2024, arXiv 2404.02936).

    ``logits`` [T, V] are already aligned (``logits[t]`` predicts ``labels[t]``); positions with
    label -100 are dropped. Per position, over the full next-token distribution p:
    ``z_t = (log p(y_t) - mu_t) / sigma_t``, ``mu_t = sum_z p(z) log p(z)``,
    ``sigma_t^2 = sum_z p(z) (log p(z))^2 - mu_t^2`` (computed as ``sum p (log p - mu)^2``, the
    same quantity without cancellation; sigma floored at 1e-4 so flat/one-hot rows stay finite).
    ``score = -mean`` of the lowest ``ceil(k T)`` (at least 1) z values. Members have
    high z, hence LARGER score = LESS likely a member (see :func:`auc_forget_vs_holdout`).
    Float32 throughout; NaN when there are no answer tokens.
    """
    keep = labels != IGNORE
    lp = logits[keep].float().log_softmax(-1)
    y = labels[keep].long()
    if y.numel() == 0:
        return math.nan
    p = lp.exp()
    lpf = lp.masked_fill(~torch.isfinite(lp), 0.0)  # p = 0 there; avoids 0 * -inf = NaN
    mu = (p * lpf).sum(-1)
    sigma = (p * (lpf - mu[:, None]) ** 2).sum(-1).clamp_min(0).sqrt().clamp_min(1e-4)
    z = (lp.gather(-1, y[:, None]).squeeze(-1) - mu) / sigma
    n = max(1, math.ceil(k * len(z)))
    return float(-torch.sort(z).values[:n].mean())


def _answer_logprobs(logits: torch.Tensor, labels: torch.Tensor):
    """Shift (logits[..., :-1] predicts labels[..., 1:]), keep only answer positions, then
    log_softmax on that [N, V] slice in float32 (never on the full [B, L, V] tensor)."""
    lg, lb = logits[..., :-1, :], labels[..., 1:]
    mask = lb != IGNORE
    return _selected_logprobs(lg[mask], mask, lb)


def _selected_logprobs(sel: torch.Tensor, mask: torch.Tensor, shifted_labels: torch.Tensor):
    sel = sel.float()
    tgt = shifted_labels[mask].long()
    tok_lp = sel.log_softmax(-1).gather(-1, tgt[:, None]).squeeze(-1)
    return mask, tok_lp, sel.argmax(-1) == tgt


def token_stats(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-example teacher-forced statistics from one forward pass.

    ``logits`` [B, L, V] unshifted model output, ``labels`` [B, L] with -100 on prompt/padding.
    Returns [B] tensors: ``sum_logprob`` (0 for rows without answer tokens), ``n_tokens``
    (int64), ``mean_logprob`` and ``nll_mean`` (L_i), ``em`` (exact memorisation: fraction of
    answer positions where argmax == label, EVALUATION.md). Means are NaN for 0-token rows.
    """
    return _row_stats(*_answer_logprobs(logits, labels), labels.shape[0])


def token_stats_selected(sel_logits: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """:func:`token_stats` from logits computed only at the answer positions: ``sel_logits`` [N, V]
    are the rows of the shifted logits where ``labels[:, 1:] != -100``, in row-major order (what
    ``logits[:, :-1][mask]`` gives). Same numbers, without the vocabulary projection elsewhere."""
    lb = labels[..., 1:]
    mask = lb != IGNORE
    return _row_stats(*_selected_logprobs(sel_logits, mask, lb), labels.shape[0])


def _row_stats(mask, tok_lp, hit, n_rows: int) -> dict[str, torch.Tensor]:
    rows = mask.nonzero(as_tuple=True)[0]
    zeros = torch.zeros(n_rows, dtype=torch.float32, device=tok_lp.device)
    total = zeros.index_add(0, rows, tok_lp)
    hits = zeros.index_add(0, rows, hit.float())
    n = mask.sum(-1)
    denom = n.clamp_min(1).float()
    nan = torch.full_like(total, math.nan)
    mean = torch.where(n > 0, total / denom, nan)
    return {"sum_logprob": total, "n_tokens": n, "mean_logprob": mean,
            "nll_mean": -mean, "em": torch.where(n > 0, hits / denom, nan)}


def per_token_probs(logits: torch.Tensor, labels: torch.Tensor) -> list[float]:
    """Probability of each answer label token for one example (``logits`` [L, V], ``labels``
    [L], shifted as in :func:`token_stats`), for the token view's colouring."""
    _, tok_lp, _ = _answer_logprobs(logits, labels)
    return tok_lp.exp().tolist()
