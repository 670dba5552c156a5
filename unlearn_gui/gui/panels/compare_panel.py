"""The before/after table with changed words highlighted, a filter and headline numbers."""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QAbstractTextDocumentLayout, QPalette, QTextDocument
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTableView, QVBoxLayout, QWidget)

from ..theme import colors
from .compare_model import COLUMNS, FILTERS, CompareFilterProxy, CompareTableModel, DiffRole

MAX_ROW_HEIGHT = 110


class DiffDelegate(QStyledItemDelegate):
    """Paints the HTML of ``DiffRole`` (highlighted words), wrapped to the cell width."""

    def _document(self, option, index) -> QTextDocument | None:
        text = index.data(DiffRole)
        if text is None:
            return None
        doc = QTextDocument()
        doc.setDefaultFont(option.font)
        doc.setHtml(text)
        doc.setTextWidth(max(option.rect.width() - 6, 40))
        return doc

    def paint(self, painter, option, index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        doc = self._document(opt, index)
        if doc is None:
            super().paint(painter, option, index)
            return
        opt.text = ""
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        ctx = QAbstractTextDocumentLayout.PaintContext()
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        ctx.palette.setColor(QPalette.ColorRole.Text, opt.palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        painter.save()
        painter.translate(opt.rect.left() + 3, opt.rect.top() + 2)
        clip = QRectF(0, 0, opt.rect.width() - 3, opt.rect.height() - 2)
        painter.setClipRect(clip)
        ctx.clip = clip
        doc.documentLayout().draw(painter, ctx)
        painter.restore()

    def sizeHint(self, option, index) -> QSize:  # noqa: N802
        doc = self._document(option, index)
        if doc is None:
            return super().sizeHint(option, index)
        return QSize(int(doc.idealWidth()) + 6, min(int(doc.size().height()) + 4, MAX_ROW_HEIGHT))


class CompareView(QTableView):
    def __init__(self, model, parent=None):
        super().__init__(parent)
        self.setModel(model)
        self.setSortingEnabled(True)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # run order (forget, retain, probes) until a click
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalHeader().hide()
        delegate = DiffDelegate(self)
        for col in ("before", "after"):
            self.setItemDelegateForColumn(COLUMNS.index(col), delegate)
        h = self.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in (("set", 95), ("prompt", 250), ("reference", 230), ("before", 280), ("after", 280),
                           ("keyword", 90)):
            self.setColumnWidth(COLUMNS.index(col), width)
        h.setStretchLastSection(False)
        h.setSectionResizeMode(COLUMNS.index("after"), QHeaderView.ResizeMode.Stretch)


class ComparePanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = CompareTableModel(self)
        self.proxy = CompareFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.view = CompareView(self.proxy)
        self.filter = QComboBox()
        for key, label in FILTERS:
            self.filter.addItem(label, key)
        self.filter.setToolTip("Show the rows of one set only")
        self.filter.currentIndexChanged.connect(self._on_filter_changed)
        self.headline = QLabel("Answers appear here as soon as the run has generated the 'before' answers.")
        self.headline.setObjectName("headline")
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.headline.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.headline, 1)
        top.addWidget(QLabel("Show"))
        top.addWidget(self.filter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        self._resize = QTimer(self)
        self._resize.setSingleShot(True)
        self._resize.setInterval(50)
        self._resize.timeout.connect(self._on_resize_timeout)
        self.model.dataChanged.connect(self._on_rows_changed)
        self.model.modelReset.connect(self._on_rows_changed)
        self.view.horizontalHeader().sectionResized.connect(self._on_rows_changed)

    # ---------------------------------------------------------------- API
    def clear(self) -> None:
        self.model.clear()
        self.headline.setText("Waiting for the 'before' answers…")

    def on_samples(self, ev) -> None:
        self.model.apply_samples(ev)

    def load_generations(self, gens: list[dict]) -> None:
        self.model.load_generations(gens)

    def set_filter(self, key: str) -> None:
        self.filter.setCurrentIndex(next(i for i, (k, _) in enumerate(FILTERS) if k == key))

    def row_count(self) -> int:
        return self.proxy.rowCount()

    # ---------------------------------------------------------------- slots
    @Slot(int)
    def _on_filter_changed(self, index: int) -> None:
        self.proxy.set_source_filter(self.filter.itemData(index))
        self._resize.start()

    @Slot()
    def _on_rows_changed(self, *args) -> None:
        self._update_headline()
        self._resize.start()

    @Slot()
    def _on_resize_timeout(self) -> None:
        self.view.resizeRowsToContents()

    def _update_headline(self) -> None:
        if not self.model.rows:
            return
        c = colors()
        parts = []
        for split, want_down in (("forget", True), ("retain", False)):
            k = self.model.keyword_counts(split)
            changed, n = self.model.changed_count(split)
            if k is not None:
                before, after, total = k
                arrow = "▼" if after < before else ("▲" if after > before else "=")
                good = after < before if want_down else after >= before
                color = c.hit if good else c.miss
                parts.append(f"<b>{split.capitalize()}</b> keyword hits {before}/{total} → "
                             f'<span style="color:{color}"><b>{after}/{total} {arrow}</b></span>')
            if n:
                parts.append(f"{changed}/{n} {split} answers changed")
        self.headline.setText(" &nbsp;·&nbsp; ".join(parts) if parts else "")
