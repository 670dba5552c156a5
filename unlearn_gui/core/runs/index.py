"""Finding finished run folders and their headline numbers, without loading a model.

The GUI's runs browser lists what :func:`find_run_folders` finds under a root folder (plus the
recent runs it remembers) as :func:`overview` rows; both read only ``summary.json`` and
``scorecard.json``, never ``metrics.jsonl`` or weights, so a folder of many runs lists quickly.
:func:`scorecard_pair` gives the before/after scorecard of a loaded run (``scorecard.json``, else
the partial one rebuilt from ``summary.json``) for the side-by-side comparison.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..evaluate import verdict as st

SKIP = {"adapter", "model", "__pycache__", ".git"}


def is_run_folder(p: Path) -> bool:
    return (p / "config.json").is_file() and (p / "summary.json").is_file()


def find_run_folders(root: str | Path, depth: int = 2) -> list[Path]:
    """Run folders at ``root`` and up to ``depth`` levels below it (a run's own subfolders skipped)."""
    root = Path(root).expanduser()
    out: list[Path] = []

    def walk(p: Path, level: int) -> None:
        if is_run_folder(p):
            out.append(p)
            return
        if level >= depth:
            return
        try:
            children = sorted(c for c in p.iterdir()
                              if c.is_dir() and c.name not in SKIP and not c.name.startswith("."))
        except OSError:
            return
        for c in children:
            walk(c, level + 1)

    if root.is_dir():
        walk(root, 0)
    return out


def _read(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def scorecard_pair(summary: dict, card: dict | None) -> tuple[dict, dict]:
    """(before, after) scorecards: ``scorecard.json``'s, else rebuilt from the summary's numbers."""
    if isinstance(card, dict) and isinstance(card.get("before"), dict) and isinstance(card.get("after"), dict):
        return card["before"], card["after"]
    from ..evaluate.scorecard import from_summary

    return from_summary(summary or {}, "before"), from_summary(summary or {}, "after")


HEADLINE_KEYS = ("forget.prob", "retain.prob", "forget.hit_rate", "model_utility")


def overview(path: str | Path) -> dict | None:
    """One row of the runs list, or None when ``path`` is not a readable run folder."""
    p = Path(path)
    summary = _read(p / "summary.json")
    if not isinstance(summary, dict) or not (p / "config.json").is_file():
        return None
    before, after = scorecard_pair(summary, _read(p / "scorecard.json"))
    try:
        mtime = os.path.getmtime(p / "summary.json")
    except OSError:
        mtime = 0.0
    steps, planned = summary.get("steps"), summary.get("planned_steps")
    return {
        "path": str(p), "name": p.name, "method": summary.get("method", "?"), "model": summary.get("model") or "",
        "steps": steps, "planned_steps": planned, "status": summary.get("status", "?"), "mtime": mtime,
        "wall_s": summary.get("wall_s"), "alarms": len(summary.get("alarms") or []),
        "kept_step": ((summary.get("stop_rule") or {}).get("kept_step")),
        "headline": {k: (st.get(before, k), st.get(after, k)) for k in HEADLINE_KEYS},
    }


def overviews(paths) -> list[dict]:
    """Rows for ``paths`` (duplicates and unreadable folders dropped), in the given order."""
    seen, out = set(), []
    for path in paths:
        key = str(Path(path).expanduser().resolve())
        if key in seen:
            continue
        seen.add(key)
        row = overview(key)
        if row is not None:
            out.append(row)
    return out


def side_by_side(runs: list[tuple[str, dict, dict]]) -> list[dict]:
    """Scorecard rows for several runs: ``[{key, name, goal, fmt, values: [(before, after), ...],
    good: [bool | None, ...]}]`` over every headline number that any run has (``good`` as in the
    report: did this run move the number the right way); ``runs`` is ``[(name, before, after), ...]``."""
    goods = [{r["key"]: r["good"] for r in st.compare(b, a)} for _, b, a in runs]
    out = []
    for key, name, goal, fmt in st.HEADLINES:
        values = [(st.get(b, key), st.get(a, key)) for _, b, a in runs]
        if any(v is not None for pair in values for v in pair):
            out.append({"key": key, "name": name, "goal": goal, "fmt": fmt, "values": values,
                        "good": [g.get(key) for g in goods]})
    return out
