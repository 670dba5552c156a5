"""The questions an import may ask: which role untagged rows get (and how to split a plain-text
document), and, when a file's columns are not recognised, which column means what.

Each dialog is opened through a module function (``choose_*``) that tests replace, as they do
``errors.show_error``; the dialog classes stay usable on their own.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QRadioButton, QSpinBox, QTableView, QVBoxLayout, QWidget)

from ...core.data.readers import MAPPING_TARGETS
from ...core.data.formats import preview_of
from ...core.common.records import ROLES

TARGET_LABELS = {"prompt": "Prompt (question, instruction)", "input": "Extra input (added to the prompt)",
                 "answer": "Answer (target)", "text": "Raw text (a document; no prompt)",
                 "messages": "Chat messages (list of turns)", "paraphrased_answer": "Paraphrased answer",
                 "perturbed_answer": "Perturbed answers", "keys": "Keywords", "role": "Role / split"}
_GUESSES = {"prompt": ("query", "q", "instruction_text", "user", "input_text", "src", "source_text", "context"),
            "answer": ("a", "target", "output_text", "reply", "assistant", "label", "tgt", "target_text", "gold"),
            "text": ("content", "document", "body", "passage", "article", "doc"),
            "keys": ("keywords", "key", "tags"), "role": ("tag", "set", "subset")}
PREVIEW_ROWS = 20
FILE_FILTER = "Data files (*.jsonl *.ndjson *.json *.csv *.tsv *.parquet *.txt *.md);;All files (*)"


def choose_files(parent, title: str, many: bool = True) -> list[str]:
    """The open-file dialog for imports, projects and probes."""
    if many:
        paths, _ = QFileDialog.getOpenFileNames(parent, title, "", FILE_FILTER)
        return paths
    path, _ = QFileDialog.getOpenFileName(parent, title, "", FILE_FILTER)
    return [path] if path else []


@dataclass(frozen=True)
class ImportOptions:
    role: str = "forget"  # given to rows whose file has no role
    text_mode: str = "paragraphs"  # plain-text documents: paragraphs, windows or whole
    window_tokens: int = 256


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """A starting point for the mapping dialog from common column names (the user confirms it)."""
    lower = {c.lower(): c for c in columns}
    out: dict[str, str] = {}
    for target, names in _GUESSES.items():
        hit = next((lower[n] for n in names if n in lower and lower[n] not in out.values()), None)
        if hit:
            out[target] = hit
    if not ({"prompt", "answer"} <= out.keys() or "text" in out):
        if len(columns) == 1:
            out = {"text": columns[0]}
        elif len(columns) == 2:
            out = {"prompt": columns[0], "answer": columns[1]}
    return out


def mapping_problem(mapping: dict[str, str]) -> str:
    """Why a mapping cannot be used yet ("" when it can): the same rule readers apply."""
    if not ("messages" in mapping or "text" in mapping or {"prompt", "answer"} <= mapping.keys()):
        return "Choose a prompt and an answer column, a text column or a chat messages column."
    used = list(mapping.values())
    if len(used) != len(set(used)):
        return "Each column can be used once."
    return ""


# ---------------------------------------------------------------- role and text split

class ImportOptionsDialog(QDialog):
    def __init__(self, title: str, intro: str, text_doc: bool, default_role: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        form = QFormLayout(self)
        text = QLabel(intro)
        text.setWordWrap(True)
        form.addRow(text)
        self.mode_group = QButtonGroup(self)
        self.window_tokens = QSpinBox()
        self.window_tokens.setRange(16, 8192)
        self.window_tokens.setValue(256)
        self.window_tokens.setSuffix(" words")
        if text_doc:
            form.addRow(QLabel("Plain-text documents are split into rows by:"))
            modes = QWidget()
            v = QVBoxLayout(modes)
            v.setContentsMargins(0, 0, 0, 0)
            for i, (key, label) in enumerate((("paragraphs", "Paragraphs (blank lines between them)"),
                                              ("windows", "Windows of a fixed length"),
                                              ("whole", "The whole file as one row"))):
                b = QRadioButton(label)
                b.setProperty("mode", key)
                b.setChecked(i == 0)
                self.mode_group.addButton(b)
                v.addWidget(b)
                if key == "windows":
                    row = QHBoxLayout()
                    row.addSpacing(24)
                    row.addWidget(self.window_tokens)
                    row.addStretch(1)
                    v.addLayout(row)
            form.addRow(modes)
        self.role = QComboBox()
        self.role.addItems(list(ROLES))
        self.role.setCurrentIndex(ROLES.index(default_role) if default_role in ROLES else 0)
        self.role.setToolTip("Rows can be retagged at any time with F, R, H or I")
        form.addRow("Rows without a role become", self.role)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def options(self) -> ImportOptions:
        checked = self.mode_group.checkedButton()
        return ImportOptions(role=ROLES[self.role.currentIndex()],
                             text_mode=checked.property("mode") if checked else "paragraphs",
                             window_tokens=self.window_tokens.value())


def choose_import_options(parent, title: str, intro: str, *, text_doc: bool = False,
                          default_role: str = "forget") -> ImportOptions | None:
    """Role for untagged rows (and the split of plain-text documents); None when cancelled."""
    dlg = ImportOptionsDialog(title, intro, text_doc, default_role, parent)
    return dlg.options() if dlg.exec() else None


# ---------------------------------------------------------------- column mapping

class PreviewModel(QAbstractTableModel):
    """The first rows of the file as the reader sees them (a handful of rows, read-only)."""

    def __init__(self, columns: list[str], rows: list[tuple[int, dict]], parent=None):
        super().__init__(parent)
        self.columns, self.rows = columns, rows

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return str(self.rows[section][0])  # the file's own line number

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        value = self.rows[index.row()][1].get(self.columns[index.column()])
        if value is None:
            return ""
        return value if isinstance(value, str) and role == Qt.ItemDataRole.ToolTipRole else preview_of(value, 200)


class ColumnMappingDialog(QDialog):
    def __init__(self, name: str, columns: list[str], preview: list[tuple[int, dict]], reason: str = "",
                 parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Map the columns of {name}")
        self.columns = columns
        v = QVBoxLayout(self)
        intro = QLabel(f"The columns of <b>{html.escape(name)}</b> are not a shape the app knows. Say which column holds "
                       "what; the preview shows the first rows as read (row headers are the file's line numbers).")
        intro.setWordWrap(True)
        v.addWidget(intro)
        if reason:
            detail = QLabel(reason)
            detail.setObjectName("hint")
            detail.setWordWrap(True)
            v.addWidget(detail)
        self.preview = QTableView()
        self.preview.setModel(PreviewModel(columns, preview[:PREVIEW_ROWS], self))
        self.preview.setWordWrap(False)
        self.preview.horizontalHeader().setStretchLastSection(True)
        v.addWidget(self.preview, 1)
        form = QFormLayout()
        self.combos: dict[str, QComboBox] = {}
        guess = guess_mapping(columns)
        for target in MAPPING_TARGETS:
            box = QComboBox()
            box.addItem("(not in this file)", "")
            for c in columns:
                box.addItem(c, c)
            if target in guess:
                box.setCurrentIndex(columns.index(guess[target]) + 1)
            box.currentIndexChanged.connect(self._on_combo_changed)
            self.combos[target] = box
            form.addRow(TARGET_LABELS.get(target, target), box)
        v.addLayout(form)
        self.message = QLabel()
        self.message.setObjectName("hint")
        v.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import with this mapping")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        v.addWidget(self.buttons)
        self.resize(760, 560)
        self._on_combo_changed()

    def mapping(self) -> dict[str, str]:
        return {t: box.currentData() for t, box in self.combos.items() if box.currentData()}

    def set_mapping(self, mapping: dict[str, str]) -> None:
        for target, box in self.combos.items():
            column = mapping.get(target, "")
            box.setCurrentIndex(self.columns.index(column) + 1 if column in self.columns else 0)

    def _on_combo_changed(self, *args) -> None:
        problem = mapping_problem(self.mapping())
        self.message.setText(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)


def choose_mapping(parent, name: str, columns: list[str], preview: list[tuple[int, dict]],
                   reason: str = "") -> dict[str, str] | None:
    dlg = ColumnMappingDialog(name, columns, preview, reason, parent)
    return dlg.mapping() if dlg.exec() else None
