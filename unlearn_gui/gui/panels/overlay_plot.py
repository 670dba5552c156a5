"""Several runs' curves in one plot, for the runs browser: run 1 solid, run 2 dashed, with the key
in the title row (as the main window's plots: a legend never covers the data). Drawn once per
selection change, never per point."""
from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtCore import Qt

from ..theme import colors

LINE_STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine)


class OverlayPlot(pg.PlotWidget):
    """Curves of several runs in one plot: run 1 solid, run 2 dashed; the legend names each."""

    def __init__(self, title: str, y_label: str, parent=None):
        super().__init__(parent)
        self.title = title
        self.setMenuEnabled(False)
        self.setMinimumHeight(140)
        c = colors()
        self.setBackground(c.plot_bg)
        item = self.getPlotItem()
        item.showGrid(x=True, y=True, alpha=c.grid_alpha)
        item.setTitle(title, color=c.plot_fg, size="10pt")
        item.setLabel("bottom", "step")
        item.setLabel("left", y_label)

    def show_runs(self, runs_data: list[tuple[str, list[dict]]], series: list[tuple[str, str, str]]) -> None:
        """``series``: (metrics key, label, theme colour name) drawn for every run."""
        item = self.getPlotItem()
        item.clear()  # once per selection change, not per point
        c = colors()
        # the key sits in the title row, as in the main window's plots: a legend never covers the data
        keys = [f"{'━━' if i == 0 else '╍╍'} {html.escape(name)}" for i, (name, _) in enumerate(runs_data)]
        keys += [f'<span style="color:{getattr(c, color)}">■</span> {label}' for _, label, color in series]
        item.setTitle(f"{self.title} &nbsp;&nbsp; " + " &nbsp;".join(keys), color=c.plot_fg, size="10pt")
        for i, (name, rows) in enumerate(runs_data):
            for key, label, color in series:
                pts = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), (int, float)) and "step" in r]
                if not pts:
                    continue
                pen = pg.mkPen(getattr(c, color), width=2, style=LINE_STYLES[i % len(LINE_STYLES)])
                xs, ys = zip(*pts)
                item.plot(list(xs), list(ys), pen=pen, name=f"{name} · {label}")

    def curve_names(self) -> list[str]:
        return [it.name() for it in self.getPlotItem().listDataItems()]
