"""HTML building blocks for the run report: one stylesheet, escaped helpers, cards and tables.

Everything is inline (no external fonts, scripts, images or links) so the file opens anywhere,
offline, and can be archived as one artefact. Every user string goes through ``esc``.
"""
from __future__ import annotations

import html
import json

from ..evaluate import metrics
from ..evaluate.verdict import fmt_value

CSS = """
:root{--ink:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f4f5f7;--card:#fff;--accent:#1e3a8a;
--good:#047857;--bad:#b91c1c;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,"Noto Sans",sans-serif;-webkit-font-smoothing:antialiased}
header.band{background:linear-gradient(135deg,#172554,#1e40af 60%,#2563eb);color:#fff;padding:28px 0 22px}
.wrap{max-width:1180px;margin:0 auto;padding:0 36px}
header h1{margin:0;font-size:26px;font-weight:650;letter-spacing:-.01em}
header .sub{opacity:.85;margin-top:2px}
.pills{display:flex;flex-wrap:wrap;gap:8px;margin-top:14px}
.pill{background:rgba(255,255,255,.14);border:1px solid rgba(255,255,255,.22);border-radius:999px;
padding:2px 11px;font-size:12.5px}
main.wrap{padding-top:22px;padding-bottom:40px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 22px;margin:0 0 18px;
box-shadow:0 1px 2px rgba(0,0,0,.03)}
h2{font-size:16px;margin:0 0 12px;letter-spacing:-.005em}
h3{font-size:13.5px;margin:14px 0 6px;color:#374151}
p{margin:6px 0}
.muted{color:var(--muted)}
.small{font-size:12.5px}
.verdict{border-left:4px solid var(--accent);background:#f5f7ff}
.verdict p.main{font-size:15px;line-height:1.6;margin:0}
.caveat{margin-top:12px;color:#7c2d12;background:#fff7ed;border:1px solid #fed7aa;border-radius:8px;padding:9px 13px;font-size:13px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(185px,1fr));gap:12px}
.card{border:1px solid var(--line);border-top:3px solid #9ca3af;border-radius:8px;padding:10px 13px 11px}
.card.good{border-top-color:var(--good)}.card.bad{border-top-color:var(--bad)}
.card .name{font-size:12px;color:var(--muted);min-height:32px}
.card .vals{font-size:21px;font-weight:650;font-variant-numeric:tabular-nums;white-space:nowrap}
.card .from{color:var(--muted);font-weight:500;font-size:15px}
.card .delta{font-size:12px;color:var(--muted)}
.good .arrow,.arrow.good{color:var(--good)}.bad .arrow,.arrow.bad{color:var(--bad)}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}
th{background:#f3f4f6;font-weight:600;font-size:12px;color:#374151;white-space:nowrap}
tbody tr:nth-child(even) td{background:#fafbfc}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.c{text-align:center}
.items td{max-width:260px;overflow-wrap:anywhere}
del{background:#fef2f2;color:#9f1239;text-decoration:line-through;text-decoration-color:rgba(159,18,57,.45);border-radius:2px}
ins{background:#dcfce7;color:#166534;text-decoration:none;border-radius:2px}
.tag{display:inline-block;padding:0 6px;border-radius:4px;font-size:11px;font-weight:600;white-space:nowrap}
.tag.good{background:#dcfce7;color:#166534}.tag.bad{background:#fee2e2;color:#991b1b}.tag.na{background:#f3f4f6;color:#6b7280}
.split{font-size:11px;font-weight:600;text-transform:uppercase;letter-spacing:.03em;color:#4b5563;white-space:nowrap}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:18px}
svg.chart{width:100%;height:auto;background:#fff;border:1px solid #f0f1f3;border-radius:6px}
svg .ct{font-size:13px;font-weight:600;fill:#111827}svg .cl{font-size:11px;fill:#6b7280}
svg .cx{font-size:11.5px;fill:#374151}svg .cg{stroke:#eef0f3}svg .ca{stroke:#9ca3af}svg .cn{font-size:13px;fill:#9ca3af}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:0}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;overflow-wrap:anywhere}
code,pre{font-family:var(--mono)}
code.hash{font-size:12px;background:#f3f4f6;border-radius:4px;padding:0 4px;overflow-wrap:anywhere}
pre{background:#f8fafc;border:1px solid var(--line);border-radius:6px;padding:10px 12px;font-size:12px;
max-height:420px;overflow:auto;margin:6px 0 0}
.tvrow{border-top:1px solid var(--line);padding:10px 0}
.tvrow .lbl{font-size:11px;font-weight:600;color:var(--muted);text-transform:uppercase;margin-top:4px}
footer{color:var(--muted);font-size:12px;text-align:center;padding:8px 0 28px}
@media print{body{background:#fff;font-size:12px}header.band{-webkit-print-color-adjust:exact;print-color-adjust:exact}
section{box-shadow:none;border-color:#d1d5db;break-inside:avoid}section.long{break-inside:auto}
tr{break-inside:avoid}pre{max-height:none}.wrap{max-width:none;padding:0 10px}}
"""

esc = html.escape


def page(title: str, header: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{header}\n"
            f'<main class="wrap">\n{body}\n</main>\n</body>\n</html>\n')


def section(title: str, inner: str, cls: str = "", sid: str = "") -> str:
    attrs = (f' class="{cls}"' if cls else "") + (f' id="{sid}"' if sid else "")
    return f"<section{attrs}>\n<h2>{esc(title)}</h2>\n{inner}\n</section>"


def header_band(title: str, subtitle: str, pills: list[str]) -> str:
    ps = "".join(f'<span class="pill">{esc(p)}</span>' for p in pills if p)
    return (f'<header class="band"><div class="wrap"><h1>{esc(title)}</h1>'
            f'<div class="sub">{esc(subtitle)}</div><div class="pills">{ps}</div></div></header>')


def _cls(good) -> str:
    return "" if good is None else ("good" if good else "bad")


def cards(rows: list[dict]) -> str:
    out = []
    for r in rows:
        d = r["delta"]
        delta = "" if d is None else (f"{100 * d:+.0f} pts" if r["fmt"] == "pct" else f"{d:+.3f}")
        out.append(f'<div class="card {_cls(r["good"])}"><div class="name">{esc(r["name"])}</div>'
                   f'<div class="vals"><span class="from">{fmt_value(r["before"], r["fmt"])}</span> '
                   f'<span class="arrow">{r["arrow"]}</span> {fmt_value(r["after"], r["fmt"])}</div>'
                   f'<div class="delta">{esc(delta)}{" · " + _goal_text(r["goal"]) if delta else ""}</div></div>')
    return f'<div class="cards">{"".join(out)}</div>'


def _goal_text(goal: str) -> str:
    return {"down": "lower is better", "up": "higher is better", "steady": "should hold steady",
            "half": "0.5 is best"}[goal]


def scorecard_table(rows: list[dict]) -> str:
    body = "".join(
        f'<tr><td>{esc(r["name"])}</td><td class="num">{fmt_value(r["before"], r["fmt"])}</td>'
        f'<td class="num">{fmt_value(r["after"], r["fmt"])}</td>'
        f'<td class="num"><span class="arrow {_cls(r["good"])}">{r["arrow"]}</span> '
        f'{"" if r["delta"] is None else format(r["delta"], "+.3f")}</td><td>{_goal_text(r["goal"])}</td></tr>'
        for r in rows)
    return ('<table><thead><tr><th>Measure</th><th class="num">Before</th><th class="num">After</th>'
            f'<th class="num">Change</th><th>Goal</th></tr></thead><tbody>{body}</tbody></table>')


def diff_pair(before: str | None, after: str | None) -> tuple[str, str]:
    """(before HTML with removed words struck, after HTML with new words highlighted)."""
    if before is None or after is None:
        return esc(before or "—"), esc(after or "—")
    b, a = [], []
    for op, text in metrics.changed_words(before, after):
        if op == "equal":
            b.append(esc(text))
            a.append(esc(text))
        elif op == "delete":
            b.append(f"<del>{esc(text)}</del>")
        else:
            a.append(f"<ins>{esc(text)}</ins>")
    return " ".join(b) or "<span class=\"muted\">(empty)</span>", " ".join(a) or "<span class=\"muted\">(empty)</span>"


def hit_tag(text: str | None, keys: str, split: str) -> str:
    """hit/miss of the keywords; coloured by what is wanted (a forget miss and a retain hit are good)."""
    if text is None or not any(k.strip() for k in (keys or "").split("|")):
        return '<span class="tag na">—</span>'
    hit = metrics.keyword_hit(text, keys)
    good = (not hit) if split == "forget" else (hit if split == "retain" else None)
    return f'<span class="tag {_cls(good) or "na"}">{"hit" if hit else "miss"}</span>'


def items_table(gens: list[dict]) -> str:
    rows = []
    for i, g in enumerate(gens, 1):
        b, a = diff_pair(g.get("before"), g.get("after"))
        split, keys = g.get("split") or "", g.get("keys") or ""
        probe = '<br><span class="small muted">probe</span>' if g.get("source") == "probe" else ""
        rows.append(f'<tr><td class="num">{i}</td><td><span class="split">{esc(split)}</span>{probe}</td>'
                    f'<td>{esc(g.get("prompt") or "")}</td><td>{esc(g.get("reference") or "")}</td>'
                    f"<td>{b}</td><td>{a}</td><td class=\"c\">{hit_tag(g.get('before'), keys, split)}</td>"
                    f"<td class=\"c\">{hit_tag(g.get('after'), keys, split)}</td></tr>")
    return ('<table class="items"><thead><tr><th class="num">#</th><th>Split</th><th>Prompt</th><th>Reference</th>'
            '<th>Before</th><th>After</th><th>Hit before</th><th>Hit after</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def kv(pairs: list[tuple[str, str]], raw: bool = False) -> str:
    """A definition list; values are escaped unless ``raw`` (then the caller escaped them)."""
    return '<dl class="kv">' + "".join(f"<dt>{esc(k)}</dt><dd>{v if raw else esc(v)}</dd>" for k, v in pairs) + "</dl>"


def pre_json(obj) -> str:
    return f"<pre>{esc(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False))}</pre>"
