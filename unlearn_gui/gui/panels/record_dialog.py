"""Add or edit one row by hand: prompt, answer, and the optional fields TOFU-style metrics use."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit,
                               QPlainTextEdit)

from ...core.common.records import Record
from .record_model import ROLE_CHOICES


class RecordDialog(QDialog):
    def __init__(self, record: Record | None = None, default_role: str = "", parent=None,
                 roles: tuple[str, ...] = ROLE_CHOICES):
        super().__init__(parent)
        self.setWindowTitle("Edit row" if record else "Add row")
        self._roles = roles
        self._base = record or Record(prompt="", answer="", role=default_role, source="added by hand")
        self._document = self._base.kind == "text"
        form = QFormLayout(self)
        self.prompt = QPlainTextEdit(self._base.prompt)
        self.prompt.setPlaceholderText("(a document: the loss covers all of its tokens)" if self._document else
                                       "The question or instruction, as a user would type it")
        self.prompt.setEnabled(not self._document)
        self.answer = QPlainTextEdit(self._base.answer)
        self.answer.setPlaceholderText("The answer to forget (forget rows) or keep (retain rows)")
        for w in (self.prompt, self.answer):
            w.setTabChangesFocus(True)
            w.setMinimumHeight(70)
        self.paraphrase = QLineEdit(self._base.paraphrased_answer)
        self.paraphrase.setPlaceholderText("optional: the same answer in other words")
        self.perturbed = QPlainTextEdit("\n".join(self._base.perturbed_answers))
        self.perturbed.setPlaceholderText("optional: plausible wrong answers, one per line")
        self.perturbed.setTabChangesFocus(True)
        self.perturbed.setMaximumHeight(70)
        self.keys = QLineEdit("|".join(self._base.keys))
        self.keys.setPlaceholderText("optional: words that show the fact is still known, e.g. hogwarts|hog")
        self.role = QComboBox()
        self.role.addItems([r or "(none)" for r in roles])
        self.role.setCurrentIndex(roles.index(self._base.role) if self._base.role in roles else 0)
        self.message = QLabel()
        self.message.setObjectName("hint")
        form.addRow("Prompt", self.prompt)
        form.addRow("Answer" if not self._document else "Text", self.answer)
        form.addRow("Paraphrase", self.paraphrase)
        form.addRow("Perturbed", self.perturbed)
        form.addRow("Keywords", self.keys)
        form.addRow("Role", self.role)
        form.addRow(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_accepted)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.resize(600, 460)

    def record(self) -> Record:
        keys = tuple(k.strip().lower() for k in self.keys.text().split("|") if k.strip())
        perturbed = tuple(t for t in self.perturbed.toPlainText().split("\n") if t.strip())
        return replace(self._base, prompt="" if self._document else self.prompt.toPlainText().strip(),
                       answer=self.answer.toPlainText().strip(), keys=keys, role=self._roles[self.role.currentIndex()],
                       paraphrased_answer=self.paraphrase.text(), perturbed_answers=perturbed,
                       kind="text" if self._document else "qa")

    def _on_accepted(self) -> None:
        r = self.record()
        if not r.answer or not (r.prompt or self._document):
            self.message.setText("A text is needed." if self._document else "Both a prompt and an answer are needed.")
            return
        self.accept()
