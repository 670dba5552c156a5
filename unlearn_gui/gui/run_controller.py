"""The bridge between the GUI and the engine: one background job per run, events out, cancel in.

``engine.run`` runs as a :class:`workers.Job` (the one background-job abstraction of the GUI, with
the same progress/done/failed/ended contract as every other job); each engine event crosses to
the GUI thread as the job's ``progress`` signal carrying the frozen event. Stop sets the ``CancelToken`` directly
(a queued signal would only reach the busy worker after the run). After the run, work on the
trained model (the "after" answers of a stopped run, spot-checks, saving) goes through a queue of
background jobs, one at a time, so two threads never drive the same model at once.
"""
from __future__ import annotations

import queue
import time
from collections import deque
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from ..core.train import engine
from ..core.common.cancel import CancelToken
from ..core.config import RunConfig
from ..core.common.events import LogMessage, RunFinished, SpotCheckResult
from ..core.train.result import RunResult
from .workers import Job

CANCELLABLE = ("finish", "spot-check")


class RunController(QObject):
    event = Signal(object)  # every engine event (and those of the follow-up jobs), in the GUI thread
    run_ended = Signal(object)  # the RunResult, once the run's thread has ended
    busy_changed = Signal(bool)
    spot_checked = Signal(object)  # SpotCheckResult, during or after a run
    saved = Signal(str)  # path written by save_model / save_run
    job_failed = Signal(object)  # workers.JobFailure

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.result: RunResult | None = None
        self._run: Job | None = None  # the engine's job while a run is in progress
        self._run_cfg: RunConfig | None = None
        self._run_t0 = 0.0
        self._cancel: CancelToken | None = None
        self._tasks: queue.Queue | None = None
        self._pending: dict[int, str] = {}  # spot-check id -> prompt not yet answered
        self._next_id = 0
        self._jobs: deque = deque()
        self._job: Job | None = None
        self._job_cancel = CancelToken()
        self._closing = False

    # ---------------------------------------------------------------- state
    def is_running(self) -> bool:
        return self._run is not None

    def is_busy(self) -> bool:
        return self._run is not None or self._job is not None or bool(self._jobs)

    def has_model(self) -> bool:
        return self.result is not None and self.result.session is not None

    # ---------------------------------------------------------------- run
    def start(self, cfg: RunConfig) -> None:
        if self._run is not None:
            raise RuntimeError("a run is already in progress")
        self.result = None
        self._cancel, self._tasks = CancelToken(), queue.Queue()
        self._run_cfg, self._run_t0 = cfg, time.perf_counter()
        job = Job(partial(_run_engine, cfg, self._cancel, self._tasks), "unlearn-run")
        job.progress.connect(self._on_event)
        job.done.connect(self._on_done)
        job.failed.connect(self._on_run_failed)
        job.ended.connect(self._on_run_ended)
        self._run = job
        job.start()
        self.busy_changed.emit(True)

    def stop(self) -> None:
        """Takes effect at the next optimizer step (or generated token). After a run, it skips the
        generation of the "after" answers or a spot-check in progress (never a save)."""
        if self._cancel is not None:
            self._cancel.cancel()
        if self._job is not None and self._job.name in CANCELLABLE:
            self._job_cancel.cancel()

    def is_finishing(self) -> bool:
        """Generating the "after" answers of a stopped run."""
        return self._job is not None and self._job.name == "finish"

    @Slot(object)
    def _on_event(self, ev) -> None:
        if isinstance(ev, SpotCheckResult):
            self._pending.pop(ev.request_id, None)
            self.spot_checked.emit(ev)
        else:
            self.event.emit(ev)

    @Slot(object)
    def _on_done(self, result: RunResult) -> None:
        self.result = result

    @Slot(object)
    def _on_run_failed(self, failure) -> None:
        """``engine.run`` never raises; should it, the run still ends with one RunFinished."""
        self.result = RunResult(status="failed", config=self._run_cfg, error=failure.message,
                                traceback=failure.details)
        self.event.emit(RunFinished("failed", 0, time.perf_counter() - self._run_t0, failure.message,
                                    failure.details))

    @Slot()
    def _on_run_ended(self) -> None:
        # the job's "done" (or "failed") was delivered before "ended", so self.result is set, and
        # the job's thread has really ended
        self._run = None
        result = self.result
        if result is not None and result.status == "cancelled" and result.session is not None and not self._closing:
            self._enqueue("finish", partial(_finish_after, result), self._on_finish_done)
        for rid, prompt in list(self._pending.items()):
            if self.has_model() and not self._closing:
                self._enqueue("spot-check", partial(_spot_check, result, rid, prompt),
                              self._on_spot_done)
        self._pending.clear()
        self.run_ended.emit(result)
        self._emit_busy()

    # ---------------------------------------------------------------- spot-check and save
    def spot_check(self, prompt: str) -> int | None:
        """Queue a prompt; the answer arrives as ``spot_checked``. None when there is no model yet."""
        self._next_id += 1
        rid = self._next_id
        if self._run is not None and self._tasks is not None:
            self._pending[rid] = prompt
            self._tasks.put(engine.SpotCheckRequest(rid, prompt))
        elif self.has_model():
            self._enqueue("spot-check", partial(_spot_check, self.result, rid, prompt),
                          self._on_spot_done)
        else:
            return None
        return rid

    def save_model(self, path: str, merged: bool) -> None:
        self._enqueue("save model", partial(_save_model, self.result, path, merged), self._on_saved)

    def save_run(self, path: str) -> None:
        self._enqueue("save run", partial(_save_run, self.result, path), self._on_saved)

    def submit(self, name: str, fn, done_slot) -> None:
        """Queue other work on the last run's model: ``fn(result-bound args..., cancel, progress)``
        runs on a job thread after the jobs before it; its value goes to ``done_slot``."""
        self._enqueue(name, fn, done_slot)

    @Slot(object)
    def _on_finish_done(self, _value) -> None:
        pass

    @Slot(object)
    def _on_spot_done(self, ev: SpotCheckResult) -> None:
        self.spot_checked.emit(ev)

    @Slot(object)
    def _on_saved(self, path) -> None:
        self.saved.emit(str(path))

    # ---------------------------------------------------------------- job queue
    def _enqueue(self, name: str, fn, done_slot) -> None:
        self._jobs.append((name, fn, done_slot))
        self._pump()
        self._emit_busy()

    def _pump(self) -> None:
        if self._job is not None or not self._jobs or self._closing:
            return
        name, fn, done_slot = self._jobs.popleft()
        self._job_cancel = CancelToken()  # one token per job: Stop skips this job only
        job = Job(partial(fn, self._job_cancel), name)
        job.progress.connect(self._on_job_progress)
        job.done.connect(done_slot)
        job.failed.connect(self._on_job_failed)
        job.ended.connect(self._on_job_ended)
        self._job = job
        job.start()

    @Slot(object)
    def _on_job_progress(self, ev) -> None:
        self.event.emit(ev)

    @Slot(object)
    def _on_job_failed(self, failure) -> None:
        if failure.cancelled:
            self.event.emit(LogMessage("info", f"{failure.name} skipped"))
        elif not self._closing:
            self.job_failed.emit(failure)

    @Slot()
    def _on_job_ended(self) -> None:
        self._job = None
        self._pump()
        self._emit_busy()

    def _emit_busy(self) -> None:
        self.busy_changed.emit(self.is_busy())

    # ---------------------------------------------------------------- shutdown
    def shutdown(self, wait: bool = False) -> None:
        """Cancel the run and pending work; with ``wait``, block until every thread has ended."""
        self._closing = True
        self._jobs.clear()
        self.stop()
        self._job_cancel.cancel()
        if wait:
            if self._run is not None:
                self._run.wait()
            if self._job is not None:
                self._job.wait()


# These run on job threads: plain functions, no Qt.
def _run_engine(cfg: RunConfig, cancel: CancelToken, tasks: queue.Queue, progress) -> RunResult:
    return engine.run(cfg, progress, cancel, tasks)


# Work on a finished run's model: functions of the result; the job's cancel token comes first.
def _finish_after(result: RunResult, cancel: CancelToken, progress) -> None:
    result.finish_after(progress, cancel)


def _spot_check(result: RunResult, rid: int, prompt: str, cancel: CancelToken, progress) -> SpotCheckResult:
    original, current = result.spot_check(prompt, cancel)
    return SpotCheckResult(rid, prompt, original, current, result.steps_done)


def _save_model(result: RunResult, path: str, merged: bool, cancel: CancelToken, progress):
    return result.save_model(path, merged=merged)


def _save_run(result: RunResult, path: str, cancel: CancelToken, progress):
    """Built in a staging folder and swapped in: re-saving over an earlier run folder on a disk
    that fills up keeps the earlier folder whole instead of half old, half new."""
    from ..core.runs.report import write_report
    from ..core.common.storage import staged_folder

    with staged_folder(path) as staged:
        result.save_run_folder(staged)
    write_report(path)  # the report names its folder: rewrite it where it now lives
    return Path(path)
