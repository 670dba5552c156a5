"""The runs browser: finished run folders under a chosen root plus the recent ones, their headline
numbers, and for the selected runs (one or two) their curves overlaid and their scorecards side by
side. Nothing here loads a model; folders are read on a background thread (``workers.Job``).
"""
from __future__ import annotations

import time
from functools import partial

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QTabWidget, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from ..core.runs import index as run_index, folder as runs
from ..core.evaluate import verdict as st
from . import settings
from .panels.overlay_plot import OverlayPlot
from .theme import colors
from .workers import Job

COLUMNS = ("Run", "Method", "Steps", "Status", "Date", "Forget Prob", "Retain Prob", "Forget named", "Utility",
           "Alarms")
PathRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2


def choose_root(parent) -> str | None:
    return QFileDialog.getExistingDirectory(parent, "Folder that holds run folders") or None


def _pair(pair, fmt="num") -> str:
    b, a = pair
    if b is None and a is None:
        return "—"
    return f"{st.fmt_value(b, fmt)} → {st.fmt_value(a, fmt)}"


def _scan(root: str, recent: list[str], progress) -> list[dict]:
    paths = [str(p) for p in run_index.find_run_folders(root)] if root else []
    return run_index.overviews(paths + recent)


def _load(paths: list[str], progress) -> list[dict]:
    out = []
    for p in paths:
        try:
            out.append(runs.load_run_folder(p))
        except (runs.RunFolderError, OSError, ValueError) as e:
            out.append({"path": p, "error": str(e)})
    return out


class _Item(QTreeWidgetItem):
    def __lt__(self, other) -> bool:  # sort dates and numbers by value, not by text
        col = self.treeWidget().sortColumn()
        a, b = self.data(col, SortRole), other.data(col, SortRole)
        if a is None or b is None or type(a) is not type(b):
            return self.text(col) < other.text(col)
        return a < b


class RunsBrowser(QDialog):
    """Non-modal; ``open_requested(data)`` asks the main window to show a run (curves, table,
    token view) and ``report_requested(path)`` to write and open its report.html."""

    open_requested = Signal(object)
    report_requested = Signal(str)
    listed = Signal()  # the list was refreshed (tests wait for it)
    loaded = Signal()  # the selection's folders were read and drawn

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Runs")
        self.resize(1150, 720)
        self.rows: list[dict] = []
        self.selected: list[dict] = []  # load_run_folder results of the selection
        self._load_job: Job | None = None
        self.root = QLineEdit(settings.runs_root())
        self.root.setReadOnly(True)
        self.root.setPlaceholderText("Choose a folder that holds run folders; recent runs are listed anyway")
        choose = QPushButton("Choose folder…")
        choose.clicked.connect(self._on_choose_clicked)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        self.table = QTreeWidget()
        self.table.setColumnCount(len(COLUMNS))
        self.table.setHeaderLabels(COLUMNS)
        self.table.setRootIsDecorated(False)
        self.table.setAlternatingRowColors(True)
        self.table.setSortingEnabled(True)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.table.itemDoubleClicked.connect(self._on_item_double_clicked)
        self.status = QLabel()
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        self.loss_plot = OverlayPlot("<b>Loss</b> (total)", "loss")
        self.probe_plot = OverlayPlot("<b>Probe answers</b> log-prob/token", "log-prob")
        plots = QWidget()
        pv = QVBoxLayout(plots)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.addWidget(self.loss_plot)
        pv.addWidget(self.probe_plot)
        self.card = QTableWidget()
        self.card.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.card.verticalHeader().hide()
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        card_box = QWidget()
        cv = QVBoxLayout(card_box)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.addWidget(self.card, 1)
        cv.addWidget(self.verdict)
        self.details = QTabWidget()
        self.details.addTab(plots, "Curves")
        self.details.addTab(card_box, "Scorecard")
        self.open_button = QPushButton("Open in main window")
        self.open_button.setToolTip("Show the run's curves, comparison table and token view in the main window")
        self.open_button.clicked.connect(self._on_open_clicked)
        self.report_button = QPushButton("Report")
        self.report_button.setToolTip("Write the run's report.html (again) and open it in the browser")
        self.report_button.clicked.connect(self._on_report_clicked)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        top = QHBoxLayout()
        top.addWidget(QLabel("Folder"))
        top.addWidget(self.root, 1)
        top.addWidget(choose)
        top.addWidget(refresh)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.report_button)
        buttons.addWidget(close)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.details)
        split.setSizes([260, 460])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    # ---------------------------------------------------------------- listing
    @Slot()
    def refresh(self) -> None:
        self.status.setText("Reading run folders…")
        job = Job(partial(_scan, self.root.text(), settings.recent_runs()), "list runs", self)
        job.done.connect(self._on_scanned)
        job.failed.connect(self._on_job_failed)
        job.start()

    @Slot(object)
    def _on_scanned(self, rows: list[dict]) -> None:
        self.rows = rows
        self.table.setSortingEnabled(False)
        self.table.clear()
        for r in rows:
            self.table.addTopLevelItem(self._item(r))
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COLUMNS.index("Date"), Qt.SortOrder.DescendingOrder)
        where = f" under {self.root.text()}" if self.root.text() else ""
        self.status.setText(f"{len(rows)} run(s){where} and among the recent ones. Select one to see it, two to "
                            "compare them.")
        self.listed.emit()

    def _item(self, r: dict) -> QTreeWidgetItem:
        h = r["headline"]
        steps = f"{r['steps']}" + (f"/{r['planned_steps']}" if r.get("planned_steps") not in (None, r["steps"]) else "")
        if r.get("kept_step") is not None:
            steps += f" (kept {r['kept_step']})"
        date = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["mtime"]))
        values = (r["name"], r["method"], steps, r["status"], date,
                  _pair(h["forget.prob"]), _pair(h["retain.prob"]), _pair(h["forget.hit_rate"], "pct"),
                  _pair(h["model_utility"]), str(r["alarms"] or ""))
        it = _Item([str(v) for v in values])
        it.setData(0, PathRole, r["path"])
        it.setToolTip(0, r["path"])
        it.setData(COLUMNS.index("Date"), SortRole, r["mtime"])
        it.setData(COLUMNS.index("Steps"), SortRole, r["steps"] if isinstance(r["steps"], int) else -1)
        if r["alarms"]:
            it.setForeground(COLUMNS.index("Alarms"), QColor(colors().miss))
        return it

    def selected_paths(self) -> list[str]:
        items = sorted(self.table.selectedItems(), key=lambda it: self.table.indexOfTopLevelItem(it))
        return [it.data(0, PathRole) for it in items]

    def select_paths(self, paths: list[str]) -> None:
        self.table.clearSelection()
        for i in range(self.table.topLevelItemCount()):
            it = self.table.topLevelItem(i)
            if it.data(0, PathRole) in paths:
                it.setSelected(True)

    # ---------------------------------------------------------------- selection
    @Slot()
    def _on_selection_changed(self) -> None:
        paths = self.selected_paths()[:2]
        self._update_buttons()
        if not paths:
            self._load_job = None
            self.selected = []
            self._draw()
            return
        if len(self.selected_paths()) > 2:
            self.status.setText("Comparing the first two selected runs.")
        self._load_job = Job(partial(_load, paths), "read runs", self)
        self._load_job.done.connect(self._on_loaded)
        self._load_job.failed.connect(self._on_job_failed)
        self._load_job.start()

    @Slot(object)
    def _on_loaded(self, data: list[dict]) -> None:
        if self.sender() is not self._load_job:
            return  # the selection changed meanwhile
        bad = [d for d in data if "error" in d]
        self.selected = [d for d in data if "error" not in d]
        if bad:
            self.status.setText("Cannot read: " + "; ".join(d["error"] for d in bad))
        self._draw()
        self._update_buttons()
        self.loaded.emit()

    def _names(self) -> list[str]:
        names = [d["path"].rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] for d in self.selected]
        return [f"{i + 1}: {n}" for i, n in enumerate(names)] if len(names) > 1 else names

    def _draw(self) -> None:
        names = self._names()
        curves = [(n, d.get("metrics") or []) for n, d in zip(names, self.selected)]
        self.loss_plot.show_runs(curves, [("loss", "loss", "total")])
        self.probe_plot.show_runs(curves, [("forget_logprob", "forget", "forget"),
                                           ("retain_logprob", "retain", "retain")])
        pairs = [(n, *run_index.scorecard_pair(d.get("summary") or {}, d.get("scorecard")))
                 for n, d in zip(names, self.selected)]
        rows = run_index.side_by_side(pairs)
        self.card.clear()
        headers = ["Metric"] + [f"{n} {side}" for n in names for side in ("before", "after")]
        self.card.setColumnCount(len(headers))
        self.card.setHorizontalHeaderLabels(headers)
        self.card.setRowCount(len(rows))
        c = colors()
        for i, r in enumerate(rows):
            self.card.setItem(i, 0, QTableWidgetItem(r["name"]))
            for j, (b, a) in enumerate(r["values"]):
                for k, v in enumerate((b, a)):
                    cell = QTableWidgetItem(st.fmt_value(v, r["fmt"]))
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    good = r["good"][j]
                    if k == 1 and good is not None:
                        cell.setForeground(QColor(c.hit if good else c.miss))
                    self.card.setItem(i, 1 + 2 * j + k, cell)
        self.card.resizeColumnsToContents()
        verdicts = []
        for n, d in zip(names, self.selected):
            v = (d.get("scorecard") or {}).get("verdict")
            if v:
                verdicts.append(f"<b>{n}</b>: {v}")
        self.verdict.setText("<br>".join(verdicts))

    def _update_buttons(self) -> None:
        n = len(self.selected_paths())
        self.open_button.setEnabled(n >= 1)
        self.report_button.setEnabled(n >= 1)

    # ---------------------------------------------------------------- buttons
    @Slot()
    def _on_choose_clicked(self) -> None:
        path = choose_root(self)
        if path:
            self.root.setText(path)
            settings.set_runs_root(path)
            self.refresh()

    @Slot()
    def _on_open_clicked(self) -> None:
        if self.selected:
            self.open_requested.emit(self.selected[0])

    @Slot(QTreeWidgetItem, int)
    def _on_item_double_clicked(self, item, column) -> None:
        job = Job(partial(_load, [item.data(0, PathRole)]), "read run", self)
        job.done.connect(self._on_double_loaded)
        job.start()

    @Slot(object)
    def _on_double_loaded(self, data: list[dict]) -> None:
        if data and "error" not in data[0]:
            self.open_requested.emit(data[0])

    @Slot()
    def _on_report_clicked(self) -> None:
        for p in self.selected_paths()[:2]:
            self.report_requested.emit(p)

    @Slot(object)
    def _on_job_failed(self, failure) -> None:
        self.status.setText(f"{failure.name} failed: {failure.message}")
