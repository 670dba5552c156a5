"""Add or edit one question/answer row by hand."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit,
                               QPlainTextEdit)

from ...core.records import Record
from .record_model import ROLE_CHOICES


class RecordDialog(QDialog):
    def __init__(self, record: Record | None = None, default_role: str = "", parent=None):
        super().__init__(parent)
        self.setWindowTitle("Edit row" if record else "Add row")
        self._base = record or Record(prompt="", answer="", role=default_role, source="added by hand")
        form = QFormLayout(self)
        self.prompt = QPlainTextEdit(self._base.prompt)
        self.prompt.setPlaceholderText("The question or instruction, as a user would type it")
        self.answer = QPlainTextEdit(self._base.answer)
        self.answer.setPlaceholderText("The answer to forget (forget set) or keep (retain set)")
        for w in (self.prompt, self.answer):
            w.setTabChangesFocus(True)
            w.setMinimumHeight(70)
        self.keys = QLineEdit("|".join(self._base.keys))
        self.keys.setPlaceholderText("optional: words that show the fact is still known, e.g. hogwarts|hog")
        self.role = QComboBox()
        self.role.addItems([r or "(none)" for r in ROLE_CHOICES])
        self.role.setCurrentIndex(ROLE_CHOICES.index(self._base.role) if self._base.role in ROLE_CHOICES else 0)
        self.message = QLabel()
        self.message.setObjectName("hint")
        form.addRow("Prompt", self.prompt)
        form.addRow("Answer", self.answer)
        form.addRow("Keywords", self.keys)
        form.addRow("Role", self.role)
        form.addRow(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_accepted)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.resize(560, 360)

    def record(self) -> Record:
        keys = tuple(k.strip().lower() for k in self.keys.text().split("|") if k.strip())
        return replace(self._base, prompt=self.prompt.toPlainText().strip(), answer=self.answer.toPlainText().strip(),
                       keys=keys, role=ROLE_CHOICES[self.role.currentIndex()], kind="qa")

    def _on_accepted(self) -> None:
        r = self.record()
        if not r.prompt or not r.answer:
            self.message.setText("Both a prompt and an answer are needed.")
            return
        self.accept()
