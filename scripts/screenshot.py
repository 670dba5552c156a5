"""Screenshot of the main window after a demo run: docs/screenshot.png.

Runs the real window with the built-in model and the demo data (offscreen unless a display, e.g.
Xvfb, is available), clicks Run, waits for the end, grabs the window with QWidget.grab().
Also prints the event-loop stall measured during the run (StallProbe).

    python scripts/screenshot.py [--out docs/screenshot.png] [--steps N] [--theme light|dark]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    p.add_argument("--model", default="default")
    p.add_argument("--steps", type=int, default=None, help="override the preset's steps")
    p.add_argument("--theme", default="light", choices=["light", "dark"])
    p.add_argument("--size", default="1600x1000")
    p.add_argument("--timeout", type=float, default=1800)
    a = p.parse_args()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp(prefix="unlearn-shot-"))
    from unlearn_gui.gui import app as gui_app
    from unlearn_gui.gui import errors, settings
    from unlearn_gui.gui.stall import StallProbe

    settings.set_theme_name(a.theme)
    problems: list[str] = []
    errors.show_error = lambda parent, message, details="", title="": problems.append(f"{message}\n{details}")
    app, w = gui_app.build(argparse.Namespace(model=a.model, no_demo=False))
    width, height = (int(x) for x in a.size.split("x"))
    w.show()
    w.resize(width, height)

    def pump_until(cond, what: str) -> None:
        t0 = time.perf_counter()
        while not cond():
            app.processEvents()
            time.sleep(0.005)
            if problems or time.perf_counter() - t0 > a.timeout:
                w.controller.shutdown(wait=True)  # never leave a running thread behind
                raise SystemExit("error dialog: " + problems[0] if problems else f"timed out waiting for {what}")

    t_start = time.perf_counter()

    def show_progress(ev) -> None:
        from unlearn_gui.core.common import events as E

        if isinstance(ev, (E.RunStarted, E.Samples, E.StepMetrics, E.RunFinished)):
            detail = getattr(ev, "stage", None) or getattr(ev, "step", None) or getattr(ev, "status", "")
            print(f"{time.perf_counter() - t_start:7.1f} s  {type(ev).__name__} {detail}", flush=True)

    w.controller.event.connect(show_progress)

    pump_until(w.model_panel.is_ready, "the model card")
    if a.steps:
        w.method_panel.set_values(steps=a.steps)
    probe = StallProbe(interval_ms=10)
    probe.start()
    t0 = time.perf_counter()
    w.run_panel.run_button.click()
    pump_until(lambda: w.controller.result is not None and not w.controller.is_busy(), "the end of the run")
    probe.stop()
    print(f"run {w.controller.result.status} in {time.perf_counter() - t0:.1f} s; stall {probe.summary()}; "
          f"stalls over {probe.record_above_ms:.0f} ms at (s, ms): {probe.long}")
    for _ in range(40):  # let the 10 Hz plot timer and the row resizing settle
        app.processEvents()
        time.sleep(0.01)
    w.show_tab("compare")
    app.processEvents()
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not w.grab().save(str(out)):
        raise SystemExit(f"could not write {out}")
    print(f"wrote {out}")
    w.controller.shutdown(wait=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
