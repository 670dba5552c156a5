"""Headless entry: ``unlearn-gui run`` drives the same engine as the GUI and writes the run folder."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from dataclasses import replace

RUN_HELP = """Run one unlearning job without a window and write DIR/config.json, DIR/metrics.jsonl,
DIR/summary.json and DIR/adapter/ (LoRA) or DIR/model/ (full fine-tuning).
Without --steps/--lr the method's preset decides. Exit 0 on completion, 1 on failure, 130 on Ctrl+C."""


def build_run_parser(sub) -> argparse.ArgumentParser:
    from .core.methods import REGISTRY

    p = sub.add_parser("run", help="run unlearning headless", description=RUN_HELP)
    p.add_argument("--model", default="default", help="'default' (built-in SmolLM2-135M-Instruct), a model folder or a .gguf file")
    p.add_argument("--forget", help="forget set: JSONL, JSON, CSV/TSV, Parquet, text or a saved datasets folder")
    p.add_argument("--retain", help="retain set (same formats)")
    p.add_argument("--probes", help="JSONL probe prompts (question/prompt, answer, split, keys); generated before and after, never trained on")
    p.add_argument("--method", default=None, choices=list(REGISTRY), help="unlearning method (default: dipo)")
    p.add_argument("--out", required=True, help="run folder to write")
    p.add_argument("--steps", type=int, help="optimizer steps (default: the method's preset)")
    p.add_argument("--lr", type=float, help="learning rate (default: the method's preset)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--lora", dest="lora", action="store_true", default=None, help="train LoRA adapters (default)")
    g.add_argument("--full", dest="lora", action="store_false", help="full fine-tuning")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="device (default auto)")
    p.add_argument("--config", help="JSON config file (as written to DIR/config.json); flags override it")
    p.add_argument("--no-scorecard", action="store_true",
                   help="skip the end-of-run scorecard (TOFU utility sets, truth ratio, Min-K%%++); saves ~20-40 s on a CPU")
    p.add_argument("--stop-forget-below", type=float, metavar="X",
                   help="stop rule: stop at the first live probe where forget Prob < X (and retain Prob > Y, "
                        "if given) and keep that step; if never met, keep the probe step closest to it")
    p.add_argument("--stop-retain-above", type=float, metavar="Y", help="stop rule: retain Prob must stay above Y")
    p.add_argument("--probe-every", type=int, metavar="N",
                   help="live probe (forget/retain answer log-prob) every N steps and at the last one; 0 = only the "
                        "step-0 probe (default 5)")
    p.add_argument("--probe-budget", type=float, metavar="F",
                   help="most of the training time the live probes may take, 0-1 (default 0.03); a due probe "
                        "waits until it fits; 0 = no cap")
    p.add_argument("--probe-samples-every", type=int, metavar="N",
                   help="print greedy answers of 2 forget + 2 retain probe prompts at every Nth live probe, with "
                        "the original model's as step 0 (default 2; 0 = off)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def build_report_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="write RUN_DIR/report.html from a run folder",
                       description="Write RUN_DIR/report.html: one self-contained HTML file (plots inline, no external "
                                   "resources) with the goal, model and data hashes, config, versions, curves, scorecard, "
                                   "per-item table and a plain-language verdict.")
    p.add_argument("run_dir", help="a run folder written by `unlearn-gui run` or saved from the app")
    return p


def cmd_report(a) -> int:
    from .core.runs.report import write_report
    from .core.runs.folder import RunFolderError, load_run_folder

    try:
        load_run_folder(a.run_dir)
        path = write_report(a.run_dir)
    except (RunFolderError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(path)
    return 0


class Printer:
    """Turns engine events into a one-line progress bar with ETA on stderr."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.t0 = time.perf_counter()

    def __call__(self, ev) -> None:
        from .core.common import events as E

        if self.quiet and not isinstance(ev, (E.LogMessage, E.Alarm)):
            return
        if isinstance(ev, E.LoadProgress):
            self._line(f"[{ev.stage}] {ev.message}")
        elif isinstance(ev, E.LogMessage):
            self._line(f"{ev.level}: {ev.message}")
        elif isinstance(ev, E.Alarm):
            self._line(f"warning: ALARM ({ev.kind}, step {ev.step}): {ev.message}")
        elif isinstance(ev, E.RunStarted):
            self._line(f"{ev.method} on {ev.model_name} ({'LoRA' if ev.lora else 'full'}, {ev.device}, {ev.dtype}): "
                       f"{ev.n_forget} forget, {ev.n_retain} retain, {ev.n_probes} probes, {ev.total_steps} steps")
        elif isinstance(ev, E.Samples) and ev.stage == "probe":
            for g in ev.rows:
                self._line(f"answer @ step {ev.step} [{g.split}] {_short(g.prompt, 48)} -> {_short(g.text, 64)}")
        elif isinstance(ev, E.Samples) and ev.stage != "rows":
            self._line(f"generated {len(ev.rows)} {ev.stage} answers")
        elif isinstance(ev, E.StepMetrics):
            rate = ev.step / ev.elapsed_s if ev.elapsed_s > 0 else 0.0
            eta = (ev.total_steps - ev.step) / rate if rate else 0.0
            n = 24
            fill = int(n * ev.step / ev.total_steps)
            sys.stderr.write(f"\r[{'#' * fill}{'.' * (n - fill)}] {ev.step}/{ev.total_steps} loss {ev.loss:.4f} "
                             f"(forget {ev.forget_loss:.4f}, retain {ev.retain_loss:.4f}) {rate:.2f} step/s ETA {eta:.0f}s ")
            if ev.step == ev.total_steps:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif isinstance(ev, E.EvalResult):
            self._line(f"probe @ step {ev.step}: forget Prob {ev.forget_prob:.3f}, retain Prob {ev.retain_prob:.3f}")

    def _line(self, text: str) -> None:
        sys.stderr.write(f"\r{text}\n")
        sys.stderr.flush()


def make_config(a):
    from .core import config as C

    base = C.load_file(a.config) if a.config else C.RunConfig()
    model = replace(base.model, path=a.model if a.model != "default" or not a.config else base.model.path,
                    **({"device": a.device} if a.device else {}))
    data = replace(base.data, **{k: v for k, v in (("forget", a.forget), ("retain", a.retain), ("probes", a.probes)) if v})
    m = {k: v for k, v in (("name", a.method), ("steps", a.steps), ("lr", a.lr), ("lora", a.lora)) if v is not None}
    top = {"seed": a.seed} if a.seed is not None else {}
    if a.no_scorecard:
        top["scorecard"] = False
    for key in ("stop_forget_below", "stop_retain_above", "probe_every", "probe_budget", "probe_samples_every"):
        if getattr(a, key) is not None:
            top[key] = getattr(a, key)
    return replace(base, model=model, data=data, method=replace(base.method, **m), out_dir=a.out, **top)


def cmd_run(a) -> int:
    from .core import config as C
    from .core.train import engine
    from .core.common.cancel import CancelToken

    try:
        cfg = make_config(a)
    except C.ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from .core.model.models import quiet_libraries

    quiet_libraries()
    cancel = CancelToken()
    signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    result = engine.run(cfg, Printer(a.quiet), cancel)
    rank = int(os.environ.get("RANK", "0"))
    if rank != 0:  # under accelerate launch only rank 0 reports; the others say one line each
        print(f"rank {rank}: {result.status}, {result.steps_done} steps, {result.local_rows} forget rows per "
              f"micro-batch", file=sys.stderr)
        return 0 if result.status == "completed" else 1
    if result.status == "completed":
        b, f = result.metrics_before, result.metrics_after
        print(f"done in {result.wall_s:.1f}s: forget log-prob {b.get('forget_logprob', 0):.3f} -> "
              f"{f.get('forget_logprob', 0):.3f}, retain {b.get('retain_logprob', 0):.3f} -> "
              f"{f.get('retain_logprob', 0):.3f}; wrote {a.out}", file=sys.stderr)
        return 0
    if result.status == "cancelled":
        print(f"cancelled after {result.steps_done} steps", file=sys.stderr)
        return 130
    print(f"error: {result.error}", file=sys.stderr)
    return 1


def _short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= n else text[: n - 1] + "…")
