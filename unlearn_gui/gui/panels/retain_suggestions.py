"""Suggest retain rows: general facts the model should keep knowing, picked from the TOFU
world-facts and real-authors sets shipped with the app (MIT, resources/tofu/) or from a file of
the user's own. A retain set guards against collateral damage; these sets are what TOFU itself
uses to measure model utility, so they are a sound default when the user has none."""
from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QPushButton, QTableView, QVBoxLayout)

from ...core.data import readers
from ...core.common.paths import resource
from ...core.common.records import Record
from .. import errors
from ..theme import colors
from ..workers import Job

SOURCES = {"world_facts": ("TOFU world facts", ("tofu", "world_facts_perturbed.json")),
           "real_authors": ("TOFU real authors", ("tofu", "real_authors_perturbed.json"))}
OWN_FILE = "file"
FILE_FILTER = "Data files (*.jsonl *.json *.csv *.tsv *.parquet);;All files (*)"


def choose_retain_file(parent) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Choose a file of retain examples", "", FILE_FILTER)
    return path or None


class SuggestionModel(QAbstractTableModel):
    """Candidate rows with a check box each; rows whose prompt is already in the table are shown
    greyed out and cannot be picked (no duplicates by accident)."""

    HEADERS = ("Add", "Prompt", "Answer", "Source")

    def __init__(self, existing: set[str], parent=None):
        super().__init__(parent)
        self.existing = existing
        self.rows: list[Record] = []
        self.checked: list[bool] = []

    def set_rows(self, rows: list[Record]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.checked = [False] * len(rows)
        self.endResetModel()

    def present(self, row: int) -> bool:
        return self.rows[row].prompt.strip() in self.existing

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        rec = self.rows[row]
        if col == 0 and role == Qt.ItemDataRole.CheckStateRole:
            return Qt.CheckState.Checked if self.checked[row] else Qt.CheckState.Unchecked
        if col == 0 and role == Qt.ItemDataRole.DisplayRole:
            return "in the table" if self.present(row) else ""
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole) and col:
            return (rec.prompt, rec.answer, rec.source)[col - 1]
        if role == Qt.ItemDataRole.ToolTipRole and self.present(row):
            return "Already in the data table (same prompt): not offered again"
        if role == Qt.ItemDataRole.ForegroundRole and self.present(row):
            return QColor(colors().muted)
        return None

    def flags(self, index):
        base = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
        if index.isValid() and index.column() == 0 and not self.present(index.row()):
            base |= Qt.ItemFlag.ItemIsUserCheckable
        return base

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole):  # noqa: N802
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != 0 or self.present(index.row()):
            return False
        self.checked[index.row()] = Qt.CheckState(value) == Qt.CheckState.Checked
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        return True

    def set_checked(self, rows, checked: bool = True) -> None:
        rows = [r for r in rows if 0 <= r < len(self.rows) and not self.present(r)]
        for r in rows:
            self.checked[r] = checked
        if rows:
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), 0), [Qt.ItemDataRole.CheckStateRole])

    def picked(self) -> list[Record]:
        return [r.with_role("retain") for r, c in zip(self.rows, self.checked) if c]


class _TextFilter(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.needle = ""

    def set_needle(self, text: str) -> None:
        self.beginFilterChange()
        self.needle = text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:  # noqa: N802
        if not self.needle:
            return True
        r = self.sourceModel().rows[source_row]
        return self.needle in r.prompt.lower() or self.needle in r.answer.lower()


def _read_file(path: str, progress) -> tuple[list, list]:
    return readers.read_records_lenient(path, default_role="retain")


class RetainSuggestionsDialog(QDialog):
    def __init__(self, existing_prompts: set[str], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Suggest retain rows")
        self.model = SuggestionModel({p.strip() for p in existing_prompts}, self)
        self.proxy = _TextFilter(self)
        self.proxy.setSourceModel(self.model)
        intro = QLabel("Facts the model should keep knowing after unlearning. Tick the rows to add; they join the "
                       "table tagged <b>retain</b>. Pick rows unrelated to what is being forgotten.")
        intro.setWordWrap(True)
        self.source = QComboBox()
        for key, (label, _) in SOURCES.items():
            self.source.addItem(label, key)
        self.source.addItem("From a file of your own…", OWN_FILE)
        self.source.activated.connect(self._on_source_activated)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_needle)
        top = QHBoxLayout()
        top.addWidget(QLabel("Source"))
        top.addWidget(self.source)
        top.addWidget(self.search, 1)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        h = self.view.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        h.setStretchLastSection(True)
        for col, width in enumerate((110, 340, 220)):
            self.view.setColumnWidth(col, width)
        pick = QHBoxLayout()
        for text, checked in (("Tick shown rows", True), ("Untick all", False)):
            b = QPushButton(text)
            b.setProperty("checked", checked)
            b.clicked.connect(self._on_tick_clicked)
            pick.addWidget(b)
        self.summary = QLabel()
        self.summary.setObjectName("hint")
        pick.addWidget(self.summary, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        v = QVBoxLayout(self)
        v.addWidget(intro)
        v.addLayout(top)
        v.addWidget(self.view, 1)
        v.addLayout(pick)
        v.addWidget(self.buttons)
        self.model.dataChanged.connect(self._on_model_changed)
        self.model.modelReset.connect(self._on_model_changed)
        self.resize(860, 560)
        self.load_source("world_facts")

    # ---------------------------------------------------------------- API
    def load_source(self, key: str, path: str | None = None) -> None:
        """One of SOURCES, or OWN_FILE with ``path`` (read in the background)."""
        if key == OWN_FILE:
            self.summary.setText(f"Reading {Path(path).name}…")
            job = Job(partial(_read_file, path), "read retain file")
            job.done.connect(self._on_file_read)
            job.failed.connect(self._on_file_failed)
            job.start()
            return
        self.source.setCurrentIndex(self.source.findData(key))
        try:
            self.model.set_rows(readers.read_records(resource(*SOURCES[key][1]), default_role="retain"))
        except (readers.DataError, OSError) as e:
            errors.show_error(self, f"Cannot read the {SOURCES[key][0]} set: {errors.one_line(e)}", str(e))

    def check_rows(self, rows, checked: bool = True) -> None:
        self.model.set_checked(rows, checked)

    def records(self) -> list[Record]:
        return self.model.picked()

    # ---------------------------------------------------------------- slots
    @Slot(int)
    def _on_source_activated(self, index: int) -> None:
        key = self.source.itemData(index)
        if key != OWN_FILE:
            self.load_source(key)
            return
        path = choose_retain_file(self)
        if path:
            self.load_source(OWN_FILE, path)

    @Slot(object)
    def _on_file_read(self, out) -> None:
        records, problems = out
        self.model.set_rows(records)
        if problems:
            errors.show_error(self, f"{len(problems)} row(s) could not be read and are not offered. "
                                    f"First: {problems[0]}", "\n".join(str(p) for p in problems))

    @Slot(object)
    def _on_file_failed(self, failure) -> None:
        self._on_model_changed()
        errors.show_error(self, f"Cannot read the retain file: {failure.message}", failure.details)

    @Slot()
    def _on_tick_clicked(self) -> None:
        checked = bool(self.sender().property("checked"))
        rows = ([self.proxy.mapToSource(self.proxy.index(r, 0)).row() for r in range(self.proxy.rowCount())]
                if checked else range(self.model.rowCount()))
        self.model.set_checked(rows, checked)

    @Slot()
    def _on_model_changed(self, *args) -> None:
        n = sum(self.model.checked)
        present = sum(self.model.present(r) for r in range(self.model.rowCount()))
        self.summary.setText(f"{n} of {self.model.rowCount()} ticked" + (f" · {present} already in the table"
                                                                        if present else ""))
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(f"Add {n} as retain" if n else "Add")
        ok.setEnabled(n > 0)


def choose_retain_rows(parent, existing_prompts: set[str]) -> list[Record] | None:
    dlg = RetainSuggestionsDialog(existing_prompts, parent)
    return dlg.records() if dlg.exec() else None
