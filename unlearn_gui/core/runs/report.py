"""Run folder -> one self-contained ``report.html`` (inline CSS and SVG; no scripts, fonts or links).

The report gathers what a reviewer needs to trust and reproduce a run: the goal, SHA-256 digests
of the model weights and data files (streamed, 1 MiB chunks), the resolved config and seed,
library versions, loss and probe curves from ``metrics.jsonl``, the before/after scorecard from
``scorecard.json`` (else the summary's numbers), the per-item table with changed words marked,
the token view from ``tokenview.json``, a plain-language verdict and the caveat that unlearning is
approximate. Reading a run folder never loads a model.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
from pathlib import Path

from ..evaluate import scorecard as sc
from . import html as T
from .charts import line_chart
from ..common.storage import dumps
from .folder import load_run_folder
from ..evaluate.verdict import CAVEAT
from ..common.storage import atomic_write_text
from ..evaluate.tokenview import to_html as tokens_html

LIBRARIES = ("torch", "transformers", "peft", "datasets", "unlearn-gui")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth")
_HASHES: dict[tuple, str] = {}  # (path, size, mtime_ns) -> digest; a GUI re-renders without re-reading


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, streamed so multi-GB weights never sit in memory (cached per size/mtime)."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            while block := f.read(chunk):
                h.update(block)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def sha256_json(obj) -> str:
    """SHA-256 of canonical JSON (sorted keys, no spaces, UTF-8) for data that only exists in memory."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries that decide the numbers (engine may store these in summary.json)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _weight_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)


def model_identity(model_path: str | None, run_dir: Path) -> list[tuple[str, str, str]]:
    """(what, file, sha256 or a reason) for the base weights named in config.json and for the
    adapter/model the run saved."""
    out: list[tuple[str, str, str]] = []
    files: list[tuple[str, Path]] = []
    try:
        if model_path is None:
            pass  # config.json names no model (e.g. a failed run): only the saved weights below
        elif model_path in ("", "default"):
            from ..model.models import builtin_gguf_path
            files.append(("base model (built-in GGUF)", builtin_gguf_path()))
        else:
            p = Path(model_path).expanduser()
            files += [("base model", f) for f in (_weight_files(p) if p.is_dir() else [p])]
    except Exception as e:  # noqa: BLE001 - a missing model must not stop the report
        out.append(("base model", str(model_path), f"not available: {e}"))
    for sub in ("adapter", "model"):
        if (run_dir / sub).is_dir():
            files += [(f"saved {sub}", f) for f in _weight_files(run_dir / sub)]
    for what, f in files:
        out.append((what, str(f), sha256_file(f) if f.is_file() else "file not found"))
    return out


def _find(path: str, run_dir: Path) -> Path | None:
    """A data path from config.json: as written (absolute, or relative to the working folder), else
    relative to the run folder's parent or the project root (the CLI is usually run from there)."""
    from ..common.paths import resources_dir

    p = Path(path).expanduser()
    for c in [p] if p.is_absolute() else [p, run_dir.parent / p, resources_dir().parent / p]:
        if c.is_file():
            return c
    return None


def data_identity(cfg: dict, summary: dict, run_dir: Path) -> list[tuple[str, str, str]]:
    """Files named in config.json hashed as stored; in-memory rows (the GUI's tables) are not in
    the run folder, so the canonical JSON of the compared prompts/references stands in for them."""
    out = []
    data = cfg.get("data") or {}
    for name in ("forget", "retain", "probes"):
        rows, path = data.get(f"{name[:-1] if name == 'probes' else name}_rows"), data.get(name)
        if rows:
            out.append((name, str(rows), "in memory: see the compared-items digest"))
        elif path:
            p = _find(path, run_dir)
            out.append((name, str(path), sha256_file(p) if p else "file not found when the report was written"))
    gens = [{k: g.get(k) for k in ("prompt", "reference", "split", "source", "keys")} for g in summary.get("generations") or []]
    if gens:
        out.append(("compared items", f"{len(gens)} prompts + references",
                    "canonical JSON " + sha256_json(gens)))
    return out


def write_scorecard(run_dir, before: dict, after: dict) -> Path:
    """RUN_DIR/scorecard.json, atomically: {schema, before, after, headline, verdict, tolerance}."""
    from ..evaluate.verdict import FORGET_MIN_DROP, RETAIN_TOLERANCE

    path = Path(run_dir) / "scorecard.json"
    obj = {"schema": 1, "tolerance": {"retain_abs": RETAIN_TOLERANCE, "forget_min_drop": FORGET_MIN_DROP},
           "before": before, "after": after, "headline": sc.compare(before, after), "verdict": sc.verdict(before, after)}
    atomic_write_text(path, dumps(obj, indent=2) + "\n", backup=False)
    return path


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _curves(rows: list[dict]) -> str:
    def series(key):
        return [(r["step"], r.get(key)) for r in rows if key in r and "step" in r]

    loss = {"total": series("loss"), "forget term": series("forget_loss"), "retain term": series("retain_loss")}
    probe = {"forget": series("forget_logprob"), "retain": series("retain_logprob")}
    charts = [line_chart({k: v for k, v in loss.items() if v}, title="Training loss", y_label="loss"),
              line_chart({k: v for k, v in probe.items() if v}, title="Probe answer log-prob (mean per token)",
                         y_label="log-prob")]
    note = ('<p class="muted small">Loss parts as logged each step (forget term, retain term, total = γ·forget + '
            "α·retain). Probe curves: mean per-token log-probability of the frozen probe answers; forget should fall, "
            "retain should stay flat.</p>")
    return f'<div class="charts">{"".join(charts)}</div>{note}'


def _token_section(tv) -> str:
    if not isinstance(tv, list) or not tv:
        return ""
    parts = []
    for i, item in enumerate(tv):
        if not isinstance(item, dict):
            continue
        parts.append(f'<div class="tvrow"><div><b>{T.esc(str(item.get("prompt", "")))}</b></div>'
                     f'<div class="lbl">before</div>{tokens_html(item.get("before") or [], legend=False)}'
                     f'<div class="lbl">after</div>{tokens_html(item.get("after") or [], legend=False)}</div>')
    from ..evaluate.tokenview import legend_html
    return T.section("Token view: forget answers, token by token", legend_html() + "".join(parts), sid="tokens")


def write_report(run_dir) -> Path:
    """Write RUN_DIR/report.html and return its path. Raises runs.RunFolderError for a folder
    without config.json/summary.json."""
    run_dir = Path(run_dir)
    run = load_run_folder(run_dir)
    cfg, summary = run["config"] or {}, run["summary"] or {}
    card = _read_json(run_dir / "scorecard.json")
    if isinstance(card, dict) and "before" in card and "after" in card:
        before, after, source = card["before"], card["after"], "scorecard.json"
    else:
        before, after = sc.from_summary(summary, "before"), sc.from_summary(summary, "after")
        source = "summary.json (forget/retain numbers only)"
    rows = sc.compare(before, after)
    verdict = sc.verdict(before, after)
    method, model = summary.get("method") or (cfg.get("method") or {}).get("name", "?"), summary.get("model") or "?"
    m = cfg.get("method") or {}
    gens = summary.get("generations") or []
    n_f, n_r = (sum(g.get("source") == s for g in gens) for s in ("forget", "retain"))
    forget_name = Path(str((cfg.get("data") or {}).get("forget") or "in-memory rows")).name
    when = _dt.datetime.fromtimestamp((run_dir / "summary.json").stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    header = T.header_band(
        "Unlearning report", f"{run_dir.name} · {method} on {model}",
        [f"status: {summary.get('status', '?')}", f"steps {summary.get('steps', '?')}/{summary.get('planned_steps', '?')}",
         "LoRA" if m.get("lora", summary.get("lora")) else "full fine-tuning", f"seed {summary.get('seed', cfg.get('seed'))}",
         f"{summary.get('wall_s') or 0:.0f} s", f"finished {when}"])
    goal = (f"<p>Make <b>{T.esc(str(model))}</b> forget the {n_f} items of <b>{T.esc(forget_name)}</b> while keeping "
            f"the {n_r} retain items, with <b>{T.esc(str(method))}</b> ({'LoRA adapters' if m.get('lora') else 'full fine-tuning'}, "
            f"learning rate {m.get('lr')}, {m.get('steps')} steps, batch {m.get('batch_size')}).</p>")
    notes = [str(n) for n in summary.get("notes") or []] + _watch_notes(run["alarms"], summary.get("stop_rule"))
    if summary.get("error"):
        notes.insert(0, f"error: {summary['error']}")
    if notes:
        goal += "<h3>Notes from the run</h3><ul>" + "".join(f"<li>{T.esc(n)}</li>" for n in notes) + "</ul>"
    first = [r for r in rows if r["key"] in ("forget.hit_rate", "forget.prob", "retain.hit_rate", "retain.prob",
                                              "model_utility", "membership.auc", "forget_quality")]
    body = [
        T.section("Verdict", f'<p class="main">{T.esc(verdict.removesuffix(CAVEAT).rstrip())}</p>'
                  + (f'<div class="caveat"><b>Collapse alarms during the run ({len(run["alarms"])}).</b> See the notes '
                     'under Goal.</div>' if run["alarms"] else "")
                  + f'<div class="caveat"><b>Caveat.</b> {T.esc(CAVEAT)}</div>', cls="verdict"),
        T.section("Headline numbers", T.cards(first or rows) + f'<p class="muted small">Before = the original model, '
                  f"after = the unlearned model, same items and settings. Source: {T.esc(source)}. Green: moved the "
                  "right way (forget numbers down by at least 0.01; retain numbers within 0.05 of where they were).</p>"),
        T.section("Goal", goal),
        T.section("Curves", _curves(run["metrics"])),
        T.section("Scorecard", T.scorecard_table(rows) if rows else '<p class="muted">No numbers recorded.</p>'),
        T.section(f"Per-item comparison ({len(gens)} prompts)", '<p class="muted small">Greedy answers; words removed '
                  'from the "before" answer are <del>struck</del>, new words in "after" are <ins>marked</ins>. Hit = the '
                  "answer contains a keyword; green where that is what we want (forget: miss, retain: hit).</p>"
                  + T.items_table(gens), cls="long"),
        _token_section(_read_json(run_dir / "tokenview.json")),
        _identity(cfg, summary, run_dir),
    ]
    html_text = T.page(f"Unlearning report: {run_dir.name}", header, "\n".join(b for b in body if b)
                       + f'\n<footer>Written by unlearn_gui on {_dt.datetime.now():%Y-%m-%d %H:%M} from {T.esc(str(run_dir))}</footer>')
    out = run_dir / "report.html"
    atomic_write_text(out, html_text, backup=False)
    return out


def _watch_notes(alarms: list, rule) -> list[str]:
    """Lines on the collapse alarms and the stop rule (core.train.watch) for the notes."""
    out = [f"collapse alarm at step {a.get('step')}: {a.get('message')}" for a in alarms if isinstance(a, dict)]
    if isinstance(rule, dict):
        cond = f"forget Prob < {rule.get('forget_below')}" + (
            f" and retain Prob > {rule.get('retain_above')}" if rule.get("retain_above") is not None else "")
        if rule.get("met_at") is not None:
            out.append(f"stop rule ({cond}) met at step {rule['met_at']}: training stopped there")
        elif rule.get("kept_step") is not None:
            out.append(f"stop rule ({cond}) never met; kept step {rule['kept_step']}, the closest to it"
                       + (" (its weights were restored)" if rule.get("restored") else ""))
    return out


def _identity(cfg: dict, summary: dict, run_dir: Path) -> str:
    def table(rows):
        body = "".join(f"<tr><td>{T.esc(a)}</td><td>{T.esc(b)}</td><td><code class=\"hash\">{T.esc(c)}</code></td></tr>"
                       for a, b, c in rows)
        return f"<table><thead><tr><th>What</th><th>File</th><th>SHA-256</th></tr></thead><tbody>{body}</tbody></table>"

    versions = summary.get("versions")
    note = "recorded with the run" if isinstance(versions, dict) else "at the time this report was written"
    versions = versions if isinstance(versions, dict) else library_versions()
    inner = ("<h3>Model</h3>" + table(model_identity((cfg.get("model") or {}).get("path"), run_dir))
             + "<h3>Data</h3>" + table(data_identity(cfg, summary, run_dir))
             + f"<h3>Library versions <span class=\"muted small\">({note})</span></h3>"
             + T.kv([(k, str(v)) for k, v in versions.items()])
             + f"<h3>Resolved configuration (seed {T.esc(str(cfg.get('seed')))})</h3>" + T.pre_json(cfg))
    return T.section("Reproducibility: identities, versions, configuration", inner, sid="identity")
