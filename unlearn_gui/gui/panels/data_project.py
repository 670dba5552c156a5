"""The examples as a project dataset on disk: save, save as, autosave to a recovery file.

The project file is JSON Lines, one ``Record.to_dict()`` per row with its ``role``, written by
``core.data.writers.write_jsonl``: a temporary file, fsync, then an atomic rename, the previous version
kept as ``<name>.bak``. A kill during a save leaves the old or the new file whole.

Unsaved edits are never only in memory for long: every ``AUTOSAVE_MS`` (60 s) while the table has
unsaved changes they are written to ``<data dir>/recovery/examples-<pid>.jsonl`` (with a small
``.json`` beside it naming the project file and the time). The recovery file is removed when the
data is saved or the user discards the changes on closing; one left by a process that is no
longer running is offered for restoring at the next start. ``<data dir>`` is
``$UNLEARN_GUI_DATA_DIR`` or the platform's per-user data folder plus ``unlearn-gui``
(``~/.local/share/unlearn-gui`` on Linux).

Saves of the whole table run on a worker thread (the rows are frozen records, so a snapshot is a
list copy); only the save when closing the window blocks, as it must finish before the app quits.
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal, Slot
from PySide6.QtWidgets import QFileDialog

from ...core.common import storage
from ...core.data import writers
from .. import errors
from ..workers import Job
from .example_model import ExampleTableModel

AUTOSAVE_MS = 60_000
PROJECT_FILTER = "Project dataset (*.jsonl);;All files (*)"


def data_dir() -> Path:
    env = os.environ.get("UNLEARN_GUI_DATA_DIR")
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return Path(base or Path.home()) / "unlearn-gui"


def recovery_dir() -> Path:
    return data_dir() / "recovery"


def choose_save_path(parent, suggested: str) -> str | None:
    """The "Save data as" file dialog (tests replace this function)."""
    path, _ = QFileDialog.getSaveFileName(parent, "Save the data as a project dataset", suggested, PROJECT_FILTER)
    if not path:
        return None
    return path if Path(path).suffix else path + ".jsonl"


@dataclass(frozen=True)
class Recovery:
    path: Path
    rows: int
    project: str
    saved_at: float


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but belongs to someone else, or cannot tell: leave its file alone
    return True


def find_recoveries() -> list[Recovery]:
    """Recovery files left by processes that are no longer running, newest first."""
    out = []
    folder = recovery_dir()
    for p in sorted(folder.glob("examples-*.jsonl")) if folder.is_dir() else []:
        try:
            pid = int(p.stem.split("-", 1)[1])
        except ValueError:
            continue
        if _pid_alive(pid):
            continue
        meta = {}
        with contextlib.suppress(OSError, ValueError):
            meta = json.loads(p.with_suffix(".json").read_text("utf-8"))
        with contextlib.suppress(OSError):
            out.append(Recovery(p, int(meta.get("rows", 0)), str(meta.get("project") or ""),
                                float(meta.get("saved_at", p.stat().st_mtime))))
    return sorted(out, key=lambda r: r.saved_at, reverse=True)


def remove_recovery(path: Path) -> None:
    for p in (path, path.with_suffix(".json")):
        with contextlib.suppress(OSError):
            p.unlink()


def _write_project(path: str, records: tuple, progress) -> str:
    writers.write_jsonl(path, records, backup=True)
    return path


def _write_recovery(path: Path, records: tuple, project: str, progress) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writers.write_jsonl(path, records, backup=False)
    storage.write_json(path.with_suffix(".json"), {"project": project, "rows": len(records), "saved_at": time.time()})


class DataProject(QObject):
    """Save state of one ExampleTableModel: where it is saved, and whether it changed since."""

    saved = Signal(str)
    modified_changed = Signal(bool)

    def __init__(self, model: ExampleTableModel, parent):
        super().__init__(parent)
        self.model = model
        self._parent = parent
        self.path: str | None = None
        self._forced = False  # restored from a recovery file: unsaved although the undo stack is clean
        self._saving: Job | None = None
        self._autosaving: Job | None = None
        self._autosaved = self._save_snap = self._autosave_snap = (-1, -1)
        self.recovery_path = recovery_dir() / f"examples-{os.getpid()}.jsonl"
        model.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.timer = QTimer(self)
        self.timer.setInterval(AUTOSAVE_MS)
        self.timer.timeout.connect(self.autosave)
        self.timer.start()

    def is_modified(self) -> bool:
        return self._forced or not self.model.undo_stack.isClean()

    def is_saving(self) -> bool:
        return self._saving is not None

    def mark_loaded(self, path: str | None, modified: bool = False) -> None:
        """After the table was replaced by a file's rows (or restored ones: ``modified``)."""
        self.path = path
        self._forced = modified
        self.modified_changed.emit(self.is_modified())

    def _snapshot(self) -> tuple[int, int]:
        return self.model.edits, self.model.undo_stack.index()

    # ---------------------------------------------------------------- saving
    def save(self, path: str | None = None, *, wait: bool = False) -> bool:
        """Save to ``path`` (or the project file, or ask for one). With ``wait`` the write happens
        now (closing the window); otherwise on a worker thread. False when nothing was started."""
        path = path or self.path or choose_save_path(self._parent, str(Path.home() / "unlearn-data.jsonl"))
        if not path:
            return False
        if self._saving is not None:
            self._saving.wait()
        records, snap = tuple(self.model.records()), self._snapshot()
        if wait:
            try:
                _write_project(path, records, None)
            except OSError as e:
                errors.show_error(self._parent, f"Cannot save the data to {path}: {errors.one_line(e)}", str(e))
                return False
            self._after_save(path, snap)
            return True
        job = Job(partial(_write_project, path, records), f"save {Path(path).name}")
        self._save_snap = snap
        job.done.connect(self._on_save_done)
        job.failed.connect(self._on_save_failed)
        self._saving = job
        job.start()
        return True

    def save_as(self) -> bool:
        suggested = self.path or str(Path.home() / "unlearn-data.jsonl")
        path = choose_save_path(self._parent, suggested)
        return self.save(path) if path else False

    @Slot(object)
    def _on_save_done(self, path: str) -> None:
        self._saving = None
        self._after_save(path, self._save_snap)

    @Slot(object)
    def _on_save_failed(self, failure) -> None:
        self._saving = None
        errors.show_error(self._parent, f"Cannot save the data: {failure.message}", failure.details)

    def _after_save(self, path: str, snap: tuple[int, int]) -> None:
        self.path = path
        if self._snapshot() == snap:  # no edit since the snapshot: what is on disk is what is shown
            self._forced = False
            self.model.undo_stack.setClean()
            self.discard_recovery()
        self.modified_changed.emit(self.is_modified())
        self.saved.emit(path)

    # ---------------------------------------------------------------- autosave / recovery
    @Slot()
    def autosave(self) -> None:
        if not self.is_modified() or self._autosaving is not None or self._snapshot() == self._autosaved:
            return
        snap = self._snapshot()
        job = Job(partial(_write_recovery, self.recovery_path, tuple(self.model.records()), self.path or ""),
                  "autosave")
        self._autosave_snap = snap
        job.done.connect(self._on_autosave_done)
        job.failed.connect(self._on_autosave_failed)
        self._autosaving = job
        job.start()

    @Slot(object)
    def _on_autosave_done(self, _out) -> None:
        self._autosaving = None
        self._autosaved = self._autosave_snap

    @Slot(object)
    def _on_autosave_failed(self, failure) -> None:
        self._autosaving = None  # shown once in the status line; the next change tries again
        self.saved.emit(f"(autosave failed: {failure.message})")

    def discard_recovery(self) -> None:
        if self._autosaving is not None:
            self._autosaving.wait()
        remove_recovery(self.recovery_path)
        self._autosaved = (-1, -1)

    def adopt_recovery(self, rec: Recovery) -> None:
        """Take over another session's recovery file (renamed, so it is never lost in between)."""
        self.recovery_path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in (".jsonl", ".json"):
            with contextlib.suppress(OSError):
                os.replace(rec.path.with_suffix(suffix), self.recovery_path.with_suffix(suffix))

    def stop(self) -> None:
        """Closing: no more autosaves; wait for writes in flight."""
        self.timer.stop()
        for job in (self._saving, self._autosaving):
            if job is not None:
                job.wait()

    @Slot(bool)
    def _on_clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(self.is_modified())
