"""Forget, retain and probe sets as tables with counts: load files, add or edit rows by hand."""
from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableView, QTabWidget, QVBoxLayout, QWidget)

from ...core import readers
from ...core.paths import DEMO_FORGET, DEMO_PROBES, DEMO_RETAIN, resource
from ...core.records import Record
from .. import errors
from ..workers import Job
from .record_dialog import RecordDialog
from .record_model import COLUMNS, RecordTableModel, RoleDelegate

SETS = ("forget", "retain", "probes")
TITLES = {"forget": "Forget", "retain": "Retain", "probes": "Probes"}
DEFAULT_ROLE = {"forget": "forget", "retain": "retain", "probes": ""}
HINTS = {
    "forget": "What the model should no longer know.",
    "retain": "What it must keep knowing (guards against collateral damage).",
    "probes": "Extra prompts answered before and after, never trained on (split: forget/retain).",
}
FILE_FILTER = "Data files (*.jsonl *.json *.csv *.tsv *.parquet *.txt *.md);;All files (*)"


class RecordTableView(QTableView):
    def __init__(self, model: RecordTableModel, parent=None):
        super().__init__(parent)
        self.setModel(model)
        self.setItemDelegateForColumn(COLUMNS.index("role"), RoleDelegate(self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().setDefaultSectionSize(24)
        h = self.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        h.setStretchLastSection(True)
        self.setColumnWidth(0, 70)
        self.setColumnWidth(1, 340)
        self.setColumnWidth(2, 380)


class DataPanel(QWidget):
    counts_changed = Signal(dict)  # {"forget": n, "retain": n, "probes": n}

    def __init__(self, parent=None):
        super().__init__(parent)
        self.models = {name: RecordTableModel(parent=self) for name in SETS}
        self.views: dict[str, RecordTableView] = {}
        self.sources: dict[str, str] = {name: "" for name in SETS}
        self._labels: dict[str, QLabel] = {}
        self._busy: set[str] = set()
        self.tabs = QTabWidget()
        for name in SETS:
            self.tabs.addTab(self._build_tab(name), TITLES[name])
            m = self.models[name]
            for sig in (m.rowsInserted, m.rowsRemoved, m.modelReset, m.dataChanged):
                sig.connect(self._on_model_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self._on_model_changed()

    def _build_tab(self, name: str) -> QWidget:
        tab = QWidget()
        v = QVBoxLayout(tab)
        v.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        label = QLabel()
        label.setObjectName("hint")
        label.setWordWrap(True)
        label.setMinimumWidth(120)
        self._labels[name] = label
        bar.addWidget(label, 1)
        for text, slot, tip in (("Load file…", self._on_load_clicked, "Replace this table with the rows of a file"),
                                ("Add…", self._on_add_clicked, "Type a prompt and its answer by hand"),
                                ("Edit…", self._on_edit_clicked, "Edit the selected row (or double-click a cell)"),
                                ("Remove", self._on_remove_clicked, "Remove the selected rows")):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.setProperty("set", name)
            b.clicked.connect(slot)
            bar.addWidget(b)
        v.addLayout(bar)
        view = RecordTableView(self.models[name])
        self.views[name] = view
        v.addWidget(view)
        return tab

    # ---------------------------------------------------------------- API
    def current_set(self) -> str:
        return SETS[self.tabs.currentIndex()]

    def show_set(self, name: str) -> None:
        self.tabs.setCurrentIndex(SETS.index(name))

    def rows(self, name: str) -> tuple[Record, ...]:
        return tuple(self.models[name].records())

    def counts(self) -> dict[str, int]:
        return {name: self.models[name].rowCount() for name in SETS}

    def is_loading(self) -> bool:
        return bool(self._busy)

    def add_record(self, name: str, record: Record) -> None:
        self.models[name].append(record)
        self.views[name].scrollToBottom()

    def load_demo(self) -> None:
        """The shipped demo sets (small files, read at once)."""
        for name, parts in (("forget", DEMO_FORGET), ("retain", DEMO_RETAIN), ("probes", DEMO_PROBES)):
            path = resource(*parts)
            try:
                self._apply(name, str(path), readers.read_records(path, default_role=DEFAULT_ROLE[name]), [])
            except (readers.DataError, OSError) as e:
                errors.show_error(self, f"Cannot read the demo {name} set: {errors.one_line(e)}", str(e))

    def load_file(self, name: str, path: str) -> None:
        """Read a file in the background; problems end in an error dialog, never a crash."""
        self._busy.add(name)
        self._labels[name].setText(f"Reading {Path(path).name}…")
        job = Job(partial(_read, name, path), f"read {name}")
        job.done.connect(self._on_file_read)
        job.failed.connect(self._on_file_failed)
        job.start()

    def set_editable(self, editable: bool) -> None:
        t = QAbstractItemView.EditTrigger
        for view in self.views.values():
            view.setEditTriggers(t.DoubleClicked | t.EditKeyPressed if editable else t.NoEditTriggers)
        for b in self.findChildren(QPushButton):
            b.setEnabled(editable)

    # ---------------------------------------------------------------- slots
    @Slot(object)
    def _on_file_read(self, out) -> None:
        name, path, records, problems = out
        self._busy.discard(name)
        self._apply(name, path, records, problems)

    @Slot(object)
    def _on_file_failed(self, failure) -> None:
        name = failure.name.split()[-1]
        self._busy.discard(name)
        self._on_model_changed()
        errors.show_error(self, f"Cannot load the {name} set: {failure.message}", failure.details)

    def _apply(self, name: str, path: str, records: list[Record], problems: list) -> None:
        if not records and problems:
            self._on_model_changed()
            errors.show_error(self, f"No usable row in {Path(path).name}: {problems[0]}",
                              "\n".join(str(p) for p in problems))
            return
        self.models[name].set_records(records)
        self.sources[name] = path
        self._on_model_changed()
        if problems:
            errors.show_error(self, f"{len(problems)} row(s) of {Path(path).name} could not be read and were skipped "
                                    f"({len(records)} loaded). First problem: {problems[0]}",
                              "\n".join(str(p) for p in problems))

    @Slot()
    def _on_model_changed(self, *args) -> None:
        counts = self.counts()
        for i, name in enumerate(SETS):
            self.tabs.setTabText(i, f"{TITLES[name]} ({counts[name]})")
            if name not in self._busy:
                src = f" · {Path(self.sources[name]).name}" if self.sources[name] else ""
                self._labels[name].setText(f"{counts[name]} rows{src} — {HINTS[name]}")
        self.counts_changed.emit(counts)

    def _sender_set(self) -> str:
        return self.sender().property("set") or self.current_set()

    @Slot()
    def _on_load_clicked(self) -> None:
        name = self._sender_set()
        path, _ = QFileDialog.getOpenFileName(self, f"Load the {name} set", "", FILE_FILTER)
        if path:
            self.load_file(name, path)

    @Slot()
    def _on_add_clicked(self) -> None:
        name = self._sender_set()
        dlg = RecordDialog(default_role=DEFAULT_ROLE[name], parent=self)
        if dlg.exec():
            self.add_record(name, dlg.record())

    @Slot()
    def _on_edit_clicked(self) -> None:
        name = self._sender_set()
        rows = sorted({i.row() for i in self.views[name].selectionModel().selectedRows()})
        if not rows:
            return
        model = self.models[name]
        dlg = RecordDialog(model.record(rows[0]), parent=self)
        if dlg.exec():
            model.replace_record(rows[0], dlg.record())

    @Slot()
    def _on_remove_clicked(self) -> None:
        name = self._sender_set()
        self.models[name].remove_rows(i.row() for i in self.views[name].selectionModel().selectedRows())


def _read(name: str, path: str, progress) -> tuple:
    """Job body (no Qt): valid rows plus one DataError per bad row; file-level problems raise."""
    records, problems = readers.read_records_lenient(path, default_role=DEFAULT_ROLE[name])
    return name, path, records, problems
