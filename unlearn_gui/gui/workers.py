"""Background jobs: ``fn(progress)`` on its own QThread, results back as signals in the GUI thread.

The worker QObject lives on the job's thread; its signals are relayed by the :class:`Job` (which
lives in the GUI thread), so whatever the caller connects runs in the GUI thread. The thread quits
itself when ``fn`` returns, so ``wait()`` works even while the GUI thread is blocked. Jobs stay
referenced in ``Job.active`` until their thread has finished: a running QThread is never
garbage-collected.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..core.common.cancel import Cancelled
from .errors import one_line


@dataclass(frozen=True)
class JobFailure:
    name: str
    message: str
    details: str
    cancelled: bool = False  # stopped by its CancelToken: not an error to show


class _Worker(QObject):
    progress = Signal(object)
    done = Signal(object)
    failed = Signal(object)

    def __init__(self, fn: Callable, name: str):
        super().__init__()
        self._fn = fn
        self._name = name

    @Slot()
    def run(self) -> None:
        try:
            out = self._fn(self.progress.emit)
        except Exception as e:  # noqa: BLE001 - every failure reaches the user as a dialog
            self.failed.emit(JobFailure(self._name, one_line(e), traceback.format_exc(), isinstance(e, Cancelled)))
        else:
            self.done.emit(out)
        finally:
            self.thread().quit()


class Job(QObject):
    """Run ``fn(progress)`` in the background; connect ``done``/``failed``/``progress`` first."""

    progress = Signal(object)
    done = Signal(object)
    failed = Signal(object)
    ended = Signal()
    active: set["Job"] = set()

    def __init__(self, fn: Callable, name: str = "job", parent: QObject | None = None):
        # Never owned by a Qt parent: a parent deleted while the thread runs (a closed dialog, a
        # window torn down) would delete this object under its running thread and leave it in
        # ``active`` forever. ``active`` keeps it alive until the thread has ended; ``parent`` is
        # accepted for the callers' readability only.
        super().__init__(None)
        self.name = name
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._worker = _Worker(fn, name)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)
        self._thread.finished.connect(self._on_finished)

    def start(self) -> "Job":
        Job.active.add(self)
        self._thread.start()
        return self

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, ms: int | None = None) -> bool:
        return self._thread.wait() if ms is None else self._thread.wait(ms)

    @Slot(object)
    def _on_progress(self, value) -> None:
        self.progress.emit(value)

    @Slot(object)
    def _on_done(self, value) -> None:
        self.done.emit(value)

    @Slot(object)
    def _on_failed(self, failure) -> None:
        self.failed.emit(failure)

    @Slot()
    def _on_finished(self) -> None:
        self._thread.wait()  # "finished" is emitted just before the thread really ends
        Job.active.discard(self)
        self.ended.emit()

    @classmethod
    def wait_all(cls) -> None:
        """Block until every background thread has ended (used when the app quits)."""
        for job in list(cls.active):
            job.wait()
