"""Rows of the before/after comparison, filled from ``Samples`` events as the run goes.

Rows appear with the "before" answers, the "After" column shows the latest intermediate answers
(stage "step") until the final ones arrive (stage "after"). Changed words are highlighted with
``core.evaluate.metrics.changed_words``; rows with keys show keyword hit/miss before and after.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

from ...core.evaluate.metrics import changed_words, keyword_hit
from ..theme import colors

COLUMNS = ("set", "prompt", "reference", "before", "after", "keyword")
HEADERS = ("Set", "Prompt", "Reference", "Answer before", "Answer after", "Keyword")
DiffRole = Qt.ItemDataRole.UserRole + 2  # HTML with highlighted words (before/after columns)
RowRole = Qt.ItemDataRole.UserRole + 3
FILTERS = (("all", "All rows"), ("forget", "Forget set"), ("retain", "Retain set"), ("probe", "Probes"))


@dataclass
class CompareRow:
    prompt: str
    split: str
    source: str
    reference: str
    keys: tuple[str, ...] = ()
    before: str | None = None
    after: str | None = None
    latest: str | None = None  # intermediate answer (stage "step")
    latest_step: int = 0

    def current(self) -> str | None:
        return self.after if self.after is not None else self.latest

    def hit(self, text: str | None) -> bool | None:
        return None if not self.keys or text is None else keyword_hit(text, self.keys)

    def set_label(self) -> str:
        return f"probe · {self.split}" if self.source == "probe" else self.source


def diff_html(before: str, after: str, side: str) -> str:
    """One side of a word diff as HTML: deletions on the before side, insertions on the after side."""
    c = colors()
    parts = []
    for op, text in changed_words(before, after):
        t = html.escape(text)
        if op == "equal":
            parts.append(t)
        elif op == "delete" and side == "before":
            parts.append(f'<span style="background-color:{c.delete_bg}">{t}</span>')
        elif op == "insert" and side == "after":
            parts.append(f'<span style="background-color:{c.insert_bg}">{t}</span>')
    return " ".join(p for p in parts if p)


class CompareTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[CompareRow] = []

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        col = COLUMNS[index.column()]
        if role == RowRole:
            return row
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._text(row, col)
        if role == DiffRole and col in ("before", "after"):
            return self._diff(row, col)
        if role == Qt.ItemDataRole.ForegroundRole and col == "keyword":
            good = self._good(row)
            return None if good is None else QColor(colors().hit if good else colors().miss)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in ("set", "keyword"):
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def _text(self, row: CompareRow, col: str) -> str:
        if col == "set":
            return row.set_label()
        if col == "before":
            return row.before if row.before is not None else "…"
        if col == "after":
            if row.after is not None:
                return row.after
            return f"(step {row.latest_step}) {row.latest}" if row.latest is not None else "…"
        if col == "keyword":
            b, a = row.hit(row.before), row.hit(row.current())
            if b is None and a is None:
                return "" if not row.keys else "…"
            word = {True: "hit", False: "miss", None: "…"}
            return f"{word[b]} → {word[a]}"
        return getattr(row, col)

    def _diff(self, row: CompareRow, col: str) -> str | None:
        before, current = row.before, row.current()
        if before is None or current is None:
            return None
        prefix = f"<i>(step {row.latest_step})</i> " if col == "after" and row.after is None else ""
        return prefix + diff_html(before, current, col)

    @staticmethod
    def _good(row: CompareRow) -> bool | None:
        hit = row.hit(row.current())
        if hit is None or row.split not in ("forget", "retain"):
            return None
        return (not hit) if row.split == "forget" else hit

    # ---------------------------------------------------------------- updates
    def clear(self) -> None:
        self.beginResetModel()
        self.rows = []
        self.endResetModel()

    def apply_samples(self, ev) -> None:
        """Merge a ``Samples`` event (stage before/step/after); rows are in the same order each time.
        Stage "probe" (a handful of rows answered with the live probe) only updates the rows it
        names, as intermediate answers; the table is never rebuilt from it."""
        if ev.stage == "probe":
            self._apply_probe_samples(ev)
            return
        if len(ev.rows) != len(self.rows) or any(r.prompt != g.prompt for r, g in zip(self.rows, ev.rows, strict=True)):
            self.beginResetModel()
            self.rows = [CompareRow(g.prompt, g.split, g.source, g.reference, tuple(g.keys)) for g in ev.rows]
            self.endResetModel()
        for row, g in zip(self.rows, ev.rows, strict=True):
            if ev.stage == "rows":
                continue  # prompts and references only; the answers come later
            if ev.stage == "before":
                row.before = g.text
            elif ev.stage == "after":
                row.after = g.text
            else:
                row.latest, row.latest_step = g.text, ev.step
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(COLUMNS) - 1))

    def _apply_probe_samples(self, ev) -> None:
        by_prompt = {(g.prompt, g.source): g.text for g in ev.rows}
        changed = []
        for i, row in enumerate(self.rows):
            text = by_prompt.get((row.prompt, row.source))
            if text is not None and ev.step > 0 and row.after is None and ev.step >= row.latest_step:
                row.latest, row.latest_step = text, ev.step
                changed.append(i)
        if changed:
            self.dataChanged.emit(self.index(min(changed), 0), self.index(max(changed), len(COLUMNS) - 1))

    def load_generations(self, gens: list[dict]) -> None:
        """Rows of a saved run (``summary.json`` "generations")."""
        self.beginResetModel()
        self.rows = [CompareRow(g.get("prompt", ""), g.get("split", ""), g.get("source", ""), g.get("reference", ""),
                                tuple(k for k in (g.get("keys") or "").split("|") if k), g.get("before"),
                                g.get("after")) for g in gens]
        self.endResetModel()

    def keyword_counts(self, split: str) -> tuple[int, int, int] | None:
        """(hits before, hits after, keyed rows) for a split, or None when no row has keys."""
        keyed = [r for r in self.rows if r.split == split and r.keys and r.before is not None]
        if not keyed:
            return None
        return (sum(bool(r.hit(r.before)) for r in keyed), sum(bool(r.hit(r.current())) for r in keyed
                                                                  if r.current() is not None), len(keyed))

    def changed_count(self, split: str) -> tuple[int, int]:
        rows = [r for r in self.rows if r.split == split and r.before is not None and r.current() is not None]
        return sum(r.before.strip() != r.current().strip() for r in rows), len(rows)


class CompareFilterProxy(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._source = "all"

    def set_source_filter(self, source: str) -> None:
        self.beginFilterChange()
        self._source = source
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:  # noqa: N802
        if self._source == "all":
            return True
        return self.sourceModel().rows[source_row].source == self._source
