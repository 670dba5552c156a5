"""Data statistics: rows per role and a histogram of answer lengths, stacked by role.

Lengths are counted in tokens with the loaded model's tokenizer (what training truncates at
``max_length``); before a model is loaded they are whitespace-separated words, an approximation
the axis label says so. Counting runs on a worker thread: tokenising 100,000 answers takes seconds.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Slot
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ...core.common.records import ROLES, Record
from ..theme import colors
from ..workers import Job
from .example_model import role_color

MAX_BINS = 30
_tokenizers: dict[str, object] = {}
_tok_lock = threading.Lock()


@dataclass(frozen=True)
class Stats:
    unit: str  # "tokens" or "words"
    how: str  # one line: which tokenizer, or the approximation
    edges: np.ndarray = field(repr=False)
    per_role: dict = field(repr=False)  # role -> counts per bin
    lengths: dict = field(repr=False)  # role -> lengths


def _tokenizer(model_dir: str):
    from ...core.model import models

    with _tok_lock:
        if model_dir not in _tokenizers:
            _tokenizers[model_dir] = models.load_tokenizer(Path(model_dir))
        return _tokenizers[model_dir]


def compute_stats(records: tuple[Record, ...], model_dir: str | None, model_name: str, progress) -> Stats:
    """Worker-thread body (no Qt): lengths of every answer, binned on integer edges."""
    texts = [r.answer for r in records]
    if model_dir:
        tok = _tokenizer(model_dir)
        ids = tok(texts, add_special_tokens=False)["input_ids"] if texts else []
        lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(texts))
        unit, how = "tokens", f"Answer length in tokens of {model_name}'s tokenizer"
    else:
        lengths = np.fromiter((len(t.split()) for t in texts), dtype=np.int64, count=len(texts))
        unit, how = "words", "Answer length in words (whitespace split, an approximation of tokens: load a model)"
    low, top = (int(lengths.min()), int(lengths.max())) if len(lengths) else (0, 1)
    step = max(1, int(np.ceil((top - low + 1) / MAX_BINS)))
    start = low // step * step
    edges = np.arange(start, top + step + 1, step)
    roles = np.array([r.role for r in records], dtype=object)
    per_role, by_role = {}, {}
    for role in ROLES:
        sel = lengths[roles == role] if len(lengths) else lengths
        by_role[role] = sel
        per_role[role] = np.histogram(sel, bins=edges)[0]
    return Stats(unit, how, edges, per_role, by_role)


class StatsPanel(QWidget):
    """Refreshes itself (debounced, in the background) while visible and the data changes."""

    def __init__(self, source, parent=None):
        super().__init__(parent)
        self._source = source  # () -> tuple of records
        self.model_dir: str | None = None
        self.model_name = ""
        self.stats: Stats | None = None
        self._job: Job | None = None
        self._stale = True
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.addLegend(offset=(-10, 10))
        self.plot.setLabel("left", "rows")
        self._bars: list = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.summary)
        layout.addWidget(self.plot, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(400)
        self._timer.timeout.connect(self.refresh)

    def set_model(self, model_dir: str | None, name: str = "") -> None:
        self.model_dir, self.model_name = model_dir, name
        self.mark_stale()

    def mark_stale(self) -> None:
        self._stale = True
        if self.isVisible():
            self._timer.start()

    def is_busy(self) -> bool:
        return self._job is not None

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._stale:
            self._timer.start(0)

    def changeEvent(self, event) -> None:  # noqa: N802
        """A theme switch changes the palette: redraw in the new colours."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self.stats is not None:
            self._draw(self.stats)

    @Slot()
    def refresh(self) -> None:
        if self._job is not None:
            self._timer.start()  # one at a time; try again shortly
            return
        self._stale = False
        self.summary.setText(self.summary.text() or "Counting…")
        job = Job(partial(compute_stats, tuple(self._source()), self.model_dir, self.model_name), "data statistics")
        job.done.connect(self._on_job_done)
        job.failed.connect(self._on_job_failed)
        self._job = job
        job.start()

    @Slot(object)
    def _on_job_done(self, stats: Stats) -> None:
        self._job = None
        self.stats = stats
        self._draw(stats)

    @Slot(object)
    def _on_job_failed(self, failure) -> None:
        self._job = None
        self.summary.setText(f"Statistics unavailable: {failure.message}")

    def _apply_theme(self) -> None:
        c = colors()
        self.plot.setBackground(c.plot_bg)
        for name in ("left", "bottom"):
            axis = self.plot.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(c.plot_fg))
            axis.setTextPen(pg.mkPen(c.plot_fg))
        legend = self.plot.plotItem.legend
        if legend is not None:
            legend.setLabelTextColor(c.plot_fg)

    def _draw(self, s: Stats) -> None:
        """Stacked bars per role; colours follow the theme in use when drawn."""
        self._apply_theme()
        for item in self._bars:
            self.plot.removeItem(item)  # also takes it out of the legend
        self._bars = []
        width = float(s.edges[1] - s.edges[0]) if len(s.edges) > 1 else 1.0
        x = s.edges[:-1] + (width - 1) / 2  # lengths are integers: bin [a, a+w) spans a .. a+w-1
        base = np.zeros(len(x))
        for role in ROLES:
            h = s.per_role[role]
            if not h.sum():
                continue
            keep = h > 0  # empty bins drew as flat lines
            bar = pg.BarGraphItem(x=x[keep], height=h[keep], y0=base[keep], width=width * 0.9, brush=role_color(role),
                                  pen=pg.mkPen(colors().plot_bg), name=role)
            self.plot.addItem(bar)  # named: the plot's legend lists it
            self._bars.append(bar)
            base += h
        self.plot.setLabel("bottom", f"answer length ({s.unit})")
        rows = []
        for role in ROLES:
            n = len(s.lengths[role])
            if n:
                lens = s.lengths[role]
                rows.append(f"<tr><td style='color:{role_color(role)}'><b>{role}</b></td><td align=right>{n:,}</td>"
                            f"<td align=right>{np.median(lens):.0f}</td><td align=right>{lens.max():,}</td></tr>")
        table = ("<table cellspacing=6><tr><th align=left>role</th><th>rows</th><th>median</th><th>max</th></tr>"
                 + "".join(rows) + "</table>") if rows else "No rows yet."
        self.summary.setText(f"{s.how}.<br>{table}")
