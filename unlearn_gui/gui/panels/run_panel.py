"""Run / Stop, progress (step x/y, elapsed, ETA, steps/s) and the live loss and probe plots."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSplitter, QToolButton,
                               QVBoxLayout, QWidget)

from ...core.common import events as E
from .plots import LossPlot, ProbePlot


def fmt_duration(s: float) -> str:
    s = int(round(max(0.0, s)))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class AlarmBanner(QFrame):
    """A yellow strip above the plots listing the run's collapse alarms (``core.train.watch``); it stays
    until dismissed or the next run starts."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("alarmBanner")
        self.setStyleSheet("QFrame#alarmBanner { background: #fff3cd; border: 1px solid #e0a800; border-radius: 4px; }"
                           " QFrame#alarmBanner QLabel { color: #5c4400; }")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Hide the warning (it stays in the log)")
        close.clicked.connect(self._on_close_clicked)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        row.addWidget(self.label, 1)
        row.addWidget(close)
        self.messages: list[str] = []
        self.hide()

    def add(self, ev) -> None:
        import html

        self.messages.append(f"⚠ <b>Step {ev.step}</b>: {html.escape(ev.message)}")
        self.label.setText("<br>".join(self.messages))
        self.show()

    def reset(self) -> None:
        self.messages.clear()
        self.label.clear()
        self.hide()

    @Slot()
    def _on_close_clicked(self) -> None:
        self.hide()


class RunPanel(QWidget):
    run_clicked = Signal()
    stop_clicked = Signal()
    report_clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run_button = QPushButton("▶  Run")
        self.run_button.setObjectName("runButton")
        self.run_button.setToolTip("Start unlearning with the settings on the left (Ctrl+R)")
        self.run_button.clicked.connect(self._on_run_button_clicked)
        self.stop_button = QPushButton("■  Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop at the next step; the model keeps what it learned so far (Esc)")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self._on_stop_button_clicked)
        self.report_button = QPushButton("Report")
        self.report_button.setObjectName("reportButton")
        self.report_button.setToolTip("Write report.html for this run (curves, scorecard, per-item table, token view, "
                                      "hashes, verdict) and open it; an unsaved run is saved to a folder first")
        self.report_button.setEnabled(False)
        self.report_button.clicked.connect(self._on_report_button_clicked)
        self.alarm_banner = AlarmBanner()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Ready")
        self.stats = QLabel()
        self.phase = QLabel("Press Run to start. Curves and answers appear as the run goes.")
        self.phase.setObjectName("hint")
        top = QHBoxLayout()
        top.addWidget(self.run_button)
        top.addWidget(self.stop_button)
        top.addWidget(self.progress, 1)
        top.addWidget(self.report_button)
        second = QHBoxLayout()
        second.addWidget(self.phase, 1)
        second.addWidget(self.stats)
        self.phase.setWordWrap(True)
        self.phase.setMinimumWidth(100)
        self.loss_plot = LossPlot()
        self.probe_plot = ProbePlot()
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.probe_plot)
        plots.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addWidget(self.alarm_banner)
        layout.addWidget(plots, 1)
        self._t0: float | None = None
        self._stopped_at: int | None = None  # steps done when a run was stopped
        self._step = self._total = 0
        self._rate = 0.0
        self._clock = QTimer(self)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._on_clock_timeout)
        self._update_stats()

    # ---------------------------------------------------------------- API
    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def begin(self) -> None:
        """A run was started: clear the plots and start the clock."""
        self.loss_plot.clear_data()
        self.probe_plot.clear_data()
        self.alarm_banner.reset()
        self.report_button.setEnabled(False)
        self._t0, self._step, self._total, self._rate = time.perf_counter(), 0, 0, 0.0
        self._stopped_at = None
        self.progress.setRange(0, 0)
        self.progress.setFormat("Loading…")
        self.phase.setText("Loading the model and data…")
        self._clock.start()
        self._update_stats()

    def on_event(self, ev) -> None:
        if isinstance(ev, E.LoadProgress):
            self.phase.setText(ev.message)
        elif isinstance(ev, E.RunStarted):
            self._total = ev.total_steps
            self.progress.setRange(0, max(ev.total_steps, 1))
            self.progress.setValue(0)
            self.progress.setFormat(f"step 0/{ev.total_steps}")
            self.phase.setText(f"{ev.method} on {ev.model_name} ({'LoRA' if ev.lora else 'full'}, {ev.device}, "
                               f"{ev.dtype}) — starting…")
        elif isinstance(ev, E.Samples) and ev.stage == "before" and self._step == 0:
            self.phase.setText("Training…")
        elif isinstance(ev, E.Samples) and ev.stage == "before":
            self.phase.setText("Training done — the 'before' answers are in; generating the 'after' answers…")
        elif isinstance(ev, E.Samples) and ev.stage == "after" and self._stopped_at is not None:
            self.phase.setText(f"Stopped after {self._stopped_at} steps; the model keeps what it learned. "
                               "The 'after' answers are in the comparison below.")
        elif isinstance(ev, E.StepMetrics):
            self._step, self._total = ev.step, ev.total_steps
            self._rate = ev.step / ev.elapsed_s if ev.elapsed_s > 0 else 0.0
            self.progress.setValue(ev.step)
            self.progress.setFormat(f"step {ev.step}/{ev.total_steps}")
            self.loss_plot.add_step(ev)
            if ev.step == ev.total_steps:
                self.phase.setText("Training done — generating the 'before' (original weights) and 'after' "
                                   "answers and the scorecard…")
            elif ev.step == 1:
                self.phase.setText("Training…")
            self._update_stats()
        elif isinstance(ev, E.EvalResult):
            self.probe_plot.add_eval(ev)
        elif isinstance(ev, E.Alarm):
            self.alarm_banner.add(ev)
        elif isinstance(ev, E.RunFinished):
            self._finish(ev)

    def load_history(self, rows: list[dict]) -> None:
        """Curves of a saved run (metrics.jsonl rows)."""
        self.loss_plot.clear_data()
        self.probe_plot.clear_data()
        for r in rows:
            step = r.get("step", 0)
            for key in ("loss", "forget_loss", "retain_loss"):
                if r.get(key) is not None:
                    self.loss_plot.append(key, step, r[key])
            if r.get("forget_logprob") is not None:
                self.probe_plot.append("forget_lp", step, r["forget_logprob"])
            if r.get("retain_logprob") is not None:
                self.probe_plot.append("retain_lp", step, r["retain_logprob"])
        self.loss_plot.redraw()
        self.probe_plot.redraw()

    def elapsed(self) -> float:
        return 0.0 if self._t0 is None else time.perf_counter() - self._t0

    # ---------------------------------------------------------------- slots
    @Slot()
    def _on_run_button_clicked(self) -> None:
        self.run_clicked.emit()

    @Slot()
    def _on_report_button_clicked(self) -> None:
        self.report_clicked.emit()

    @Slot()
    def _on_stop_button_clicked(self) -> None:
        self.stop_button.setEnabled(False)
        self.phase.setText("Stopping…")
        self.stop_clicked.emit()

    @Slot()
    def _on_clock_timeout(self) -> None:
        self._update_stats()

    def _finish(self, ev: E.RunFinished) -> None:
        self._clock.stop()
        self._update_stats(wall=ev.wall_s)
        self.progress.setRange(0, max(self._total, 1))
        self.progress.setValue(ev.steps_done)
        word = {"completed": "Done", "cancelled": "Stopped", "failed": "Failed"}.get(ev.status, ev.status)
        self.progress.setFormat(f"{word} — step {ev.steps_done}/{self._total}")
        if ev.status == "completed":
            self.phase.setText(f"Finished {ev.steps_done} steps in {fmt_duration(ev.wall_s)}. "
                               "See the comparison below; spot-check or save the model.")
        elif ev.status == "cancelled":
            self._stopped_at = ev.steps_done
            self.phase.setText(f"Stopped after {ev.steps_done} steps; the model keeps what it learned. "
                               "Generating the 'after' answers…" if ev.steps_done else "Stopped before training.")
        else:
            self.phase.setText(f"Failed: {ev.error}")

    def _update_stats(self, wall: float | None = None) -> None:
        elapsed = self.elapsed() if wall is None else wall
        remaining = (self._total - self._step) / self._rate if self._rate > 0 else None
        eta = fmt_duration(remaining) if remaining is not None else "—"
        rate = f"{self._rate:.2f}" if self._rate else "—"
        self.stats.setText(f"step {self._step}/{self._total or '—'} · elapsed {fmt_duration(elapsed)} · ETA {eta} · "
                           f"{rate} steps/s")
