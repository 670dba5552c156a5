"""The before/after table with changed words highlighted, a filter and headline numbers."""
from __future__ import annotations

import html

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QRectF, Qt, Slot
from PySide6.QtGui import QAbstractTextDocumentLayout, QPalette, QTextDocument
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QSplitter, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTableView, QTabWidget,
                               QTextBrowser, QVBoxLayout, QWidget)

from ..theme import colors
from .compare_forget import AddToForget
from .compare_model import COLUMNS, FILTERS, CompareFilterProxy, CompareTableModel, DiffRole, RowRole
from .token_view import TokenViewPanel

ROW_LINES = 3  # rows have a fixed height (no per-update row measuring); the detail pane shows all


class DiffDelegate(QStyledItemDelegate):
    """Paints the HTML of ``DiffRole`` (highlighted words), wrapped to the cell width. Laid-out
    documents are cached by (html, width): repaints during a run then cost only the drawing."""

    CACHE_SIZE = 1024

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cache: dict[tuple[str, int, str], QTextDocument] = {}

    def _document(self, option, index) -> QTextDocument | None:
        text = index.data(DiffRole)
        if text is None:
            return None
        width = max(option.rect.width() - 6, 40)
        key = (text, width, option.font.key())
        doc = self._cache.get(key)
        if doc is None:
            if len(self._cache) >= self.CACHE_SIZE:
                self._cache.clear()
            doc = QTextDocument()
            doc.setDefaultFont(option.font)
            doc.setHtml(text)
            doc.setTextWidth(width)
            self._cache[key] = doc
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
        header = self.verticalHeader()
        header.hide()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setDefaultSectionSize(self.fontMetrics().lineSpacing() * ROW_LINES + 8)
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
        self.detail = QTextBrowser()
        self.detail.setPlaceholderText("Select a row to read it in full.")
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
        self.add_forget = AddToForget(self, top)  # tag from outputs: prompt + original answer -> forget
        self.token_view = TokenViewPanel()
        self.bottom = QTabWidget()  # the selected row in full, and its tokens coloured by probability
        self.bottom.addTab(self.detail, "Details")
        self.bottom.addTab(self.token_view, "Token view")
        self.bottom.currentChanged.connect(self._on_bottom_tab_changed)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.view)
        split.addWidget(self.bottom)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([400, 130])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self.model.dataChanged.connect(self._on_rows_changed)
        self.model.modelReset.connect(self._on_rows_changed)
        self.view.selectionModel().currentRowChanged.connect(self._on_current_row_changed)

    # ---------------------------------------------------------------- API
    def clear(self) -> None:
        self.model.clear()
        self.detail.clear()
        self.token_view.clear()
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

    @Slot()
    def _on_rows_changed(self, *args) -> None:
        self._update_headline()
        current = self.view.currentIndex()
        if not current.isValid() and self.proxy.rowCount():
            # the detail pane follows the current row; start at the first one (without selecting it)
            self.view.selectionModel().setCurrentIndex(self.proxy.index(0, 0),
                                                       QItemSelectionModel.SelectionFlag.NoUpdate)
        else:
            self._show_detail(current)

    @Slot(QModelIndex, QModelIndex)
    def _on_current_row_changed(self, current, previous) -> None:
        self._show_detail(current)
        self._show_tokens(current)

    @Slot(int)
    def _on_bottom_tab_changed(self, index: int) -> None:
        self._show_tokens(self.view.currentIndex())

    def show_token_view(self) -> None:
        self.bottom.setCurrentWidget(self.token_view)

    def _show_tokens(self, index) -> None:
        """Only while the token view is shown: measuring an item on demand costs two forward passes."""
        row = index.data(RowRole) if index.isValid() else None
        if row is not None and self.bottom.currentWidget() is self.token_view:
            self.token_view.show_item(row.prompt, row.reference)

    def _show_detail(self, index) -> None:
        row = index.data(RowRole) if index.isValid() else None
        if row is None:
            return
        src = self.proxy.mapToSource(index)
        m = self.model
        before = m.index(src.row(), COLUMNS.index("before"))
        after = m.index(src.row(), COLUMNS.index("after"))
        esc = html.escape
        keyword = m.index(src.row(), COLUMNS.index("keyword")).data()
        self.detail.setHtml(
            f"<b>{esc(row.set_label())}</b> · <b>Prompt:</b> {esc(row.prompt)}"
            f"<br><b>Reference:</b> {esc(row.reference)}"
            f"<br><b>Before:</b> {before.data(DiffRole) or esc(before.data() or '')}"
            f"<br><b>After:</b> {after.data(DiffRole) or esc(after.data() or '')}"
            + (f"<br><b>Keywords</b> ({esc('|'.join(row.keys))}): {esc(keyword)}" if row.keys else ""))

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
                color = c.muted if after == before == 0 else (c.hit if good else c.miss)
                parts.append(f"<b>{split.capitalize()}</b> keyword hits {before}/{total} → "
                             f'<span style="color:{color}"><b>{after}/{total} {arrow}</b></span>')
            if n:
                parts.append(f"{changed}/{n} {split} answers changed")
        self.headline.setText(" &nbsp;·&nbsp; ".join(parts) if parts else "")
