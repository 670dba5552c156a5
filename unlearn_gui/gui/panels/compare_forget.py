"""Tag from outputs: "Add to forget set" on the before/after table.

A row the original model answered with something it should not know becomes a forget example:
its prompt with the model's own original ("before") answer, which is exactly the text unlearning
should make unlikely. Kept apart from ``compare_panel`` so the table's own code stays about
showing answers; the panel only places the button.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QPoint, Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QPushButton

from ...core.common.records import Record

SOURCE = "compare table"


def forget_records(rows) -> list[Record]:
    """Records for compare rows that have an original answer (rows still waiting have none)."""
    return [Record(prompt=r.prompt, answer=r.before, role="forget", source=SOURCE)
            for r in rows if r.before is not None and r.before.strip() and r.prompt.strip()]


class AddToForget(QObject):
    """The button (placed in ``layout``) and the table's context menu entry."""

    requested = Signal(list)  # Records tagged forget

    def __init__(self, panel, layout):
        super().__init__(panel)
        self.panel = panel
        self.button = QPushButton("Add to forget set")
        self.button.setToolTip("Add the selected rows to the data table as forget rows: each prompt with the "
                               "original model's answer (the 'before' column)")
        self.button.setEnabled(False)
        self.button.clicked.connect(self.trigger)
        layout.addWidget(self.button)
        self.action = QAction("Add to forget set (prompt + original answer)", self)
        self.action.triggered.connect(self.trigger)
        view = panel.view
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._on_context_menu_requested)
        view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        panel.model.dataChanged.connect(self._on_selection_changed)

    def selected(self) -> list:
        """Selected compare rows in run order (whatever the table's sorting)."""
        view = self.panel.view
        proxy = view.model()
        rows = sorted({proxy.mapToSource(i).row() for i in view.selectionModel().selectedRows()})
        return [self.panel.model.rows[r] for r in rows]

    def records(self) -> list[Record]:
        return forget_records(self.selected())

    @Slot()
    def trigger(self) -> None:
        records = self.records()
        if records:
            self.requested.emit(records)

    @Slot()
    def _on_selection_changed(self, *args) -> None:
        n = len(self.records())
        self.button.setEnabled(n > 0)
        self.button.setText(f"Add {n} to forget set" if n > 1 else "Add to forget set")
        self.action.setEnabled(n > 0)

    @Slot(QPoint)
    def _on_context_menu_requested(self, pos: QPoint) -> None:
        self._on_selection_changed()
        menu = QMenu(self.panel)
        menu.addAction(self.action)
        menu.popup(self.panel.view.viewport().mapToGlobal(pos))
