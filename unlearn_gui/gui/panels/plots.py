"""Live curves: created once, fed from growing numpy buffers, redrawn by a ~10 Hz timer.

Appending only marks the plot dirty; ``setData`` runs at most every ``REDRAW_MS`` (pyqtgraph's
own examples: never clear()/plot() per point).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Slot

from ..theme import Colors, colors

REDRAW_MS = 100


class Series:
    """A growing (x, y) buffer with amortised O(1) append."""

    def __init__(self, capacity: int = 256):
        self._x = np.empty(capacity)
        self._y = np.empty(capacity)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == len(self._x):
            self._x = np.resize(self._x, 2 * self.n)
            self._y = np.resize(self._y, 2 * self.n)
        self._x[self.n], self._y[self.n] = x, y
        self.n += 1

    def clear(self) -> None:
        self.n = 0

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self._x[:self.n], self._y[:self.n]


class CurvePlot(pg.PlotWidget):
    """A titled plot with a fixed set of named curves (``SERIES``: key, legend label, colour name, width)."""

    TITLE = ""
    Y_LABEL = ""
    SERIES: tuple[tuple[str, str, str, float], ...] = ()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.series = {key: Series() for key, *_ in self.SERIES}
        self.setMenuEnabled(False)
        self.setMinimumHeight(160)
        item = self.getPlotItem()
        item.showGrid(x=True, y=True)
        item.setLabel("bottom", "step")
        item.setLabel("left", self.Y_LABEL)
        self.curves = {key: item.plot([], [], symbol="o" if key.endswith("_lp") else None, symbolSize=5)
                       for key, *_ in self.SERIES}
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._on_redraw_timeout)
        self._timer.start()
        self.apply_theme(colors())

    def append(self, key: str, x: float, y: float) -> None:
        if y is None or not np.isfinite(y):
            return
        self.series[key].append(x, y)
        self._dirty = True

    def clear_data(self) -> None:
        for s in self.series.values():
            s.clear()
        self._dirty = True
        self.redraw()

    def points(self, key: str) -> int:
        return self.series[key].n

    def redraw(self) -> None:
        for key, curve in self.curves.items():
            curve.setData(*self.series[key].data())
        self._dirty = False

    @Slot()
    def _on_redraw_timeout(self) -> None:
        if self._dirty:
            self.redraw()

    def apply_theme(self, c: Colors) -> None:
        self.setBackground(c.plot_bg)
        item = self.getPlotItem()
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(c.plot_fg))
            axis.setTextPen(pg.mkPen(c.plot_fg))
        item.setTitle(self.title_html(c), color=c.plot_fg, size="10pt")
        item.getAxis("left").setGrid(int(255 * c.grid_alpha))
        item.getAxis("bottom").setGrid(int(255 * c.grid_alpha))
        for key, _label, color_name, width in self.SERIES:
            color = getattr(c, color_name)
            self.curves[key].setPen(pg.mkPen(color, width=width))
            self.curves[key].setSymbolBrush(color)
            self.curves[key].setSymbolPen(color)

    def title_html(self, c: Colors) -> str:
        """The title with a colour key for each curve: a legend that never covers the data."""
        keys = " &nbsp;".join(f'<span style="color:{getattr(c, color)}">━━</span> {label}'
                              for _key, label, color, _w in self.SERIES)
        return f"{self.TITLE} &nbsp;&nbsp; {keys}"


class LossPlot(CurvePlot):
    TITLE = "<b>Loss</b> = γ·forget + α·retain"
    Y_LABEL = "loss"
    SERIES = (("loss", "total", "total", 2.5), ("forget_loss", "forget part", "forget", 1.5),
              ("retain_loss", "retain part", "retain", 1.5))

    def add_step(self, ev) -> None:
        for key in ("loss", "forget_loss", "retain_loss"):
            self.append(key, ev.step, getattr(ev, key))


class ProbePlot(CurvePlot):
    TITLE = "<b>Probe answers</b> log-prob/token"
    Y_LABEL = "log-prob"
    SERIES = (("forget_lp", "forget (should fall)", "forget", 2.0),
              ("retain_lp", "retain (should hold)", "retain", 2.0))

    def add_eval(self, ev) -> None:
        self.append("forget_lp", ev.step, ev.forget_logprob)
        self.append("retain_lp", ev.step, ev.retain_logprob)
