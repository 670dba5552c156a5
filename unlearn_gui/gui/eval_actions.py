"""Evaluation flows of the main window: the Report button, the runs browser, the token view's
on-demand items and the state they share (which run folder is on screen).

Report: a run shown from a folder (opened, or saved earlier) gets its ``report.html`` rewritten
on a background thread and opened in the browser; a live run that was never saved is first saved
as a run folder (which writes the report), then opened. ``open_in_browser`` is a module function
so tests can replace it.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices

from ..core.common import events as E
from ..core.runs.folder import folder_problem
from . import errors, file_actions, settings
from .workers import Job


def open_in_browser(path: str | Path) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def _write_report(run_dir: str, progress) -> str:
    from ..core.runs.report import write_report

    return str(write_report(run_dir))


def _token_row(result, prompt: str, reference: str, cancel, progress) -> dict | None:
    """Token view of one item on the model in memory (a controller job: never races another)."""
    from ..core.evaluate import tokenview
    from ..core.common.records import Record

    try:
        return tokenview.rows(result.session, [Record(prompt=prompt, answer=reference)])[0]
    except (ValueError, RuntimeError):
        return None  # no answer tokens, or no original weights kept (full fine-tuning)


class EvalActions(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.run_dir: str | None = None  # folder of the run on screen (opened, or saved)
        self._report_after_save: str | None = None
        self.browser = None
        self._report_job: Job | None = None
        c = window.controller
        c.event.connect(self._on_controller_event)
        c.run_ended.connect(self._on_run_ended)
        c.busy_changed.connect(self._on_busy_changed)
        c.saved.connect(self._on_saved)
        window.run_panel.report_clicked.connect(self.report)
        window.compare_panel.token_view.wanted.connect(self._on_token_wanted)

    # ---------------------------------------------------------------- live run
    @Slot(object)
    def _on_controller_event(self, ev) -> None:
        if isinstance(ev, E.RunStarted):
            self.run_dir = None
            self.w.compare_panel.token_view.set_can_compute(False)
            self.w.run_panel.report_button.setEnabled(False)

    @Slot(object)
    def _on_run_ended(self, result) -> None:
        has = result is not None and result.session is not None
        tv = self.w.compare_panel.token_view
        tv.set_can_compute(has)
        if has and result.tokenview:
            tv.set_rows(result.tokenview)
        self.w.run_panel.report_button.setEnabled(has)

    @Slot(bool)
    def _on_busy_changed(self, busy: bool) -> None:
        r = self.w.controller.result
        tv = self.w.compare_panel.token_view
        if not busy and r is not None and r.tokenview and not tv.rows and not self.w.viewing_saved:
            tv.set_rows(r.tokenview)  # a stopped run measures its token view in the "finish" job

    @Slot(str, str)
    def _on_token_wanted(self, prompt: str, reference: str) -> None:
        c = self.w.controller
        if c.is_running() or not c.has_model() or self.w.viewing_saved:
            self.w.compare_panel.token_view.add_row(None)
            return
        c.submit("token view", partial(_token_row, c.result, prompt, reference), self._on_token_row)

    @Slot(object)
    def _on_token_row(self, row) -> None:
        self.w.compare_panel.token_view.add_row(row)

    # ---------------------------------------------------------------- saved runs
    def show_saved(self, data: dict) -> None:
        """Called by FileActions.show_saved_run: token view, alarms, report button, recent runs."""
        self.run_dir = data["path"]
        settings.add_recent_run(data["path"])
        tv = self.w.compare_panel.token_view
        tv.set_rows(data.get("tokenview") or [])
        tv.set_can_compute(False)
        banner = self.w.run_panel.alarm_banner
        banner.reset()
        for a in data.get("alarms") or []:
            if isinstance(a, dict):
                banner.add(E.Alarm(a.get("step", 0), a.get("kind", ""), a.get("message", "")))
        self.w.run_panel.report_button.setEnabled(True)

    @Slot(str)
    def _on_saved(self, path: str) -> None:
        if not (Path(path) / "summary.json").is_file():
            return  # a saved model, not a run folder
        self.run_dir = path
        settings.add_recent_run(path)
        if self._report_after_save == path:
            self._report_after_save = None
            self._open_report(str(Path(path) / "report.html"))

    # ---------------------------------------------------------------- report
    @Slot()
    def report(self) -> None:
        w, c = self.w, self.w.controller
        if c.is_running():
            w.statusBar().showMessage("The report is written when the run has ended", 5000)
            return
        if self.run_dir:  # opened, or this run saved already
            self.write_report(self.run_dir)
            return
        if not c.has_model():
            errors.show_error(w, "Nothing to report yet: run unlearning or open a saved run first.")
            return
        path = file_actions.choose_new_folder(w, "Save the run folder for its report",
                                              w.file_actions._suggested("run"))
        if not path:
            return
        problem = folder_problem(path, allow_run_folder=True)
        if problem:
            errors.show_error(w, problem)
            return
        self._report_after_save = path
        w.statusBar().showMessage(f"Saving the run folder to {path} for its report…")
        c.save_run(path)

    def write_report(self, run_dir: str) -> None:
        """Rewrite ``run_dir/report.html`` off the GUI thread (hashing weights takes a while), then open it."""
        self.w.statusBar().showMessage(f"Writing {Path(run_dir) / 'report.html'}…")
        job = Job(partial(_write_report, run_dir), "report", self)
        job.done.connect(self._on_report_written)
        job.failed.connect(self._on_report_failed)
        self._report_job = job
        job.start()

    @Slot(object)
    def _on_report_written(self, path: str) -> None:
        self._open_report(path)

    @Slot(object)
    def _on_report_failed(self, failure) -> None:
        errors.show_error(self.w, f"The report could not be written: {failure.message}", failure.details)

    def _open_report(self, path: str) -> None:
        self.w.statusBar().showMessage(f"Report: {path}", 10000)
        self.w.log_view.log(f"report written: {path}")
        open_in_browser(path)

    # ---------------------------------------------------------------- runs browser
    @Slot()
    def show_runs_browser(self) -> None:
        from .runs_browser import RunsBrowser

        if self.browser is None:
            self.browser = RunsBrowser(self.w)
            self.browser.open_requested.connect(self._on_open_requested)
            self.browser.report_requested.connect(self.write_report)
        self.browser.show()
        self.browser.raise_()
        self.browser.refresh()

    @Slot(object)
    def _on_open_requested(self, data: dict) -> None:
        if self.w.controller.is_running():
            self.w.statusBar().showMessage("A run is in progress: open the saved run when it has ended", 5000)
            return
        self.w.file_actions.show_saved_run(data)
