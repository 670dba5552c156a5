"""Teacher-forced scoring of many examples with their shared prefixes computed once.

Scorecard examples share long prefixes: every chat prompt opens with the same template (and
system prompt), and a truth-ratio or multiple-choice item scores 3-5 answers after one question.
All token sequences of a chunk are inserted into a trie, and the trie runs as ONE sequence with a
4D attention mask in which each token sees exactly its ancestors, and position ids equal to the
depth. A path's causal attention is then identical to running that example alone, so every
example gets the same logits as an unpadded single forward pass, for ~4x fewer tokens here
(the prefix-sharing idea of tree attention: SpecInfer, Miao et al. 2023, arXiv 2305.09781;
Hydragen, Juravsky et al. 2024, arXiv 2402.05111).

The vocabulary projection runs only at positions that predict an answer token (``logits_to_keep``
with an index tensor). A model whose attention ignores custom 4D masks would give wrong numbers,
so :func:`works_with` checks packed against plain scores once and callers fall back otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from . import metrics
from ..common.records import IGNORE
from ..data.tokenize import Example

MAX_NODES = 512  # tokens per packed chunk: attention is O(N^2) over the chunk, keep it small


@dataclass
class Chunk:
    ids: torch.Tensor  # [1, N] token of each trie node
    pos: torch.Tensor  # [1, N] depth = position id
    visible: torch.Tensor  # [N, N] bool: row sees column (ancestors and itself)
    keep: torch.Tensor  # [K] nodes whose logits are needed
    example: np.ndarray  # [M] example index of each scored token
    row: torch.Tensor  # [M] row into the kept logits that predicts it
    target: torch.Tensor  # [M] the answer token


def _chunk(nodes: list[tuple[int, int, int]], scored: list[tuple[int, int, int]]) -> Chunk:
    """``nodes``: (token, parent, depth) in insertion order; ``scored``: (example, node, target)."""
    n = len(nodes)
    vis = np.zeros((n, n), dtype=bool)
    for i, (_, parent, _) in enumerate(nodes):  # parents come first, so their rows are complete
        if parent >= 0:
            vis[i] = vis[parent]
        vis[i, i] = True
    keep = sorted({node for _, node, _ in scored})
    where = {node: k for k, node in enumerate(keep)}
    return Chunk(ids=torch.tensor([[t for t, _, _ in nodes]]), pos=torch.tensor([[d for _, _, d in nodes]]),
                 visible=torch.from_numpy(vis), keep=torch.tensor(keep),
                 example=np.array([e for e, _, _ in scored], dtype=np.int64),
                 row=torch.tensor([where[node] for _, node, _ in scored]),
                 target=torch.tensor([t for _, _, t in scored]))


def pack(examples: list[Example], max_nodes: int = MAX_NODES) -> list[Chunk]:
    """Chunks of tries over ``examples``; sorted by tokens first so neighbours share prefixes."""
    order = sorted(range(len(examples)), key=lambda i: examples[i].input_ids)
    chunks: list[Chunk] = []
    nodes: list[tuple[int, int, int]] = []
    scored: list[tuple[int, int, int]] = []
    child: dict[tuple[int, int], int] = {}
    for i in order:
        ex = examples[i]
        new = len(ex.input_ids) - _shared(child, ex.input_ids)
        if nodes and len(nodes) + new > max_nodes:
            chunks.append(_chunk(nodes, scored))
            nodes, scored, child = [], [], {}
        path, parent = [], -1
        for depth, tok in enumerate(ex.input_ids):
            node = child.get((parent, tok))
            if node is None:
                node = child[(parent, tok)] = len(nodes)
                nodes.append((tok, parent, depth))
            path.append(node)
            parent = node
        scored += [(i, path[t - 1], lab) for t, lab in enumerate(ex.labels) if t > 0 and lab != IGNORE]
    if nodes:
        chunks.append(_chunk(nodes, scored))
    return chunks


def _shared(child: dict, ids) -> int:
    parent, k = -1, 0
    for tok in ids:
        parent = child.get((parent, tok))
        if parent is None:
            return k
        k += 1
    return k


def _logits(model, c: Chunk, dev, dtype) -> torch.Tensor:
    mask = torch.zeros(c.visible.shape, dtype=dtype, device=dev)
    mask.masked_fill_(~c.visible.to(dev), torch.finfo(dtype).min)  # additive: eager and SDPA both add it
    kw = dict(input_ids=c.ids.to(dev), attention_mask=mask[None, None], position_ids=c.pos.to(dev), use_cache=False)
    keep = c.keep.to(dev)
    try:
        return model(**kw, logits_to_keep=keep).logits[0]
    except TypeError:  # older signatures without logits_to_keep
        return model(**kw).logits[0, keep]


@torch.no_grad()
def score(model, chunks: list[Chunk], n: int, *, mink: bool = False, cancel=None) -> dict[str, np.ndarray]:
    """Per-example mean answer NLL (``L_i``), EM and optionally Min-K%++ (k = 0.4), as
    :func:`metrics.token_stats` / :func:`metrics.min_k_plus_plus` would give on each example alone."""
    tot, hits, cnt = np.zeros(n), np.zeros(n), np.zeros(n)
    mk = np.full(n, math.nan)
    p = next(model.parameters())
    for c in chunks:
        if cancel is not None:
            cancel.raise_if_cancelled()
        logits = _logits(model, c, p.device, p.dtype if p.dtype.is_floating_point else torch.float32)
        rows, tgt = c.row.to(logits.device), c.target.to(logits.device)
        lp = logits.float().log_softmax(-1)
        tok_lp = lp[rows, tgt].double().cpu().numpy()
        hit = (logits[rows].argmax(-1) == tgt).cpu().numpy()
        np.add.at(tot, c.example, tok_lp)
        np.add.at(hits, c.example, hit)
        np.add.at(cnt, c.example, 1)
        if mink:
            for e in np.unique(c.example):
                sel = torch.from_numpy(np.nonzero(c.example == e)[0]).to(logits.device)
                mk[e] = metrics.min_k_plus_plus(logits[rows[sel]], tgt[sel])
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"nll": np.where(cnt > 0, -tot / cnt, np.nan), "em": np.where(cnt > 0, hits / cnt, np.nan), "mink": mk}


def works_with(model, examples: list[Example]) -> bool:
    """True when packed scoring reproduces plain per-example scoring for this model (some
    attention implementations ignore custom 4D masks). Uses two examples sharing a prefix; the
    tolerance on mean NLL is 1e-4 in float32 (rounding differences are ~1e-6 there, while a
    leaking mask shifts even a random tiny model by ~1e-3) and 2e-2 in half precision."""
    from ..data.tokenize import collate

    sample = examples[:2]
    if not sample:
        return True
    try:
        packed = score(model, pack(sample), len(sample))["nll"]
        with torch.no_grad():
            plain = []
            for ex in sample:
                b = collate([ex], 0)
                dev = next(model.parameters()).device
                lg = model(input_ids=b["input_ids"].to(dev)).logits
                plain.append(float(metrics.token_stats(lg, b["labels"].to(dev))["nll_mean"][0]))
    except Exception:  # noqa: BLE001 - any failure means: do not pack for this model
        return False
    tol = 1e-4 if next(model.parameters()).dtype == torch.float32 else 2e-2
    return bool(np.allclose(packed, plain, atol=tol, rtol=0.0, equal_nan=True))
