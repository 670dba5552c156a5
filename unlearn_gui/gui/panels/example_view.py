"""The data editor's table view: keyboard tagging, file drops, multi-line cell editors.

Tag keys (F, R, H, I), Delete and Ctrl+D are handled in ``keyPressEvent`` of the table itself
rather than as window shortcuts, so typing an "f" in the spot-check prompt or the search box
never retags anything. Menus show the keys after a tab ("Tag as forget\\tF"), which Qt displays
as a shortcut without registering one.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHeaderView, QPlainTextEdit, QStyledItemDelegate,
                               QTableView)

from ...core.common.records import ROLES
from .example_model import COLUMNS, TEXT_COLUMNS

TAG_KEYS = {Qt.Key.Key_F: "forget", Qt.Key.Key_R: "retain", Qt.Key.Key_H: "holdout", Qt.Key.Key_I: "ignore"}
KEY_OF_ROLE = {role: chr(int(key)) for key, role in TAG_KEYS.items()}
WIDTHS = {"role": 72, "prompt": 320, "answer": 320, "paraphrase": 160, "perturbed": 160, "keys": 110, "source": 130}


def local_paths(mime) -> list[str]:
    """Local files and folders in a drag's payload (web links are not data files)."""
    if mime is None or not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and Path(u.toLocalFile()).exists()]


class RoleDelegate(QStyledItemDelegate):
    """The role column edits with a combo box that commits as soon as a role is picked."""

    def createEditor(self, parent, option, index):  # noqa: N802
        box = QComboBox(parent)
        box.addItems(list(ROLES))
        box.activated.connect(self._on_activated)
        return box

    def setEditorData(self, editor, index):  # noqa: N802
        value = index.data(Qt.ItemDataRole.EditRole)
        editor.setCurrentIndex(ROLES.index(value) if value in ROLES else 0)

    def setModelData(self, editor, model, index):  # noqa: N802
        model.setData(index, ROLES[editor.currentIndex()], Qt.ItemDataRole.EditRole)

    def _on_activated(self, _index: int) -> None:
        editor = self.sender()
        self.commitData.emit(editor)
        self.closeEditor.emit(editor)


class TextDelegate(QStyledItemDelegate):
    """Prompts and answers may span lines: a plain-text editor a few lines tall. Enter commits,
    Shift+Enter starts a new line, Escape cancels (the usual table-cell contract)."""

    LINES = 6

    def createEditor(self, parent, option, index):  # noqa: N802
        editor = QPlainTextEdit(parent)
        editor.setTabChangesFocus(True)
        editor.installEventFilter(self)
        return editor

    def setEditorData(self, editor, index):  # noqa: N802
        editor.setPlainText(index.data(Qt.ItemDataRole.EditRole) or "")
        editor.selectAll()

    def setModelData(self, editor, model, index):  # noqa: N802
        model.setData(index, editor.toPlainText(), Qt.ItemDataRole.EditRole)

    def updateEditorGeometry(self, editor, option, index):  # noqa: N802
        rect = option.rect
        rect.setHeight(max(rect.height(), editor.fontMetrics().lineSpacing() * self.LINES + 10))
        editor.setGeometry(rect)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if (isinstance(obj, QPlainTextEdit) and event.type() == QEvent.Type.KeyPress
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            self.commitData.emit(obj)
            self.closeEditor.emit(obj, QStyledItemDelegate.EndEditHint.NoHint)
            return True
        return super().eventFilter(obj, event)


class ExampleTableView(QTableView):
    tag_requested = Signal(str)
    delete_requested = Signal()
    duplicate_requested = Signal()
    files_dropped = Signal(list)

    def __init__(self, model, parent=None):
        super().__init__(parent)
        self.setModel(model)
        # The column header asks the selection model whether each column is fully selected, which
        # checks flags() of every row: 3 s after Ctrl+A on 100,000 rows. Columns are never
        # selected here (rows are), so the header gets a selection model of its own, always empty.
        self.horizontalHeader().setSelectionModel(QItemSelectionModel(model, self))
        self.setItemDelegateForColumn(COLUMNS.index("role"), RoleDelegate(self))
        text = TextDelegate(self)
        for col in TEXT_COLUMNS:
            self.setItemDelegateForColumn(COLUMNS.index(col), text)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        t = QAbstractItemView.EditTrigger
        self.setEditTriggers(t.DoubleClicked | t.EditKeyPressed)  # letters tag rows, they do not start edits
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDropIndicatorShown(False)
        v = self.verticalHeader()
        v.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # no per-row measuring with 100,000 rows
        v.setDefaultSectionSize(self.fontMetrics().lineSpacing() + 8)
        h = self.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        h.setStretchLastSection(True)
        for col, width in WIDTHS.items():
            self.setColumnWidth(COLUMNS.index(col), width)

    def selected_rows(self) -> list[int]:
        """Selected rows of the view's model (the filter proxy), ascending. Read from the
        selection's ranges: ``selectedRows()`` would query flags() of every selected cell."""
        sm = self.selectionModel()
        rows: set[int] = set()
        for r in sm.selection() if sm else ():
            rows.update(range(r.top(), r.bottom() + 1))
        return sorted(rows)

    # ---------------------------------------------------------------- keys
    def keyPressEvent(self, event) -> None:  # noqa: N802
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        key = event.key()
        if self.editTriggers() != QAbstractItemView.EditTrigger.NoEditTriggers:
            if mods == Qt.KeyboardModifier.NoModifier and key in TAG_KEYS:
                self.tag_requested.emit(TAG_KEYS[key])
                return
            if mods == Qt.KeyboardModifier.NoModifier and key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
                self.delete_requested.emit()
                return
            if mods == Qt.KeyboardModifier.ControlModifier and key == Qt.Key.Key_D:
                self.duplicate_requested.emit()
                return
        super().keyPressEvent(event)

    # ---------------------------------------------------------------- drops (files only)
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if self.acceptDrops() and local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = local_paths(event.mimeData()) if self.acceptDrops() else []
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.files_dropped.emit(paths)
