"""The run folder: ``config.json``, ``metrics.jsonl``, ``summary.json`` (+ ``model/`` or
``adapter/``). Written by the headless run as it goes and by the GUI on save; read back by the
GUI's run browser without loading a model."""
from __future__ import annotations

import json
from pathlib import Path

from ..common.storage import atomic_write_text, dumps


class RunLog:
    """Rows of ``metrics.jsonl``: one per logged step, live probe numbers merged into the row of
    the step they were measured at. With ``out_dir`` the rows are also appended to the file as the
    run goes (flushed per row, so a crash leaves every finished step on disk)."""

    def __init__(self, out_dir: str | None, config: dict):
        self.rows: list[dict] = []
        self.alarms: list[dict] = []  # core.train.watch alarms; also appended to alarms.jsonl as they come
        self._out = Path(out_dir) if out_dir else None
        self.config = config
        self._pending: dict | None = None
        self._fh = None
        if out_dir:
            out = Path(out_dir)
            out.mkdir(parents=True, exist_ok=True)
            atomic_write_text(out / "config.json", dumps(config, indent=2), backup=False)
            self._fh = open(out / "metrics.jsonl", "w", encoding="utf-8")

    def _flush(self) -> None:
        if self._pending is not None:
            self.rows.append(self._pending)
            if self._fh:
                self._fh.write(dumps(self._pending) + "\n")
                self._fh.flush()
            self._pending = None

    def step(self, ev) -> None:
        self._flush()
        self._pending = ev.to_row()

    def eval(self, ev) -> None:
        row = {k: v for k, v in ev.to_row().items() if k != "step"}
        if self._pending is not None and self._pending["step"] == ev.step:
            self._pending.update(row)
        else:
            self._flush()
            self._pending = {"step": ev.step, **row}
        self._flush()

    def alarm(self, ev) -> None:
        self.alarms.append(ev.to_row())
        if self._out is not None:
            with open(self._out / "alarms.jsonl", "a", encoding="utf-8") as f:
                f.write(dumps(ev.to_row()) + "\n")

    def close(self) -> None:
        self._flush()
        if self._fh:
            self._fh.close()
            self._fh = None


def write_run_folder(out: str | Path, config: dict, rows: list[dict], summary: dict) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "config.json", dumps(config, indent=2), backup=False)
    atomic_write_text(out / "metrics.jsonl", "".join(dumps(r) + "\n" for r in rows), backup=False)
    atomic_write_text(out / "summary.json", dumps(summary, indent=2), backup=False)
    return out


def folder_problem(path: str, allow_run_folder: bool) -> str | None:
    """Why ``path`` cannot take a new run folder or model, or None: a file, or a folder that already
    holds files (a run folder is accepted where ``allow_run_folder``, to be replaced whole)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        return f"{p} is a file; choose a new folder name"
    if p.is_dir() and any(p.iterdir()):
        if allow_run_folder and (p / "config.json").is_file() and (p / "summary.json").is_file():
            return None
        return f"{p} already holds files; choose a new or empty folder so nothing is overwritten"
    return None


class RunFolderError(ValueError):
    pass


def _optional_json(path: Path):
    """An optional file of the run folder; None when missing or unreadable (old or partial runs)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, ValueError):
        return None


def load_run_folder(path: str | Path) -> dict:
    """Read a run folder back: {"config", "metrics" (rows), "summary", "path", "model_dir",
    "scorecard" (scorecard.json or None), "tokenview" (tokenview.json rows, [] if none),
    "alarms" (summary's, else alarms.jsonl's rows)}."""
    p = Path(path)
    out = {"path": str(p)}
    for name, key in (("config.json", "config"), ("summary.json", "summary")):
        f = p / name
        if not f.is_file():
            raise RunFolderError(f"{p} is not a run folder: {name} is missing")
        try:
            out[key] = json.loads(f.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RunFolderError(f"{f}: not valid JSON ({e})") from None
    rows = []
    mf = p / "metrics.jsonl"
    if mf.is_file():
        for i, line in enumerate(mf.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise RunFolderError(f"{mf}, line {i}: not valid JSON ({e.msg})") from None
    out["metrics"] = rows
    out["model_dir"] = next((str(p / d) for d in ("adapter", "model") if (p / d).is_dir()), None)
    out["scorecard"] = _optional_json(p / "scorecard.json")
    tv = _optional_json(p / "tokenview.json")
    out["tokenview"] = tv if isinstance(tv, list) else []
    alarms = out["summary"].get("alarms") if isinstance(out["summary"], dict) else None
    if alarms is None and (p / "alarms.jsonl").is_file():
        try:
            alarms = [json.loads(x) for x in (p / "alarms.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
        except (OSError, ValueError):
            alarms = None
    out["alarms"] = alarms or []
    return out
