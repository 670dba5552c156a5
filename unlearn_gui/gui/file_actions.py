"""Save the unlearned model, save the run folder, reopen a saved run, open data files.

The file and choice dialogs are module functions (``choose_*``) so tests can monkeypatch them.
A save never writes over a folder that holds something else: ``save_model`` replaces its target
folder, so only a new or empty folder (or, for runs, an earlier run folder) is accepted.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ..core.runs import folder as runs
from ..core.runs.folder import folder_problem
from . import errors
from .panels.data_panel import FILE_FILTER, TITLES


def choose_save_format(parent: QWidget, lora: bool) -> bool | None:
    """True = merged full weights, False = LoRA adapter only, None = cancelled."""
    if not lora:
        return True
    box = QMessageBox(parent)
    box.setWindowTitle("Save the unlearned model")
    box.setText("Save the LoRA adapter only (small; load it on top of the original model) or merged weights "
                "(a standalone model folder)?")
    adapter = box.addButton("LoRA adapter", QMessageBox.ButtonRole.AcceptRole)
    merged = box.addButton("Merged weights", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    clicked = box.clickedButton()
    return True if clicked is merged else (False if clicked is adapter else None)


def choose_new_folder(parent: QWidget, title: str, suggested: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, title, suggested, "Folder (*)",
                                          options=QFileDialog.Option.DontConfirmOverwrite)
    return path or None


def choose_existing_folder(parent: QWidget, title: str) -> str | None:
    return QFileDialog.getExistingDirectory(parent, title) or None


def choose_data_file(parent: QWidget, title: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, title, "", FILE_FILTER)
    return path or None


class FileActions(QObject):
    """The File menu's flows; ``window`` is the MainWindow (panels, controller)."""

    def __init__(self, window):
        super().__init__(window)
        self.w = window

    def _suggested(self, kind: str) -> str:
        r = self.w.controller.result
        method = r.config.method.name if r is not None else "run"
        return str(Path.home() / f"unlearned-{method}-{kind}-{time.strftime('%Y%m%d-%H%M%S')}")

    def _can_save(self) -> bool:
        c = self.w.controller
        if c.is_running():
            errors.show_error(self.w, "A run is in progress: stop it or wait for the end before saving.")
            return False
        if not c.has_model():
            errors.show_error(self.w, "Nothing to save yet: run unlearning first.")
            return False
        return True

    @Slot()
    def save_model(self) -> None:
        if not self._can_save():
            return
        merged = choose_save_format(self.w, self.w.controller.result.config.method.lora)
        if merged is None:
            return
        path = choose_new_folder(self.w, "Save the unlearned model as a new folder", self._suggested("model"))
        if not path:
            return
        problem = folder_problem(path, allow_run_folder=False)
        if problem:
            errors.show_error(self.w, problem)
            return
        self.w.statusBar().showMessage(f"Saving the model to {path}…")
        self.w.controller.save_model(path, merged)

    @Slot()
    def save_run(self) -> None:
        if not self._can_save():
            return
        path = choose_new_folder(self.w, "Save the run folder", self._suggested("run"))
        if not path:
            return
        problem = folder_problem(path, allow_run_folder=True)
        if problem:
            errors.show_error(self.w, problem)
            return
        self.w.statusBar().showMessage(f"Saving the run folder to {path}…")
        self.w.controller.save_run(path)

    @Slot()
    def open_run(self, path: str | None = None) -> None:
        path = path or choose_existing_folder(self.w, "Open a saved run folder")
        if not path:
            return
        try:
            data = runs.load_run_folder(path)
        except (runs.RunFolderError, OSError, ValueError) as e:
            errors.show_error(self.w, f"Cannot open the run folder: {errors.one_line(e)}", str(e))
            return
        self.show_saved_run(data)

    def show_saved_run(self, data: dict) -> None:
        """Curves and comparison of a run folder read by ``core.runs.load_run_folder`` (no model:
        spot-checks stay off until the next run)."""
        w = self.w
        w.viewing_saved = True
        w.run_panel.load_history(data.get("metrics", []))
        w.compare_panel.load_generations(data.get("summary", {}).get("generations", []))
        s = data.get("summary", {})
        w.run_panel.phase.setText(f"Saved run: {s.get('method', '?')}, {s.get('steps', '?')} steps, "
                                  f"{s.get('status', '?')} — {data['path']}")
        w.setWindowTitle(f"Unlearn GUI — {data['path']}")
        w.log_view.log(f"opened saved run {data['path']}")
        w.eval_actions.show_saved(data)  # token view, alarms, Report button, recent runs
        w.show_tab("compare")
        w.update_spot_availability()

    @Slot()
    def export_cluster(self) -> None:
        from .cluster_export import export_cluster

        self.cluster_dialog = export_cluster(self.w)

    @Slot()
    def open_data(self) -> None:
        panel = self.w.data_panel
        name = panel.current_set()
        path = choose_data_file(self.w, f"Open the {TITLES[name].lower()} set")
        if path:
            self.w.show_tab("data")
            panel.load_file(name, path)
