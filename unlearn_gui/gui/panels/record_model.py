"""A table model over a list of core ``Record`` objects, with an editable role column.

Records are frozen: an edit replaces the record at its row (``dataclasses.replace``). The later
tagging editor builds on this model (role column, ``records()``/``set_records()``).
"""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QComboBox, QStyledItemDelegate

from ...core.common.records import ROLES, Record

COLUMNS = ("role", "prompt", "answer", "keys")
HEADERS = {"role": "Role", "prompt": "Prompt", "answer": "Answer", "keys": "Keywords"}
ROLE_CHOICES = ("", *ROLES, "other")
RecordRole = Qt.ItemDataRole.UserRole + 1  # the Record itself


class RecordTableModel(QAbstractTableModel):
    def __init__(self, records: list[Record] | None = None, parent=None):
        super().__init__(parent)
        self._records: list[Record] = list(records or [])

    # ---------------------------------------------------------------- Qt API
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return HEADERS[COLUMNS[section]]
        return str(section + 1)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        rec = self._records[index.row()]
        col = COLUMNS[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._text(rec, col)
        if role == Qt.ItemDataRole.ToolTipRole and col in ("prompt", "answer"):
            return f"{self._text(rec, col)}\n\n({rec.source})" if rec.source else self._text(rec, col)
        if role == RecordRole:
            return rec
        return None

    @staticmethod
    def _text(rec: Record, col: str) -> str:
        if col == "keys":
            return "|".join(rec.keys)
        if col == "prompt" and rec.kind == "text":
            return "(document)"
        return getattr(rec, col)

    def flags(self, index):
        base = super().flags(index)
        if index.isValid() and not (COLUMNS[index.column()] == "prompt" and self._records[index.row()].kind == "text"):
            base |= Qt.ItemFlag.ItemIsEditable
        return base

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole):  # noqa: N802
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        col = COLUMNS[index.column()]
        rec = self._records[index.row()]
        text = "" if value is None else str(value)
        if col in ("prompt", "answer") and not text.strip():
            return False  # an empty prompt or answer cannot train; keep the old text
        if col == "keys":
            new = replace(rec, keys=tuple(k.strip().lower() for k in text.split("|") if k.strip()))
        elif col == "role":
            if text not in ROLE_CHOICES:
                return False
            new = replace(rec, role=text)
        else:
            new = replace(rec, **{col: text})
        self._records[index.row()] = new
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole])
        return True

    # ---------------------------------------------------------------- records API
    def records(self) -> list[Record]:
        return list(self._records)

    def record(self, row: int) -> Record:
        return self._records[row]

    def set_records(self, records) -> None:
        self.beginResetModel()
        self._records = list(records)
        self.endResetModel()

    def append(self, record: Record) -> int:
        row = len(self._records)
        self.beginInsertRows(QModelIndex(), row, row)
        self._records.append(record)
        self.endInsertRows()
        return row

    def replace_record(self, row: int, record: Record) -> None:
        self._records[row] = record
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def remove_rows(self, rows) -> None:
        for row in sorted(set(rows), reverse=True):
            if 0 <= row < len(self._records):
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._records[row]
                self.endRemoveRows()


class RoleDelegate(QStyledItemDelegate):
    """A combo box for the role column: only the roles the core understands."""

    def createEditor(self, parent, option, index):  # noqa: N802
        box = QComboBox(parent)
        box.addItems([r or "(none)" for r in ROLE_CHOICES])
        return box

    def setEditorData(self, editor, index):  # noqa: N802
        value = index.data(Qt.ItemDataRole.EditRole) or ""
        editor.setCurrentIndex(ROLE_CHOICES.index(value) if value in ROLE_CHOICES else 0)

    def setModelData(self, editor, model, index: QModelIndex | QPersistentModelIndex):  # noqa: N802
        model.setData(index, ROLE_CHOICES[editor.currentIndex()], Qt.ItemDataRole.EditRole)
