"""File → Export for cluster…: the run the window is set up for, as a folder another machine runs
with ``accelerate launch`` (``core.runs.cluster.export_for_cluster``: the resolved config, the data
tables as JSONL, an Accelerate config and ``launch.sh``), and a dialog showing the exact command.

``choose_cluster_options`` and ``choose_export_folder`` are module functions so tests can
monkeypatch them.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QLabel, \
    QPlainTextEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget

from ..core import config as C
from ..core.runs.cluster import export_for_cluster
from ..core.runs.folder import folder_problem
from . import errors


def choose_cluster_options(parent: QWidget) -> tuple[int, bool] | None:
    """(processes, FSDP) for the Accelerate config, or None when cancelled."""
    dlg = QDialog(parent)
    dlg.setWindowTitle("Export for cluster")
    form = QFormLayout(dlg)
    procs = QSpinBox()
    procs.setRange(1, 1024)
    procs.setValue(2)
    procs.setToolTip("One process per GPU on the node (num_processes in accelerate_config.yaml)")
    fsdp = QCheckBox("FSDP (shard the model across GPUs; for models that do not fit one)")
    form.addRow("Processes (GPUs):", procs)
    form.addRow(fsdp)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dlg.accept)
    buttons.rejected.connect(dlg.reject)
    form.addRow(buttons)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    return procs.value(), fsdp.isChecked()


def choose_export_folder(parent: QWidget, suggested: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Export the run for a cluster as a new folder", suggested,
                                          "Folder (*)", options=QFileDialog.Option.DontConfirmOverwrite)
    return path or None


class ClusterExportDialog(QDialog):
    """Where the job went and the launch command, with a Copy button."""

    def __init__(self, folder: str, command: str, model_path: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Exported for cluster")
        self.command = command
        v = QVBoxLayout(self)
        text = (f"Wrote <b>{folder}</b>: run_config.json, the data tables as JSONL, accelerate_config.yaml "
                "and launch.sh. Copy the folder to the cluster node (with unlearn-gui installed) and run "
                "this command inside it, or <code>./launch.sh</code>:")
        if model_path != "default":
            text += (f"<br><br>The model is this machine's <code>{model_path}</code>: copy it to the node and "
                     "change <code>--model</code> to its path there.")
        info = QLabel(text)
        info.setWordWrap(True)
        v.addWidget(info)
        self.command_view = QPlainTextEdit(command)
        self.command_view.setReadOnly(True)
        self.command_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.command_view.setMaximumHeight(90)
        v.addWidget(self.command_view)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        buttons.rejected.connect(self.reject)
        v.addWidget(buttons)
        self.resize(640, 260)

    @Slot()
    def _on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.command)
        self.copy_button.setText("Copied")


def export_cluster(w) -> ClusterExportDialog | None:
    """The menu flow on the main window ``w``; returns the (non-blocking) result dialog."""
    if w.data_panel.is_loading():
        errors.show_error(w, "A data file is still being read; export when it is in the table.")
        return None
    cfg = w.build_config()
    problems = C.validate(cfg)
    if problems:
        lines = "\n".join(f"• {f}: {m}" for f, m in problems)
        errors.show_error(w, f"This run cannot be exported yet:\n\n{lines}")
        return None
    options = choose_cluster_options(w)
    if options is None:
        return None
    suggested = str(Path.home() / f"unlearn-cluster-{cfg.method.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    path = choose_export_folder(w, suggested)
    if not path:
        return None
    problem = folder_problem(path, allow_run_folder=False)
    if problem:
        errors.show_error(w, problem)
        return None
    try:
        out = export_for_cluster(cfg, path, num_processes=options[0], fsdp=options[1])
    except (OSError, ValueError) as e:
        errors.show_error(w, f"Export failed: {errors.one_line(e)}", str(e))
        return None
    w.log_view.log(f"exported for cluster to {path}: {out['command']}")
    w.statusBar().showMessage(f"Exported for cluster to {path}", 10000)
    dlg = ClusterExportDialog(path, out["command"], cfg.model.path, w)
    dlg.open()  # window-modal, does not block the event loop
    return dlg
