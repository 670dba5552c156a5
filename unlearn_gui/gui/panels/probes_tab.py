"""Probe prompts: answered by the original and the unlearned model, never trained on.

A plain list next to the example editor (probes have a split forget/retain/other for the
compare table, not a training role). Loading a file replaces the list; it is read in the
background like every other data file.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableView,
                               QVBoxLayout, QWidget)

from ...core.data import readers
from ...core.common.records import Record
from .. import errors
from ..workers import Job
from .import_dialogs import choose_files
from .record_dialog import RecordDialog
from .record_model import COLUMNS, RecordTableModel, RoleDelegate

HINT = "Extra prompts answered before and after, never trained on (split: forget/retain/other)."


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
        for col, width in enumerate((70, 340, 380)):
            self.setColumnWidth(col, width)


class ProbesTab(QWidget):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = RecordTableModel(parent=self)
        self.source = ""
        self._busy = False
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 4, 0, 0)
        bar = QHBoxLayout()
        self.label = QLabel()
        self.label.setObjectName("hint")
        self.label.setWordWrap(True)
        bar.addWidget(self.label, 1)
        self.buttons = []
        for text, slot, tip in (("Load file…", self._on_load_clicked, "Replace the probes with a file's rows"),
                                ("Add…", self._on_add_clicked, "Type a probe prompt by hand"),
                                ("Edit…", self._on_edit_clicked, "Edit the selected probe"),
                                ("Remove", self._on_remove_clicked, "Remove the selected probes")):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            bar.addWidget(b)
            self.buttons.append(b)
        v.addLayout(bar)
        self.view = RecordTableView(self.model)
        v.addWidget(self.view)
        for sig in (self.model.rowsInserted, self.model.rowsRemoved, self.model.modelReset, self.model.dataChanged):
            sig.connect(self._on_model_changed)
        self._on_model_changed()

    def records(self) -> tuple[Record, ...]:
        return tuple(self.model.records())

    def count(self) -> int:
        return self.model.rowCount()

    def is_loading(self) -> bool:
        return self._busy

    def set_records(self, records, source: str = "") -> None:
        self.source = source
        self.model.set_records(records)

    def append(self, record: Record) -> None:
        self.model.append(record)

    def set_editable(self, editable: bool) -> None:
        t = QAbstractItemView.EditTrigger
        self.view.setEditTriggers(t.DoubleClicked | t.EditKeyPressed if editable else t.NoEditTriggers)
        for b in self.buttons:
            b.setEnabled(editable)

    def load(self, path: str) -> None:
        """Replace the probes with a file's rows, read on a worker thread."""
        self._busy = True
        self.label.setText(f"Reading {Path(path).name}…")
        job = Job(partial(_read, path), "read probes")
        job.done.connect(self._on_read)
        job.failed.connect(self._on_failed)
        job.start()

    # ---------------------------------------------------------------- slots
    @Slot()
    def _on_model_changed(self, *args) -> None:
        if not self._busy:
            src = f" · {Path(self.source).name}" if self.source else ""
            self.label.setText(f"{self.count()} probes{src} — {HINT}")
        self.changed.emit()

    @Slot(object)
    def _on_read(self, out) -> None:
        path, records, problems = out
        self._busy = False
        name = Path(path).name
        if not records and problems:
            self._on_model_changed()
            errors.show_error(self, f"No usable row in {name}: {problems[0]}", "\n".join(str(p) for p in problems))
            return
        self.set_records(records, path)
        if problems:
            errors.show_error(self, f"{len(problems)} row(s) of {name} could not be read and were skipped "
                                    f"({len(records)} loaded). First problem: {problems[0]}",
                              "\n".join(str(p) for p in problems))

    @Slot(object)
    def _on_failed(self, failure) -> None:
        self._busy = False
        self._on_model_changed()
        errors.show_error(self, f"Cannot load the probes: {failure.message}", failure.details)

    @Slot()
    def _on_load_clicked(self) -> None:
        paths = choose_files(self, "Load the probes", many=False)
        if paths:
            self.load(paths[0])

    @Slot()
    def _on_add_clicked(self) -> None:
        dlg = RecordDialog(parent=self)
        if dlg.exec():
            self.model.append(dlg.record())

    def _selected(self) -> list[int]:
        return sorted({i.row() for i in self.view.selectionModel().selectedRows()})

    @Slot()
    def _on_edit_clicked(self) -> None:
        rows = self._selected()
        if rows:
            dlg = RecordDialog(self.model.record(rows[0]), parent=self)
            if dlg.exec():
                self.model.replace_record(rows[0], dlg.record())

    @Slot()
    def _on_remove_clicked(self) -> None:
        self.model.remove_rows(self._selected())


def _read(path: str, progress) -> tuple:
    """Job body (no Qt): valid rows plus one DataError per bad row; file-level problems raise."""
    records, problems = readers.read_records_lenient(path)
    return path, records, problems
