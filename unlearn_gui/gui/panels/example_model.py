"""The data editor's model: one list of ``Record`` objects with a role each, every edit undoable.

All changes go through :class:`QUndoCommand` objects on ``undo_stack`` (Qt's command pattern), so
Undo/Redo covers cell edits, tagging, imports, additions, duplicates and deletions alike. A
command holds the records it replaced or removed; records are frozen dataclasses, so keeping them
costs a reference, not a copy. Rows move in contiguous runs with one ``beginInsertRows`` /
``beginRemoveRows`` per run: importing 100,000 rows is a single insertion, not 100,000.

Nothing here runs per row while painting: ``data()`` answers for the visible cells only, role
counts are kept up to date incrementally and the lowercase search text of a row is built once,
on the first search that needs it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Iterable, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor, QUndoCommand, QUndoStack

from ...core.common.records import ROLES, Record
from ..theme import colors

COLUMNS = ("role", "prompt", "answer", "paraphrase", "perturbed", "keys", "source")
HEADERS = {"role": "Role", "prompt": "Prompt", "answer": "Answer", "paraphrase": "Paraphrased answer",
           "perturbed": "Perturbed answers", "keys": "Keywords", "source": "Source"}
TIPS = {"role": "forget: unlearn it · retain: keep it · holdout: never trained, the membership test's baseline · "
                "ignore: kept in the file, left out of runs (keys F, R, H, I)",
        "paraphrase": "Optional: the same answer in other words (TOFU's truth ratio)",
        "perturbed": "Optional: plausible wrong answers, one per line (TOFU's truth ratio)",
        "keys": "Optional: lowercase words that show the fact is still known, separated by |",
        "source": "Where the row came from (file:line)"}
TEXT_COLUMNS = ("prompt", "answer", "paraphrase", "perturbed")  # multi-line editors
RecordRole = Qt.ItemDataRole.UserRole + 1
DISPLAY_CHARS = 300  # a cell shows at most this much; the tooltip and the editor show everything
HOLDOUT_COLOR = "#8e24aa"


def role_color(role: str) -> str:
    c = colors()
    return {"forget": c.forget, "retain": c.retain, "holdout": HOLDOUT_COLOR}.get(role, c.muted)


def cell_text(rec: Record, col: str) -> str:
    """The editable text of one field (EditRole)."""
    if col == "prompt":
        return rec.prompt
    if col == "answer":
        return rec.answer
    if col == "paraphrase":
        return rec.paraphrased_answer
    if col == "perturbed":
        return "\n".join(rec.perturbed_answers)
    if col == "keys":
        return "|".join(rec.keys)
    return getattr(rec, col)


def with_cell(rec: Record, col: str, text: str) -> Record | None:
    """``rec`` with one field replaced from the editor's text, or None when the text is not valid
    (an empty prompt or answer cannot train, an unknown role has no meaning to the engine)."""
    if col in ("prompt", "answer") and not text.strip():
        return None
    if col == "role":
        return replace(rec, role=text) if text in ROLES else None
    if col == "prompt":
        return replace(rec, prompt=text) if rec.kind != "text" else None
    if col == "answer":
        return replace(rec, answer=text)
    if col == "paraphrase":
        return replace(rec, paraphrased_answer=text)
    if col == "perturbed":
        return replace(rec, perturbed_answers=tuple(t for t in text.split("\n") if t.strip()))
    if col == "keys":
        return replace(rec, keys=tuple(k for k in (p.strip().lower() for p in text.split("|")) if k))
    return None


def retag(rec: Record, role: str) -> Record:
    """``rec.with_role(role)`` at a tenth of the cost: ``dataclasses.replace`` re-runs ``__init__``
    (about 4 us a record), which made tagging 100,000 selected rows take most of a second."""
    new = object.__new__(Record)
    new.__dict__.update(rec.__dict__)
    new.__dict__["role"] = role
    return new


def _runs(positions: Sequence[int]) -> list[tuple[int, int]]:
    """Ascending positions as (first, count) runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for p in positions:
        if runs and runs[-1][0] + runs[-1][1] == p:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((p, 1))
    return runs


class ExampleTableModel(QAbstractTableModel):
    """Rows of the data editor. Public edit methods push undo commands; ``_apply_*`` do the work."""

    counts_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[Record] = []
        self._hay: list[str | None] = []  # lowercase search text, built on demand
        self._counts: Counter = Counter()
        self.undo_stack = QUndoStack(self)
        self.edits = 0  # pushes so far: tells a finished background save whether it is still current

    # ---------------------------------------------------------------- Qt API
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Vertical:
            return str(section + 1) if role == Qt.ItemDataRole.DisplayRole else None
        col = COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            return TIPS.get(col)
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        rec = self._rows[index.row()]
        col = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if col == "prompt" and rec.kind == "text":
                return "(document: loss on all tokens)"
            if col == "perturbed":
                return " · ".join(rec.perturbed_answers)
            text = cell_text(rec, col)
            return text[:DISPLAY_CHARS].replace("\n", " ⏎ ")
        if role == Qt.ItemDataRole.EditRole:
            return cell_text(rec, col)
        if role == Qt.ItemDataRole.ToolTipRole and col in TEXT_COLUMNS:
            text = cell_text(rec, col)
            if col == "prompt" and rec.context:
                text += f"\n\n(after {len(rec.context)} earlier chat turns)"
            return text[:4000] or None
        if role == Qt.ItemDataRole.ForegroundRole and col == "role":
            return QColor(role_color(rec.role))
        if role == Qt.ItemDataRole.ForegroundRole and col == "source":
            return QColor(colors().muted)
        if role == RecordRole:
            return rec
        return None

    def flags(self, index):
        base = super().flags(index)
        if not index.isValid():
            return base
        col = COLUMNS[index.column()]
        if col != "source" and not (col == "prompt" and self._rows[index.row()].kind == "text"):
            base |= Qt.ItemFlag.ItemIsEditable
        return base

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole):  # noqa: N802
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        col = COLUMNS[index.column()]
        old = self._rows[index.row()]
        new = with_cell(old, col, "" if value is None else str(value))
        if new is None:
            return False
        if new != old:
            self._push(_Replace(self, {index.row(): (old, new)}, f"Edit {HEADERS[col].lower()}"))
        return True

    # ---------------------------------------------------------------- reading
    def records(self) -> list[Record]:
        return list(self._rows)

    def record(self, row: int) -> Record:
        return self._rows[row]

    def role_counts(self) -> dict[str, int]:
        return {r: self._counts.get(r, 0) for r in ROLES}

    def with_role(self, role: str) -> tuple[Record, ...]:
        return tuple(r for r in self._rows if r.role == role)

    def haystack(self, row: int) -> str:
        text = self._hay[row]
        if text is None:
            r = self._rows[row]
            text = "\n".join((r.prompt, r.answer, r.paraphrased_answer, *r.perturbed_answers, "|".join(r.keys),
                              r.source, *(v for _, v in r.extra))).lower()
            self._hay[row] = text
        return text

    # ---------------------------------------------------------------- undoable edits
    def set_roles(self, rows: Iterable[int], role: str) -> int:
        """Tag rows; returns how many changed (rows already carrying ``role`` are left alone)."""
        n, current = len(self._rows), self._rows
        changes = {r: (current[r], retag(current[r], role)) for r in set(rows)
                   if 0 <= r < n and current[r].role != role}
        if changes:
            self._push(_Replace(self, changes, f"Tag {len(changes)} row(s) as {role}"))
        return len(changes)

    def replace_record(self, row: int, record: Record, text: str = "Edit row") -> None:
        if self._rows[row] != record:
            self._push(_Replace(self, {row: (self._rows[row], record)}, text))

    def append_records(self, records: Sequence[Record], text: str = "Add rows") -> range:
        """Append in one undo step (and one ``beginInsertRows``); returns the new rows."""
        start = len(self._rows)
        if records:
            self._push(_Rows(self, list(enumerate(records, start)), insert=True, text=text))
        return range(start, start + len(records))

    def duplicate_rows(self, rows: Iterable[int]) -> list[int]:
        """A copy of each row right below it; returns the copies' rows."""
        rows = sorted(r for r in set(rows) if 0 <= r < len(self._rows))
        placed = [(r + i + 1, self._rows[r]) for i, r in enumerate(rows)]
        if placed:
            self._push(_Rows(self, placed, insert=True, text=f"Duplicate {len(placed)} row(s)"))
        return [p for p, _ in placed]

    def remove_rows(self, rows: Iterable[int]) -> int:
        picked = [(r, self._rows[r]) for r in sorted(set(rows)) if 0 <= r < len(self._rows)]
        if picked:
            self._push(_Rows(self, picked, insert=False, text=f"Delete {len(picked)} row(s)"))
        return len(picked)

    def reset_records(self, records: Sequence[Record]) -> None:
        """Replace everything and forget the undo history (opening a project, not an edit)."""
        self.beginResetModel()
        self._rows = list(records)
        self._hay = [None] * len(self._rows)
        self._counts = Counter(r.role for r in self._rows)
        self.endResetModel()
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.counts_changed.emit()

    def _push(self, command: QUndoCommand) -> None:
        self.edits += 1
        self.undo_stack.push(command)

    # ---------------------------------------------------------------- the work (called by commands)
    def _apply_replace(self, new_by_row: dict[int, Record]) -> None:
        for row, rec in new_by_row.items():
            self._counts[self._rows[row].role] -= 1
            self._counts[rec.role] += 1
            self._rows[row] = rec
            self._hay[row] = None
        first, last = min(new_by_row), max(new_by_row)
        self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))
        self.counts_changed.emit()

    def _apply_insert(self, placed: list[tuple[int, Record]]) -> None:
        """``placed``: ascending final positions; each run goes in with one beginInsertRows."""
        i = 0
        for first, count in _runs([p for p, _ in placed]):
            chunk = [rec for _, rec in placed[i:i + count]]
            i += count
            self.beginInsertRows(QModelIndex(), first, first + count - 1)
            self._rows[first:first] = chunk
            self._hay[first:first] = [None] * count
            self.endInsertRows()
            self._counts.update(r.role for r in chunk)
        self.counts_changed.emit()

    def _apply_remove(self, placed: list[tuple[int, Record]]) -> None:
        """``placed``: ascending current positions; removed from the end so positions hold."""
        for first, count in reversed(_runs([p for p, _ in placed])):
            self.beginRemoveRows(QModelIndex(), first, first + count - 1)
            self._counts.subtract(r.role for r in self._rows[first:first + count])
            del self._rows[first:first + count]
            del self._hay[first:first + count]
            self.endRemoveRows()
        self.counts_changed.emit()


class _Replace(QUndoCommand):
    def __init__(self, model: ExampleTableModel, changes: dict[int, tuple[Record, Record]], text: str):
        super().__init__(text)
        self.model, self.changes = model, changes

    def redo(self) -> None:
        self.model._apply_replace({r: new for r, (_, new) in self.changes.items()})

    def undo(self) -> None:
        self.model._apply_replace({r: old for r, (old, _) in self.changes.items()})


class _Rows(QUndoCommand):
    """Insertion and removal are each other's undo, over the same (position, record) list."""

    def __init__(self, model: ExampleTableModel, placed: list[tuple[int, Record]], insert: bool, text: str):
        super().__init__(text)
        self.model, self.placed, self.insert = model, placed, insert

    def redo(self) -> None:
        (self.model._apply_insert if self.insert else self.model._apply_remove)(self.placed)

    def undo(self) -> None:
        (self.model._apply_remove if self.insert else self.model._apply_insert)(self.placed)


class ExampleFilterProxy(QSortFilterProxyModel):
    """Role filter plus a case-insensitive search over every text field of a row."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._role = ""
        self._needle = ""

    @property
    def role(self) -> str:
        return self._role

    def set_filter(self, role: str | None = None, text: str | None = None) -> None:
        self.beginFilterChange()
        if role is not None:
            self._role = role
        if text is not None:
            self._needle = text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def is_filtered(self) -> bool:
        return bool(self._role or self._needle)

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:  # noqa: N802
        m: ExampleTableModel = self.sourceModel()
        if self._role and m.record(source_row).role != self._role:
            return False
        return not self._needle or self._needle in m.haystack(source_row)
