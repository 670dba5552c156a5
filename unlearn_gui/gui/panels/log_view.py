"""The log pane: engine messages, load progress and run milestones, newest at the bottom."""
from __future__ import annotations

import time

from PySide6.QtWidgets import QPlainTextEdit

from ...core.common import events as E


class LogView(QPlainTextEdit):
    MAX_LINES = 5000

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("logView")
        self.setReadOnly(True)
        self.setMaximumBlockCount(self.MAX_LINES)
        self._last_load = ""

    def log(self, message: str, level: str = "info") -> None:
        prefix = {"warning": "warning: ", "error": "error: "}.get(level, "")
        self.appendPlainText(f"{time.strftime('%H:%M:%S')}  {prefix}{message}")

    def on_event(self, ev) -> None:
        if isinstance(ev, E.LoadProgress):
            if ev.message != self._last_load:
                self._last_load = ev.message
                self.log(ev.message)
        elif isinstance(ev, E.LogMessage):
            self.log(ev.message, ev.level)
        elif isinstance(ev, E.RunStarted):
            self.log(f"run started: {ev.method} on {ev.model_name} ({'LoRA' if ev.lora else 'full'}, {ev.device}, "
                     f"{ev.dtype}); {ev.n_forget} forget, {ev.n_retain} retain, {ev.n_probes} probes, "
                     f"{ev.total_steps} steps")
        elif isinstance(ev, E.StepMetrics):
            self.log(f"step {ev.step}/{ev.total_steps}: loss {ev.loss:.4f} (forget {ev.forget_loss:.4f}, retain "
                     f"{ev.retain_loss:.4f}), lr {ev.lr:.2g}, grad norm {ev.grad_norm:.3f}")
        elif isinstance(ev, E.EvalResult):
            self.log(f"probe @ step {ev.step}: forget log-prob {ev.forget_logprob:.3f} (Prob {ev.forget_prob:.3f}), "
                     f"retain log-prob {ev.retain_logprob:.3f} (Prob {ev.retain_prob:.3f})")
        elif isinstance(ev, E.Alarm):
            self.log(f"ALARM ({ev.kind}) at step {ev.step}: {ev.message}", "warning")
        elif isinstance(ev, E.Samples) and ev.stage != "rows":
            where = f" at step {ev.step}" if ev.stage in ("step", "probe") else ""
            self.log(f"{len(ev.rows)} '{ev.stage}' answers generated{where}")
        elif isinstance(ev, E.RunFinished):
            text = f"run {ev.status} after {ev.steps_done} steps in {ev.wall_s:.1f} s"
            self.log(text + (f": {ev.error}" if ev.error else ""), "error" if ev.status == "failed" else "info")
