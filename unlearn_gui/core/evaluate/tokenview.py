"""Token view: how much probability the model puts on each token of the reference answer.

Teacher forcing (one forward pass over prompt + reference answer, labels -100 on the prompt, as in
data.Tokenizing) and :func:`metrics.per_token_probs`. Successful unlearning shows up as the
*content* tokens of a forget answer ("Hogwarts", "Rowling") turning from green to red while the
function words stay green; a collapse shows everything turning red.

``tokenview.json`` (written by :func:`write_tokenview`, read by the report) is a JSON list of
``{"prompt": str, "reference": str, "before": [[token, p], ...], "after": [[token, p], ...]}``.
"""
from __future__ import annotations

import html
from pathlib import Path

import torch

from ..common.records import IGNORE

# Five colour steps, red (p < 0.2) to green (p >= 0.8); light tints keep black text readable.
# Hex colours with inline styles, so the HTML renders the same in a browser and in Qt rich text.
STEPS = ((0.2, "#f8b4b4"), (0.4, "#fbd0a6"), (0.6, "#fdf0a6"), (0.8, "#d4f0a8"), (1.01, "#a8e6b4"))
SHOW = {"\n": "↵", "\t": "⇥"}


def colour(p: float) -> str:
    """Background colour of a token with probability ``p``."""
    return next(c for hi, c in STEPS if p < hi) if p == p else "#e5e7eb"  # NaN -> grey


def readable_pieces(tokenizer, ids: list[int]) -> list[str]:
    """Each token's text as it adds to the decoded answer (so "Ġworld" shows as " world").

    Decoding the growing prefix and taking the new suffix keeps multi-byte characters whole: a
    token holding only the first bytes of a character gets "" and the token that completes it
    gets the whole character, so the pieces always join to the decoded answer.
    """
    out, prev = [], ""
    for i in range(len(ids)):
        cur = tokenizer.decode(ids[: i + 1], skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if cur.endswith("\ufffd") or not cur.startswith(prev):
            out.append("")  # incomplete character: wait for the token that finishes it
            continue
        out.append(cur[len(prev):])
        prev = cur
    return out


def token_probabilities(session, record, *, original: bool) -> list[tuple[str, float]]:
    """``[(token text, p(token | prompt, earlier answer tokens)), ...]`` for ``record.answer``
    under the original model (LoRA adapters disabled, or the kept reference copy) or the current
    one. Raises ValueError when no answer token survives tokenisation."""
    out = token_probabilities_many(session, [record], original=original)[0]
    if out is None:
        raise ValueError("the reference answer has no tokens")
    return out


@torch.no_grad()
def token_probabilities_many(session, records, *, original: bool, batch_size: int = 8) -> list:
    """:func:`token_probabilities` for several records (None where no answer token survives),
    right-padded into batches: one forward per ``batch_size`` items instead of one per item
    (16 demo items on the built-in model, one CPU thread: 7.2 s one by one)."""
    from . import metrics
    from ..data.tokenize import collate

    exs = [session.tkz.example(r) for r in records]
    out: list = [None] * len(records)
    todo = [i for i, e in enumerate(exs) if e is not None]
    with session.model_for(original) as model:
        was_training = model.training
        model.eval()
        try:
            dev = next(model.parameters()).device
            for k in range(0, len(todo), batch_size):
                idx = todo[k:k + batch_size]
                b = collate([exs[i] for i in idx], session.tokenizer.pad_token_id)
                logits = model(input_ids=b["input_ids"].to(dev), attention_mask=b["attention_mask"].to(dev)).logits
                for j, i in enumerate(idx):  # right padding: an item's logits are unaffected by the pads
                    n = len(exs[i].input_ids)
                    labels = torch.tensor(exs[i].labels, device=logits.device)
                    probs = metrics.per_token_probs(logits[j, :n], labels)
                    answer_ids = [t for t in exs[i].labels[1:] if t != IGNORE]  # same shift as per_token_probs
                    out[i] = list(zip(readable_pieces(session.tokenizer, answer_ids), probs, strict=True))
        finally:
            if was_training:
                model.train()
    return out


def rows(session, records, *, before: list | None = None) -> list[dict]:
    """tokenview.json rows for ``records``: ``before`` from the original model unless given
    (full fine-tuning without a kept copy must compute it before training and pass it here).
    Records without answer tokens are left out."""
    before = before if before is not None else token_probabilities_many(session, records, original=True)
    after = token_probabilities_many(session, records, original=False)
    return [{"prompt": r.prompt, "reference": r.answer,
             "before": [[t, float(p)] for t, p in b], "after": [[t, float(p)] for t, p in a]}
            for r, b, a in zip(records, before, after) if b is not None and a is not None]


def write_tokenview(run_dir, data: list[dict]) -> Path:
    """Write ``run_dir/tokenview.json`` atomically (schema in the module docstring)."""
    from ..common.storage import atomic_write_text, dumps

    path = Path(run_dir) / "tokenview.json"
    atomic_write_text(path, dumps(data, indent=1) + "\n", backup=False)
    return path


def legend_html() -> str:
    lo = 0.0
    cells = []
    for hi, c in STEPS:
        label = f"{lo:.1f}–{min(hi, 1.0):.1f}"
        cells.append(f'<span style="background:{c};padding:1px 6px;border-radius:3px;margin-right:4px">{label}</span>')
        lo = hi
    return ('<div class="tv-legend" style="font-size:12px;color:#4b5563;margin:4px 0">'
            'Probability of each reference token: ' + "".join(cells) + "</div>")


def to_html(pairs, *, legend: bool = True) -> str:
    """Tokens as inline-styled spans coloured by probability (hover shows p), plus a legend."""
    spans = []
    for tok, p in pairs:
        p = float(p)
        text = "".join(SHOW.get(ch, ch) for ch in str(tok)) or "·"  # "" = part of a multi-byte character
        spans.append(f'<span title="p = {p:.3g}" style="background:{colour(p)};padding:1px 0;'
                     f'border-radius:2px;white-space:pre-wrap">{html.escape(text)}</span>')
    body = '<div class="tv" style="line-height:1.9;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,' \
           f'\'Liberation Mono\',monospace;font-size:13px">{"".join(spans)}</div>'
    return (legend_html() + body) if legend else body
