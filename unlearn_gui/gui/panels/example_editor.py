"""The data editor widget: one table of examples with a role each, a search box, a role filter,
live counts, and the row actions (tag, add, edit, duplicate, delete) on keys and a context menu.

The table shows the model through a filter proxy; every action maps the view's selection back
to the model's rows first, so tagging and deleting work the same whether a filter is on or not.
"""
from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QLineEdit, QMenu, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from ...core.common.records import ROLES, Record
from .example_model import ExampleFilterProxy, ExampleTableModel, role_color
from .example_view import KEY_OF_ROLE, ExampleTableView
from .record_dialog import RecordDialog

ROLE_TIPS = {"forget": "the model should no longer know it", "retain": "the model must keep knowing it",
             "holdout": "never trained on: the baseline of the membership test",
             "ignore": "kept in the data, left out of runs"}


class ExampleEditor(QWidget):
    status = Signal(str)  # short messages for the status bar
    files_dropped = Signal(list)
    cancel_clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = ExampleTableModel(self)
        self.proxy = ExampleFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.view = ExampleTableView(self.proxy)
        self.view.tag_requested.connect(self.tag_selected)
        self.view.delete_requested.connect(self.delete_selected)
        self.view.duplicate_requested.connect(self.duplicate_selected)
        self.view.files_dropped.connect(self.files_dropped)
        self.view.customContextMenuRequested.connect(self._on_context_menu_requested)
        self.view.doubleClicked.connect(self._on_double_clicked)
        self._build_actions()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search prompts, answers, keywords, sources…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_text_changed)
        self.role_filter = QComboBox()
        self.role_filter.addItem("All roles", "")
        for role in ROLES:
            self.role_filter.addItem(role.capitalize(), role)
        self.role_filter.setToolTip("Show the rows of one role only")
        self.role_filter.currentIndexChanged.connect(self._on_role_filter_changed)
        self.counts_label = QLabel()
        self.counts_label.setTextFormat(Qt.TextFormat.RichText)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(200)  # one filter pass per pause in typing, not per key
        self._search_timer.timeout.connect(self._on_search_timer_timeout)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(160)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.search, 2)
        top.addWidget(self.role_filter)
        top.addWidget(self.counts_label, 3)
        busy = QHBoxLayout()
        busy.addWidget(self.hint, 1)
        busy.addWidget(self.progress)
        busy.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(busy)
        layout.addWidget(self.view, 1)
        for sig in (self.model.counts_changed, self.model.modelReset, self.proxy.rowsInserted,
                    self.proxy.rowsRemoved, self.proxy.modelReset, self.proxy.layoutChanged):
            sig.connect(self._on_rows_changed)
        self._on_rows_changed()

    def _build_actions(self) -> None:
        self.tag_actions: dict[str, QAction] = {}
        for role in ROLES:
            a = QAction(f"Tag as &{role}\t{KEY_OF_ROLE[role]}", self)
            a.setStatusTip(f"Selected rows: {ROLE_TIPS[role]}")
            a.setData(role)
            a.triggered.connect(self._on_tag_action_triggered)
            self.tag_actions[role] = a
        self.add_action = QAction("&Add row…", self)
        self.add_action.triggered.connect(self.add_row)
        self.edit_action = QAction("&Edit row…", self)
        self.edit_action.setStatusTip("Every field of the selected row (F2 or a double-click edits one cell)")
        self.edit_action.triggered.connect(self.edit_current)
        self.duplicate_action = QAction("D&uplicate rows\tCtrl+D", self)
        self.duplicate_action.triggered.connect(self.duplicate_selected)
        self.delete_action = QAction("&Delete rows\tDel", self)
        self.delete_action.triggered.connect(self.delete_selected)
        self.find_action = QAction("&Find…", self)
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        self.find_action.triggered.connect(self._on_find_triggered)
        self.row_actions = [*self.tag_actions.values(), self.add_action, self.edit_action, self.duplicate_action,
                            self.delete_action]

    # ---------------------------------------------------------------- API
    def selected_rows(self) -> list[int]:
        """Selected rows as rows of the model (not of the filtered view), ascending."""
        rows = self.view.selected_rows()
        if not self.proxy.is_filtered():
            return rows  # the proxy never sorts: unfiltered, its rows are the model's
        return sorted(self.proxy.mapToSource(self.proxy.index(r, 0)).row() for r in rows)

    def select_rows(self, rows) -> None:
        sel = QItemSelection()
        for r in rows:
            i = self.proxy.mapFromSource(self.model.index(r, 0))
            if i.isValid():
                sel.select(i, i)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.view.selectionModel().select(sel, flags)
        if not sel.isEmpty():
            self.view.selectionModel().setCurrentIndex(sel.indexes()[0], QItemSelectionModel.SelectionFlag.NoUpdate)

    def set_role_filter(self, role: str) -> None:
        self.role_filter.setCurrentIndex(self.role_filter.findData(role))

    def set_search(self, text: str) -> None:
        """Filter at once (the search box waits for a pause in typing)."""
        self.search.setText(text)
        self._search_timer.stop()
        self.proxy.set_filter(text=text)

    def set_busy(self, text: str) -> None:
        busy = bool(text)
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.hint.setText(text)
        else:
            self._on_rows_changed()

    def set_editable(self, editable: bool) -> None:
        t = self.view.EditTrigger
        self.view.setEditTriggers(t.DoubleClicked | t.EditKeyPressed if editable else t.NoEditTriggers)
        self.view.setAcceptDrops(editable)
        for a in self.row_actions:
            a.setEnabled(editable)

    def is_editable(self) -> bool:
        return self.view.acceptDrops()

    # ---------------------------------------------------------------- row actions
    @Slot(str)
    def tag_selected(self, role: str) -> None:
        rows = self.selected_rows()
        if not rows or not self.is_editable():
            return
        changed = self.model.set_roles(rows, role)
        self.status.emit(f"Tagged {changed} row(s) as {role}" if changed else f"Already {role}")

    @Slot()
    def delete_selected(self) -> None:
        rows = self.selected_rows()
        if rows and self.is_editable():
            n = self.model.remove_rows(rows)
            self.status.emit(f"Deleted {n} row(s) (Ctrl+Z brings them back)")

    @Slot()
    def duplicate_selected(self) -> None:
        rows = self.selected_rows()
        if rows and self.is_editable():
            self.select_rows(self.model.duplicate_rows(rows))

    @Slot()
    def add_row(self) -> None:
        role = self.proxy.role or "forget"
        dlg = RecordDialog(default_role=role, parent=self, roles=ROLES)
        if dlg.exec():
            self.add_records([dlg.record()], "Add row")

    def add_records(self, records: list[Record], text: str) -> range:
        rows = self.model.append_records(records, text)
        if rows:
            last = self.proxy.mapFromSource(self.model.index(rows[-1], 0))
            if last.isValid():
                self.view.scrollTo(last)
        return rows

    @Slot()
    def edit_current(self) -> None:
        rows = self.selected_rows()
        if not rows or not self.is_editable():
            return
        dlg = RecordDialog(self.model.record(rows[0]), parent=self, roles=ROLES)
        if dlg.exec():
            self.model.replace_record(rows[0], dlg.record())

    # ---------------------------------------------------------------- slots
    @Slot()
    def _on_tag_action_triggered(self) -> None:
        self.tag_selected(self.sender().data())

    @Slot(QPoint)
    def _on_context_menu_requested(self, pos: QPoint) -> None:
        menu = QMenu(self)
        for a in self.tag_actions.values():
            menu.addAction(a)
        menu.addSeparator()
        for a in (self.add_action, self.edit_action, self.duplicate_action, self.delete_action):
            menu.addAction(a)
        menu.popup(self.view.viewport().mapToGlobal(pos))

    @Slot()
    def _on_double_clicked(self, index) -> None:
        if index.isValid() and not index.flags() & Qt.ItemFlag.ItemIsEditable and self.is_editable():
            self.edit_current()  # documents' prompt cell, source column: open the whole row instead

    @Slot()
    def _on_find_triggered(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    @Slot(str)
    def _on_search_text_changed(self, _text: str) -> None:
        self._search_timer.start()

    @Slot()
    def _on_search_timer_timeout(self) -> None:
        self.proxy.set_filter(text=self.search.text())

    @Slot(int)
    def _on_role_filter_changed(self, index: int) -> None:
        self.proxy.set_filter(role=self.role_filter.itemData(index))

    @Slot()
    def _on_rows_changed(self, *args) -> None:
        counts = self.model.role_counts()
        parts = [f"<span style='color:{role_color(r)}'><b>{counts[r]:,}</b> {r}</span>" for r in ROLES]
        self.counts_label.setText(" · ".join(parts))
        if self.progress.isVisible():
            return
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        if not total:
            self.hint.setText("No examples yet. Drop files here (JSONL, JSON, CSV/TSV, Parquet, text, a datasets "
                              "folder), use Import…, or add rows by hand.")
        else:
            filtered = f"{shown:,} of {total:,} rows shown" if self.proxy.is_filtered() else f"{total:,} rows"
            self.hint.setText(f"{filtered}. Select rows and press F, R, H or I to tag them forget, retain, holdout "
                              "or ignore; double-click a cell to edit it.")
