"""GUI responsiveness while a run trains: the StallProbe timer on the real RunController/QThread,
with the engine's events drawn by a real RunPanel (offscreen).

Measured in a fresh process (``python -m benchmarks.gui_bench``), as a user's first run after
starting the app: the modules a run imports lazily, and the tokenizer and weights it loads, load
in the run's thread exactly as they do in the app, not already warm from other benchmarks.
"""
from __future__ import annotations

import gc
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _stats(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0, "max_ms": 0.0, "p99_ms": 0.0}
    s = sorted(samples)
    k = min(len(s) - 1, max(0, int(round(0.99 * len(s) + 0.5)) - 1))  # nearest rank, as StallProbe
    return {"n": len(s), "max_ms": s[-1], "p99_ms": s[k]}


def _quiet_offscreen(mode, context, message: str) -> None:
    """Drop the offscreen platform's notice about window size hints; print everything else."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def _phase_marks(probe):
    """A GUI-thread slot object remembering how many stall samples existed as each phase began."""
    from PySide6.QtCore import QObject, Slot

    from unlearn_gui.core.common import events as E

    class Marks(QObject):
        def __init__(self):
            super().__init__()
            self.at, self.status = {"start": 0}, None

        @Slot(object)
        def on_event(self, ev) -> None:
            n = len(probe.samples)
            if isinstance(ev, E.RunStarted):
                self.at.setdefault("model_ready", n)
            elif isinstance(ev, E.StepMetrics) and ev.step == 1:
                self.at.setdefault("train", n)
            if isinstance(ev, E.StepMetrics) and ev.step == ev.total_steps:
                self.at.setdefault("after", n)
            elif isinstance(ev, E.RunFinished):
                self.at.setdefault("end", n)
                self.status = ev.status

    return Marks()


def _phases(samples: list[float], at: dict) -> dict:
    names = ["app_start", "start", "model_ready", "train", "after", "end"]
    label = {"app_start": "app_warmup", "start": "load", "model_ready": "step_0_probe_and_first_step",
             "train": "training", "after": "before_and_after_generation"}
    out = {}
    for lo_name, hi_name in zip(names, names[1:]):
        lo, hi = at.get(lo_name), at.get(hi_name, len(samples) if hi_name == "end" else None)
        if lo is not None and hi is not None:
            out[label[lo_name]] = _stats(samples[lo:hi])
    return out


def gui_stall(cfg, timeout_s: float = 600.0, interval_ms: int = 10) -> dict:
    """Run ``cfg`` through RunController and record how late a 10 ms timer fires, per phase."""
    from PySide6.QtCore import QEventLoop, QTimer, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from unlearn_gui.gui.panels.run_panel import RunPanel
    from unlearn_gui.gui.run_controller import RunController
    from unlearn_gui.gui.stall import StallProbe

    app = QApplication.instance() or QApplication([])
    previous = qInstallMessageHandler(_quiet_offscreen)
    panel, ctrl, probe = RunPanel(), RunController(), StallProbe(interval_ms)
    panel.resize(900, 600)
    panel.show()
    marks = _phase_marks(probe)
    ctrl.event.connect(panel.on_event)
    ctrl.event.connect(marks.on_event)
    loop = QEventLoop()
    ctrl.run_ended.connect(loop.quit)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    app.processEvents()
    pauses = _GcPauses()
    gc.callbacks.append(pauses)
    t0 = pauses.t0 = time.perf_counter()
    probe.start()
    marks.at["app_start"] = 0
    _app_warmup(app, cfg.model.path)
    marks.at["start"] = len(probe.samples)
    panel.begin()
    ctrl.start(cfg)
    loop.exec()
    probe.stop()
    gc.callbacks.remove(pauses)
    wall = time.perf_counter() - t0
    if ctrl.is_running():  # timed out: stop the run and wait so no QThread is left behind
        ctrl.shutdown(wait=True)
    samples, long = list(probe.samples), list(getattr(probe, "long", []))
    # the target is "while a run trains": from Run to the run's end; start-up is reported beside it
    run = _stats(samples[marks.at["start"]:])
    startup = _stats(samples[:marks.at["start"]])
    panel.close()
    app.processEvents()
    qInstallMessageHandler(previous)
    return {"max_ms": run["max_ms"], "p99_ms": run["p99_ms"], "n_samples": run["n"],
            "startup_max_ms": startup["max_ms"], "startup_p99_ms": startup["p99_ms"],
            "phases": _phases(samples, marks.at), "status": marks.status, "wall_s": wall,
            "longest": sorted(long, key=lambda x: -x[1])[:5],
            "gc": {"pauses_over_20ms": pauses.long, "max_pause_ms": pauses.max_ms,
                   "stalls_over_50ms": len(long), "of_which_during_gc": _overlapping(long, pauses.long),
                   **_gc_freeze_effect()}}


def _app_warmup(app, model: str) -> None:
    """What the window does before the user can press Run: the model card's background job
    (``model_panel._resolve_and_describe``: config, the run's imports, the tokenizer prefetch) off
    the GUI thread, then the GUI thread freezes the survivors (``warmup.freeze_long_lived``).
    Timed like the run, with the probe on."""
    import threading

    from PySide6.QtCore import QEventLoop

    from unlearn_gui.gui.panels.model_panel import _resolve_and_describe
    from unlearn_gui.gui.warmup import freeze_long_lived

    t = threading.Thread(target=_resolve_and_describe, args=(model, lambda _p: None), daemon=True)
    t.start()
    while t.is_alive():
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        t.join(0.005)
    freeze_long_lived()


def _overlapping(stalls, pauses) -> int:
    """How many stalls (end s, ms) overlap a GC pause (end s, generation, ms) in time."""
    def hit(ts, ms):
        return any(tg - g / 1000 <= ts and ts - ms / 1000 <= tg for tg, _, g in pauses)

    return sum(hit(ts, ms) for ts, ms in stalls)


class _GcPauses:
    """gc.callbacks hook: every collection holds the GIL, so a long one stalls the GUI thread too."""

    def __init__(self):
        self.t0, self.start, self.max_ms, self.long = 0.0, 0.0, 0.0, []

    def __call__(self, phase: str, info: dict) -> None:
        now = time.perf_counter()
        if phase == "start":
            self.start = now
            return
        ms = (now - self.start) * 1000
        self.max_ms = max(self.max_ms, ms)
        if ms > 20:
            self.long.append((round(now - self.t0, 3), info.get("generation"), round(ms, 1)))


def _gc_freeze_effect() -> dict:
    """A full collection with the run's objects alive, then again after ``gc.freeze()``."""
    t0 = time.perf_counter()
    gc.collect()
    full = (time.perf_counter() - t0) * 1000
    gc.freeze()
    t0 = time.perf_counter()
    gc.collect()
    frozen = (time.perf_counter() - t0) * 1000
    gc.unfreeze()
    return {"full_collect_ms": round(full, 1), "full_collect_after_freeze_ms": round(frozen, 1),
            "tracked_objects": len(gc.get_objects())}


def fresh(model: str, steps: int, max_new_tokens: int, timeout_s: float = 1200.0) -> dict:
    """``gui_stall`` on the demo preset in a new process; returns its JSON."""
    import json
    import subprocess

    from benchmarks.proc_bench import _python
    from benchmarks.common import ROOT

    cmd = [_python(), "-m", "benchmarks.gui_bench", "--model", model, "--steps", str(steps),
           "--max-new-tokens", str(max_new_tokens)]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"GUI stall child failed ({r.returncode}):\n{r.stderr[-1500:]}")
    return json.loads(lines[-1])


def main(argv=None) -> int:
    import argparse
    import json
    from dataclasses import replace

    from benchmarks.common import demo_config, with_method

    ap = argparse.ArgumentParser(prog="benchmarks.gui_bench")
    ap.add_argument("--model", default="default")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--max-new-tokens", type=int, default=8)
    a = ap.parse_args(argv)
    cfg = replace(with_method(demo_config(a.model), steps=a.steps), max_new_tokens=a.max_new_tokens)
    print(json.dumps(gui_stall(cfg)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
