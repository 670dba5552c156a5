"""Token view: the reference answer's tokens coloured by the probability the model gives each,
before and after (``core.evaluate.tokenview`` computes the numbers and the colours).

Rows come from ``RunResult.tokenview`` after a run or ``tokenview.json`` of a saved run (the first
forget items). For any other row of the comparison, the panel asks for it with ``wanted`` and the
main window computes it on the live model when there is one (``add_row`` shows the answer).
"""
from __future__ import annotations

import html

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QTextBrowser, QVBoxLayout, QWidget

from ...core.evaluate import tokenview

NO_DATA = ("No token view yet: it is measured at the end of a run (with the scorecard) for the first forget "
           "items; select any row of the comparison to measure it on the model in memory.")


def mean_p(pairs) -> float | None:
    ps = [float(p) for _, p in pairs if p == p]
    return sum(ps) / len(ps) if ps else None


def row_html(row: dict) -> str:
    """One item: prompt, reference, the before and after token strips and their mean probability."""
    def strip(side: str) -> str:
        pairs = row.get(side) or []
        m = mean_p(pairs)
        label = f"<b>{side.capitalize()}</b>" + (f" &nbsp;(mean token probability {m:.2f})" if m is not None else "")
        return f"<p style='margin:6px 0 2px 0'>{label}</p>" + tokenview.to_html(pairs, legend=False)

    return (f"<p><b>Prompt:</b> {html.escape(str(row.get('prompt', '')))}<br>"
            f"<b>Reference:</b> {html.escape(str(row.get('reference', '')))}</p>"
            + legend_html() + strip("before") + strip("after"))


def legend_html() -> str:
    """The colour key; Qt rich text ignores span padding and margins, so cells are spaced explicitly."""
    cells, lo = [], 0.0
    for hi, colour in tokenview.STEPS:
        cells.append(f'<span style="background-color:{colour}">&nbsp;{lo:.1f}–{min(hi, 1.0):.1f}&nbsp;</span>')
        lo = hi
    return "<p>Probability of each reference token: " + "&nbsp;".join(cells) + "</p>"


class TokenViewPanel(QWidget):
    wanted = Signal(str, str)  # (prompt, reference) of an item not measured yet

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[dict] = []
        self._can_compute = False
        self._waiting: tuple[str, str] | None = None
        self.combo = QComboBox()
        self.combo.setToolTip("Items with a token view; selecting a row of the comparison shows (or measures) it")
        self.combo.currentIndexChanged.connect(self._on_combo_changed)
        self.note = QLabel()
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        top = QHBoxLayout()
        top.addWidget(QLabel("Item"))
        top.addWidget(self.combo, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.note)
        layout.addWidget(self.browser, 1)
        self.clear()

    # ---------------------------------------------------------------- API
    def clear(self) -> None:
        self.set_rows([])

    def set_rows(self, rows) -> None:
        self.rows = [r for r in (rows or []) if isinstance(r, dict)]
        self._waiting = None
        self.combo.blockSignals(True)
        self.combo.clear()
        for r in self.rows:
            self.combo.addItem(_label(r))
        self.combo.blockSignals(False)
        if self.rows:
            self.combo.setCurrentIndex(0)
            self._render(0)
        else:
            self.browser.clear()
            self.note.setText(NO_DATA)

    def set_can_compute(self, on: bool) -> None:
        """True while a model is in memory to measure items that have no token view yet."""
        self._can_compute = on

    def add_row(self, row: dict | None) -> None:
        """A measured item (from ``wanted``); replaces an item with the same prompt and reference."""
        self._waiting = None
        if not row:
            self.note.setText("This item could not be measured (no answer tokens, or no original model in memory).")
            return
        i = self.find(row.get("prompt", ""), row.get("reference", ""))
        if i is None:
            self.rows.append(row)
            self.combo.addItem(_label(row))
            i = len(self.rows) - 1
        else:
            self.rows[i] = row
        self.select(i)

    def find(self, prompt: str, reference: str) -> int | None:
        return next((i for i, r in enumerate(self.rows)
                     if r.get("prompt") == prompt and r.get("reference") == reference), None)

    def select(self, i: int) -> None:
        if self.combo.currentIndex() == i:
            self._render(i)
        else:
            self.combo.setCurrentIndex(i)

    def show_item(self, prompt: str, reference: str) -> None:
        """Show this item's token view, or ask for it (``wanted``) when a model can measure it."""
        i = self.find(prompt, reference)
        if i is not None:
            self.select(i)
            return
        if not reference.strip():
            self.note.setText("This row has no reference answer, so there are no tokens to colour.")
        elif self._can_compute:
            if self._waiting != (prompt, reference):
                self._waiting = (prompt, reference)
                self.note.setText("Measuring this item on the model in memory…")
                self.wanted.emit(prompt, reference)
        else:
            self.note.setText("No token view for this item: a saved run holds it for its first forget items only "
                              "(pick one above).")

    def current_html(self) -> str:
        return self.browser.toHtml()

    # ---------------------------------------------------------------- slots
    @Slot(int)
    def _on_combo_changed(self, i: int) -> None:
        if 0 <= i < len(self.rows):
            self._render(i)

    def _render(self, i: int) -> None:
        self.note.setText(f"{len(self.rows)} item(s) measured. Green: the model gives the token high probability; "
                          "red: low. Unlearning shows as the content tokens turning red after.")
        self.browser.setHtml(row_html(self.rows[i]))


def _label(row: dict) -> str:
    p = str(row.get("prompt", "")).replace("\n", " ")
    return p if len(p) <= 80 else p[:77] + "…"
