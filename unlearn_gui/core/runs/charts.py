"""Small inline-SVG line charts for the HTML report (no plotting library, no JavaScript).

Axis ticks use the usual "nice numbers" rule (steps of 1, 2, 2.5 or 5 times a power of ten,
Heckbert 1990) so the labels read cleanly. Missing/non-finite values break the line.
"""
from __future__ import annotations

import html
import math

PALETTE = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2")


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (a flat range is widened first)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi - lo < 1e-12:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = mag * next(m for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks, k = [], 0
    while True:
        t = first + k * step
        ticks.append(round(t, 12))
        if t >= hi - 1e-12 * step:
            return ticks
        k += 1


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.1e}"
    return f"{v:.4g}"


def line_chart(series: dict[str, list[tuple[float, float | None]]], *, title: str, x_label: str = "step",
               y_label: str = "", width: int = 560, height: int = 280) -> str:
    """An ``<svg>`` element with one polyline (plus point markers) per series and a legend.

    ``series`` maps a name to ``[(x, y), ...]``; a None/NaN y splits the line. Returns a figure
    with a "no data" note when nothing is finite.
    """
    pts = {k: [(float(x), None if y is None or not math.isfinite(float(y)) else float(y)) for x, y in v]
           for k, v in series.items()}
    xs = [x for v in pts.values() for x, y in v if y is not None]
    ys = [y for v in pts.values() for _, y in v if y is not None]
    esc = html.escape
    head = (f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img" aria-label="{esc(title)}">')
    title_el = f'<text x="12" y="20" class="ct">{esc(title)}</text>'
    if not ys:
        return (head + title_el + f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="cn">'
                "no data recorded</text></svg>")
    left, right, top, bottom = 62, 16, 34, 58
    pw, ph = width - left - right, height - top - bottom
    yt = nice_ticks(min(ys), max(ys))
    x0, x1 = min(xs), max(xs)
    xt = nice_ticks(x0, x1, 6) if x1 > x0 else [x0]
    if x1 > x0:
        x0, x1 = min(x0, xt[0]), max(x1, xt[-1])
    y0, y1 = yt[0], yt[-1]
    sx = (lambda x: left + pw / 2) if x1 == x0 else (lambda x: left + (x - x0) / (x1 - x0) * pw)
    sy = lambda y: top + (1 - (y - y0) / (y1 - y0)) * ph  # noqa: E731
    parts = [head, title_el]
    for t in yt:
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" class="cg"/>'
                     f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end" class="cl">{_fmt(t)}</text>')
    for t in xt:
        if x0 <= t <= x1:
            parts.append(f'<text x="{sx(t):.1f}" y="{top + ph + 16}" text-anchor="middle" class="cl">{_fmt(t)}</text>')
    parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" class="ca"/>'
                 f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}" class="ca"/>')
    parts.append(f'<text x="{left + pw / 2}" y="{top + ph + 32}" text-anchor="middle" class="cx">{esc(x_label)}</text>')
    if y_label:
        parts.append(f'<text transform="translate(14 {top + ph / 2}) rotate(-90)" text-anchor="middle" '
                     f'class="cx">{esc(y_label)}</text>')
    lx = left
    for i, (name, v) in enumerate(pts.items()):
        c = PALETTE[i % len(PALETTE)]
        runs, cur = [], []
        for x, y in v:
            if y is None:
                runs, cur = (runs + [cur]) if cur else runs, []
            else:
                cur.append(f"{sx(x):.1f},{sy(y):.1f}")
        runs += [cur] if cur else []
        for r in runs:
            if len(r) > 1:
                parts.append(f'<polyline points="{" ".join(r)}" fill="none" stroke="{c}" stroke-width="2" '
                             'stroke-linejoin="round" stroke-linecap="round"/>')
        if len(v) <= 40:  # markers only while they stay readable
            parts += [f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.6" fill="{c}"/>' for r in runs for p in r]
        ly = height - 10
        parts.append(f'<rect x="{lx}" y="{ly - 8}" width="14" height="4" rx="1" fill="{c}"/>'
                     f'<text x="{lx + 19}" y="{ly - 3}" class="cl">{esc(name)}</text>')
        lx += 28 + 7 * len(name)
    parts.append("</svg>")
    return "".join(parts)
