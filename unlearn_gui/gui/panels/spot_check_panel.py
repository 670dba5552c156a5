"""Type any prompt and see the original and the unlearned model's answers side by side."""
from __future__ import annotations

import html

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QTextBrowser,
                               QVBoxLayout, QWidget)

from ...core.common.records import Record
from .compare_model import diff_html


class SpotCheckPanel(QWidget):
    asked = Signal(str)
    add_to_forget = Signal(object)  # Record(prompt, original answer, role "forget")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("Type any prompt, e.g. “Who is Harry Potter's godfather?”, then Ctrl+Enter")
        self.prompt.setMaximumHeight(70)
        self.prompt.installEventFilter(self)  # Ctrl+Enter asks even where the window's shortcut does not fire
        self.ask_button = QPushButton("Ask both models")
        self.ask_button.setToolTip("Answer with the original and the unlearned model (Ctrl+Enter); during a run the "
                                   "answer comes between two steps")
        self.ask_button.clicked.connect(self._on_ask_clicked)
        self.add_button = QPushButton("Add to forget set")
        self.add_button.setToolTip("Add this prompt with the original model's answer to the forget set")
        self.add_button.setEnabled(False)
        self.add_button.clicked.connect(self._on_add_clicked)
        self.status = QLabel()
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        self.status.setMinimumWidth(100)
        self.original = QTextBrowser()
        self.current = QTextBrowser()
        answers = QHBoxLayout()
        for title, box in (("Original model", self.original), ("Unlearned model", self.current)):
            group = QGroupBox(title)
            QVBoxLayout(group).addWidget(box)
            answers.addWidget(group)
        buttons = QHBoxLayout()
        buttons.addWidget(self.ask_button)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.prompt)
        layout.addLayout(buttons)
        layout.addLayout(answers, 1)
        self._waiting: int | None = None
        self._last: tuple[str, str] | None = None  # (prompt, original answer)
        self.set_available(False, "Spot-checks answer during and after a run.")

    # ---------------------------------------------------------------- API
    def set_available(self, available: bool, reason: str = "") -> None:
        self.ask_button.setEnabled(available)
        if reason or not available:
            self.status.setText(reason)

    def ask(self) -> None:
        text = self.prompt.toPlainText().strip()
        if text and self.ask_button.isEnabled():
            self.asked.emit(text)

    def show_pending(self, request_id: int | None, during_run: bool) -> None:
        if request_id is None:
            self.status.setText("No model yet: start a run first.")
            return
        self._waiting = request_id
        self.original.clear()
        self.current.clear()
        self.status.setText("Waiting for the next training step…" if during_run else "Generating…")

    def show_result(self, ev) -> None:
        if self._waiting is not None and ev.request_id != self._waiting:
            return
        self._waiting = None
        self._last = (ev.prompt, ev.original)
        self.original.setHtml(html.escape(ev.original) or "<i>(empty answer)</i>")
        self.current.setHtml(diff_html(ev.original, ev.current, "after") or "<i>(empty answer)</i>")
        self.status.setText(f"Answered at step {ev.step}. Highlighted: words the unlearned model says differently.")
        self.add_button.setEnabled(bool(ev.original.strip()))

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if (obj is self.prompt and event.type() == QEvent.Type.KeyPress
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            self.ask()
            return True
        return super().eventFilter(obj, event)

    # ---------------------------------------------------------------- slots
    @Slot()
    def _on_ask_clicked(self) -> None:
        self.ask()

    @Slot()
    def _on_add_clicked(self) -> None:
        if self._last is None:
            return
        prompt, answer = self._last
        self.add_to_forget.emit(Record(prompt=prompt, answer=answer, role="forget", source="spot-check"))
        self.add_button.setEnabled(False)
        self.status.setText("Added to the forget set.")
