"""The Data tab: the example editor (one table, a role per row), the probe prompts, statistics.

Forget, retain, holdout and ignore rows live in one table (``ExampleEditor``) so tagging is one
key press instead of moving rows between tables. A run trains on the forget and retain rows,
keeps holdout rows for the membership test and leaves ignore rows out (``rows()`` gives each).
Probes stay a separate list: they are prompts answered before and after, never trained on.

Everything that can take long (reading a file, saving, counting tokens) runs on worker threads;
what this module does in the GUI thread is proportional to what is on screen, not to the data.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from ...core.data import readers
from ...core.common.paths import DEMO_FORGET, DEMO_PROBES, DEMO_RETAIN, resource
from ...core.common.records import ROLES, Record
from .. import errors
from . import import_dialogs, retain_suggestions
from .data_import import ImportRequest, Importer, records_summary
from .data_project import DataProject, find_recoveries, remove_recovery
from .data_stats import StatsPanel
from .example_editor import ExampleEditor
from .import_dialogs import FILE_FILTER  # noqa: F401 - part of this module's interface (file_actions)
from .probes_tab import ProbesTab

SETS = ("forget", "retain", "probes")  # what counts() reports (the run's three inputs)
TITLES = {"forget": "Forget", "retain": "Retain", "probes": "Probes", "holdout": "Holdout", "ignore": "Ignore"}


class DataPanel(QWidget):
    counts_changed = Signal(dict)  # {"forget": n, "retain": n, "probes": n}
    modified_changed = Signal(bool)
    status = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.editor = ExampleEditor()
        self.examples = self.editor.model
        self.probe_tab = ProbesTab()
        self.probes = self.probe_tab.model
        self.models = {"examples": self.examples, "probes": self.probes}
        self.importer = Importer(self)
        self.project = DataProject(self.examples, self)
        self.stats = StatsPanel(self.examples.records)
        self._restoring: str | None = None
        self.tabs = QTabWidget()
        self.tabs.addTab(self.editor, "Examples")
        self.tabs.addTab(self.probe_tab, "Probes")
        self.tabs.addTab(self.stats, "Statistics")
        self.views = {"examples": self.editor.view, "probes": self.probe_tab.view}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self._build_actions()
        self.editor.files_dropped.connect(self._on_files_dropped)
        self.editor.find_action.triggered.connect(self._on_find_triggered)
        self.editor.cancel_clicked.connect(self.importer.cancel)
        self.editor.status.connect(self.status)
        self.importer.status.connect(self.editor.set_busy)
        self.importer.finished.connect(self._on_import_finished)
        self.project.modified_changed.connect(self.modified_changed)
        self.project.saved.connect(self._on_project_saved)
        self.examples.counts_changed.connect(self._on_counts_changed)
        self.probe_tab.changed.connect(self._on_counts_changed)
        self._on_counts_changed()

    def _build_actions(self) -> None:
        """Menu actions (the main window places them); row actions live on the editor."""
        def make(text, slot, shortcut=None, tip=""):
            a = QAction(text, self)
            if shortcut is not None:
                a.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            return a

        self.undo_action = make("&Undo", self.undo, QKeySequence.StandardKey.Undo)
        self.redo_action = make("&Redo", self.redo, [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.import_action = make("&Import data…", self.import_dialog, "Ctrl+I",
                                  "Append the rows of files to the data table (or drop files on it)")
        self.open_action = make("&Open data project…", self.open_project_dialog, QKeySequence.StandardKey.Open,
                                "Replace the data table with a saved project dataset (or any data file)")
        self.save_action = make("Save &data", self.save, "Ctrl+Alt+S", "Save the data table as a project dataset")
        self.save_as_action = make("Save data &as…", self.save_as, None, "Save the data table to a new file")
        self.suggest_action = make("Suggest &retain rows…", self.suggest_retain, None,
                                   "Add general facts from TOFU (or your own file) as retain rows")
        self.stats_action = make("Data &statistics", self.show_statistics, None,
                                 "Rows per role and a histogram of answer lengths")
        self.edit_actions = [self.undo_action, self.redo_action, None, *self.editor.row_actions, None,
                             self.editor.find_action, self.suggest_action, self.stats_action]
        self.file_actions = [self.open_action, self.import_action, self.save_action, self.save_as_action]
        stack = self.examples.undo_stack
        for sig in (stack.indexChanged, stack.cleanChanged):
            sig.connect(self._on_undo_stack_changed)
        self._editable = True
        self._on_undo_stack_changed()

    # ---------------------------------------------------------------- API: rows
    def rows(self, name: str) -> tuple[Record, ...]:
        """"probes", or a role: forget, retain, holdout, ignore."""
        return self.probe_tab.records() if name == "probes" else self.examples.with_role(name)

    def counts(self) -> dict[str, int]:
        c = self.examples.role_counts()
        return {"forget": c["forget"], "retain": c["retain"], "probes": self.probes.rowCount()}

    def role_counts(self) -> dict[str, int]:
        return self.examples.role_counts()

    def current_set(self) -> str:
        return "probes" if self.tabs.currentIndex() == 1 else (self.editor.proxy.role or "forget")

    def show_set(self, name: str) -> None:
        self.tabs.setCurrentIndex(1 if name == "probes" else 0)
        self.reveal()

    def reveal(self) -> None:
        """Bring this panel to the front of whatever tab widgets hold it (menu actions and drops
        may come while another tab of the window is showing)."""
        child, parent = self, self.parentWidget()
        while parent is not None:
            if isinstance(parent, QStackedWidget):
                parent.setCurrentWidget(child)
            child, parent = parent, parent.parentWidget()

    def is_loading(self) -> bool:
        return self.importer.is_busy() or self.probe_tab.is_loading()

    def is_modified(self) -> bool:
        return self.project.is_modified()

    def add_record(self, name: str, record: Record) -> None:
        """One row: to the probes, or to the table with role ``name`` (undoable)."""
        if name == "probes":
            self.probe_tab.append(record)
        else:
            self.add_records([record], name)

    def add_records(self, records: list[Record], role: str, text: str = "") -> None:
        if self._editable and records:
            self.editor.add_records([r.with_role(role) for r in records], text or f"Add {len(records)} {role} row(s)")

    def set_rows(self, records) -> None:
        """Replace every example (not undoable; marks the data unsaved)."""
        self.examples.reset_records(list(records))
        self.project.mark_loaded(None, modified=bool(records))

    def set_editable(self, editable: bool) -> None:
        self._editable = editable
        self.editor.set_editable(editable)
        self.probe_tab.set_editable(editable)
        for w in (self.import_action, self.open_action, self.suggest_action):
            w.setEnabled(editable)
        self._on_undo_stack_changed()

    def set_model_info(self, model_dir: str | None, name: str = "") -> None:
        """Token counts in the statistics use this model's tokenizer."""
        self.stats.set_model(model_dir, name)

    # ---------------------------------------------------------------- API: files
    def load_demo(self) -> None:
        """The shipped demo sets (small files, read at once); the table counts as saved."""
        rows = []
        for role, parts in (("forget", DEMO_FORGET), ("retain", DEMO_RETAIN), ("probes", DEMO_PROBES)):
            try:
                got = readers.read_records(resource(*parts), default_role="" if role == "probes" else role)
            except (readers.DataError, OSError) as e:
                errors.show_error(self, f"Cannot read the demo {role} set: {errors.one_line(e)}", str(e))
                continue
            if role == "probes":
                self.probe_tab.set_records(got, str(resource(*parts)))
            else:
                rows += [r if r.role in ROLES else r.with_role(role) for r in got]
        self.examples.reset_records(rows)
        self.project.mark_loaded(None)

    def load_file(self, name: str, path: str) -> None:
        """Probes: replace them with the file's rows. A role: append the file's rows, untagged ones
        getting that role. Read in the background; problems end in dialogs, never a crash."""
        if name == "probes":
            self.show_set("probes")
            self.probe_tab.load(path)
        else:
            self.show_set(name)
            self.importer.start([ImportRequest(str(path), role=name)])

    def import_files(self, paths: list[str], role: str | None = None) -> None:
        """Append files' rows; without ``role``, one question first (role of untagged rows, text split)."""
        paths = [str(p) for p in paths]
        if not paths or not self._editable:
            return
        if role is None:
            options = self.importer.ask_options(paths, self.editor.proxy.role or self.importer.default_role)
            if options is None:
                return
            role = self.importer.default_role = options.role
            requests = [ImportRequest(p, role=role, text_mode=options.text_mode, window_tokens=options.window_tokens,
                                      split_chosen=True) for p in paths]
        else:
            requests = [ImportRequest(p, role=role) for p in paths]
        self.show_set("forget")
        self.importer.start(requests)

    def open_project(self, path: str) -> None:
        """Replace the table with a file's rows (their roles kept); saving later writes back to it
        when it is a project (.jsonl) file."""
        if self._editable and self.confirm_discard("Open another data file?"):
            self.show_set("forget")
            self.importer.start([ImportRequest(str(path), replace=True)])

    def save(self) -> bool:
        return self.project.save()

    def save_as(self) -> bool:
        return self.project.save_as()

    def confirm_discard(self, title: str = "Unsaved data") -> bool:
        """True when the data may be replaced or the window closed: nothing unsaved, saved now
        (blocking: the app may be about to quit), or the user chose to discard the changes."""
        if not self.is_modified():
            return True
        where = f" to {Path(self.project.path).name}" if self.project.path else ""
        answer = errors.ask_save_changes(self, title, f"The data table has changes that are not saved{where}. "
                                                      "Save them first?")
        if answer == "save":
            return self.project.save(wait=True)
        if answer == "discard":
            self.project.discard_recovery()
            return True
        return False

    def close_down(self) -> None:
        """The window is closing: stop reading files, finish writes in flight."""
        self.importer.cancel()
        self.project.stop()

    def offer_recovery(self) -> None:
        """At start: rows autosaved by a session that ended without saving them."""
        for rec in find_recoveries():
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(rec.saved_at))
            where = f"for {Path(rec.project).name}" if rec.project else "not yet saved to a project file"
            if errors.ask(self, "Restore unsaved data?", f"Unlearn GUI ended without saving {rec.rows:,} rows of "
                                                         f"data ({where}; autosaved {when}). Restore them?"):
                self.project.adopt_recovery(rec)
                self._restoring = rec.project
                self.importer.start([ImportRequest(str(self.project.recovery_path), replace=True, role="forget")])
                return
            remove_recovery(rec.path)

    # ---------------------------------------------------------------- API: menu entries
    @Slot()
    def import_dialog(self) -> None:
        self.import_files(import_dialogs.choose_files(self, "Import data files"))

    @Slot()
    def open_project_dialog(self) -> None:
        paths = import_dialogs.choose_files(self, "Open a data project", many=False)
        if paths:
            self.open_project(paths[0])

    @Slot()
    def undo(self) -> None:
        if self._editable:
            self.examples.undo_stack.undo()

    @Slot()
    def redo(self) -> None:
        if self._editable:
            self.examples.undo_stack.redo()

    @Slot()
    def suggest_retain(self) -> None:
        existing = {r.prompt.strip() for r in self.examples.records()}
        picked = retain_suggestions.choose_retain_rows(self, existing)
        if picked:
            self.show_set("retain")
            self.add_records(picked, "retain", f"Add {len(picked)} suggested retain row(s)")
            self.status.emit(f"Added {len(picked)} retain row(s)")

    @Slot()
    def show_statistics(self) -> None:
        self.tabs.setCurrentWidget(self.stats)
        self.reveal()

    @Slot()
    def _on_find_triggered(self) -> None:
        self.show_set("forget")
        self.editor.search.setFocus()
        self.editor.search.selectAll()

    # ---------------------------------------------------------------- slots
    @Slot(list)
    def _on_files_dropped(self, paths: list) -> None:
        self.import_files(paths)

    @Slot(object)
    def _on_import_finished(self, result) -> None:
        req, records = result.request, result.records
        if req.replace:
            self.examples.reset_records(records)
            restored = self._restoring is not None and req.path == str(self.project.recovery_path)
            if restored:
                self.project.mark_loaded(self._restoring or None, modified=True)
                self._restoring = None
            else:
                self.project.mark_loaded(req.path if Path(req.path).suffix.lower() == ".jsonl" else None)
            self.status.emit(f"{'Restored' if restored else 'Opened'} {len(records):,} rows "
                             f"({records_summary(records)})")
        else:
            self.editor.add_records(records, f"Import {req.name}")
            self.status.emit(f"Imported {len(records):,} rows from {req.name} ({records_summary(records)})")

    @Slot(str)
    def _on_project_saved(self, path: str) -> None:
        self.status.emit(path if path.startswith("(") else f"Data saved to {path}")

    @Slot()
    def _on_undo_stack_changed(self, *args) -> None:
        s = self.examples.undo_stack
        self.undo_action.setEnabled(self._editable and s.canUndo())
        self.redo_action.setEnabled(self._editable and s.canRedo())
        self.undo_action.setText(f"&Undo {s.undoText()}".rstrip())
        self.redo_action.setText(f"&Redo {s.redoText()}".rstrip())

    @Slot()
    def _on_counts_changed(self, *args) -> None:
        counts = self.counts()
        self.tabs.setTabText(0, f"Examples ({self.examples.rowCount():,})")
        self.tabs.setTabText(1, f"Probes ({counts['probes']})")
        self.stats.mark_stale()
        self.counts_changed.emit(counts)
