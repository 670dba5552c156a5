"""The main window: composes the panels, owns the RunController, turns panels into a RunConfig,
remembers its layout, and closes cleanly during a run (cancel, wait for the thread, then close)."""
from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow, QScrollArea, QSplitter, QTabWidget, \
    QVBoxLayout, QWidget

from ..core import config as C
from ..core.common import events as E
from ..core.model import models
from . import about, errors, settings, theme
from .actions import Actions
from .eval_actions import EvalActions
from .file_actions import FileActions
from .panels.compare_panel import ComparePanel
from .panels.data_panel import DataPanel
from .panels.log_view import LogView
from .panels.method_panel import MethodPanel, field_label
from .panels.model_panel import ModelPanel
from .panels.run_panel import RunPanel
from .panels.spot_check_panel import SpotCheckPanel
from .run_controller import RunController
from .warmup import freeze_long_lived
from .workers import Job

TABS = ("compare", "data", "spot", "log")


class MainWindow(QMainWindow):
    def __init__(self, model: str = "default", demo: bool = True, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Unlearn GUI")
        self.setWindowIcon(theme.app_icon())
        self.controller = RunController(self)
        self.model_panel, self.method_panel = ModelPanel(), MethodPanel()
        self.data_panel, self.run_panel, self.compare_panel = DataPanel(), RunPanel(), ComparePanel()
        self.spot_panel, self.log_view = SpotCheckPanel(), LogView()
        self._close_pending = False
        self._prefetch_job: Job | None = None
        self.viewing_saved = False
        self._build_layout()
        self.file_actions = FileActions(self)
        self.eval_actions = EvalActions(self)
        self.menu_actions = Actions(self)
        self._connect()
        self._close_timer = QTimer(self)
        self._close_timer.setInterval(100)
        self._close_timer.timeout.connect(self._on_close_timer_timeout)
        settings.restore_window(self)
        if demo:
            self.data_panel.load_demo()
        self._on_method_changed()
        self.model_panel.load(model)
        self.log_view.log(f"Unlearn GUI started ({about.versions()['Unlearn GUI']}); loading the model…")

    # ---------------------------------------------------------------- building
    def _build_layout(self) -> None:
        setup = QWidget()
        v = QVBoxLayout(setup)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(self.model_panel)
        v.addWidget(self.method_panel)
        scroll = QScrollArea()
        scroll.setWidget(setup)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(340)
        self.setup_dock = QDockWidget("Setup", self)
        self.setup_dock.setObjectName("setupDock")
        self.setup_dock.setWidget(scroll)
        self.setup_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable |
                                    QDockWidget.DockWidgetFeature.DockWidgetFloatable |
                                    QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.setup_dock)
        self.tabs = QTabWidget()
        for widget, title in ((self.compare_panel, "Compare"), (self.data_panel, "Data"),
                              (self.spot_panel, "Spot-check"), (self.log_view, "Log")):
            self.tabs.addTab(widget, title)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.run_panel)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.setCentralWidget(self.splitter)
        self.counts_label = QLabel()
        self.statusBar().addPermanentWidget(self.counts_label)
        self.show_tab("data")

    def _connect(self) -> None:
        c = self.controller
        c.event.connect(self._on_controller_event)
        c.run_ended.connect(self._on_run_ended)
        c.busy_changed.connect(self._on_busy_changed)
        c.spot_checked.connect(self._on_spot_checked)
        c.saved.connect(self._on_saved)
        c.job_failed.connect(self._on_job_failed)
        self.run_panel.run_clicked.connect(self.start_run)
        self.run_panel.stop_clicked.connect(self.stop_run)
        self.method_panel.changed.connect(self._on_method_changed)
        self.data_panel.counts_changed.connect(self._on_counts_changed)
        self.model_panel.model_ready.connect(self._on_model_ready)
        self.spot_panel.asked.connect(self._on_spot_asked)
        self.spot_panel.add_to_forget.connect(self._on_add_to_forget)
        self.compare_panel.add_forget.requested.connect(self._on_add_to_forget)
        self.data_panel.status.connect(self._on_data_status)
        self.data_panel.modified_changed.connect(self._on_data_modified_changed)

    def show_tab(self, name: str) -> None:
        self.tabs.setCurrentIndex(TABS.index(name))

    # ---------------------------------------------------------------- run
    def build_config(self) -> C.RunConfig:
        o = self.method_panel.run_options()
        d = self.data_panel
        probes = d.rows("probes")
        forget = d.rows("forget")
        # holdout rows travel with the forget rows: session.prepare sets them aside, never trained,
        # for the membership test; "ignore" rows stay out of the run
        forget_rows = forget + d.rows("holdout") if forget else forget
        return C.RunConfig(
            model=C.ModelConfig(path=self.model_panel.path, device=o["device"], dtype=o["dtype"]),
            data=C.DataConfig(forget_rows=forget_rows, retain_rows=d.rows("retain"),
                              probe_rows=probes, max_length=o["max_length"]),
            method=self.method_panel.method_config(), seed=o["seed"], log_every=1, probe_every=o["probe_every"],
            probe_budget=o["probe_budget"], probe_samples_every=o["probe_samples_every"],
            sample_every=o["sample_every"], max_new_tokens=o["max_new_tokens"], keep_original=True,
            stop_forget_below=o["stop_forget_below"], stop_retain_above=o["stop_retain_above"])

    def problems(self, cfg: C.RunConfig) -> list[tuple[str, str]]:
        out = []
        if self.model_panel.is_loading():
            out.append(("model.path", "the model is still loading; wait until its card is filled in"))
        elif self.model_panel.info is None:
            out.append(("model.path", "no model is loaded; choose one in the Model box"))
        if self.data_panel.is_loading():
            out.append(("data.forget", "a data file is still being read"))
        return out + C.validate(cfg)

    @Slot()
    def start_run(self) -> None:
        if self.controller.is_busy():  # a run, or work on the last run's model, is in progress
            self.statusBar().showMessage("Busy with the previous run; try again in a moment", 5000)
            return
        cfg = self.build_config()
        problems = self.problems(cfg)
        self.method_panel.mark_invalid([f for f, _ in problems])
        if problems:
            lines = "\n".join(f"• {field_label(f)}: {m}" for f, m in problems)
            errors.show_error(self, f"The run cannot start:\n\n{lines}",
                              "\n".join(f"{f}: {m}" for f, m in problems))
            return
        self.viewing_saved = False
        self.setWindowTitle(f"Unlearn GUI — {self.model_panel.info.name}")
        self.compare_panel.clear()
        self.run_panel.begin()
        self.show_tab("compare")
        self.controller.start(cfg)
        self._set_running(True)

    @Slot()
    def stop_run(self) -> None:
        c = self.controller
        if c.is_running() or c.is_finishing():
            self.run_panel.stop_button.setEnabled(False)
            self.log_view.log("stop requested; the run ends at the next step" if c.is_running()
                              else "skipping the 'after' answers")
            c.stop()

    def _set_running(self, running: bool) -> None:
        self.run_panel.set_running(running)
        self.menu_actions.set_running(running, self.controller.has_model())
        self.method_panel.setEnabled(not running)
        self.model_panel.set_enabled_for_run(not running)
        self.data_panel.set_editable(not running)
        self.update_spot_availability()

    def update_spot_availability(self) -> None:
        c = self.controller
        if c.is_running():
            self.spot_panel.set_available(True, "During a run, the answer comes between two training steps.")
        elif c.has_model() and not self.viewing_saved:
            self.spot_panel.set_available(True, "")
        else:
            self.spot_panel.set_available(False, "Spot-checks answer during and after a run.")

    @Slot(object)
    def _on_controller_event(self, ev) -> None:
        self.run_panel.on_event(ev)
        self.log_view.on_event(ev)
        if isinstance(ev, E.Samples):
            self.compare_panel.on_samples(ev)
        elif isinstance(ev, E.RunFinished):
            self.statusBar().showMessage(f"Run {ev.status} after {ev.steps_done} steps", 10000)
            if ev.status == "failed" and not self._close_pending:
                errors.show_error(self, f"The run failed: {ev.error}", ev.traceback)

    @Slot(object)
    def _on_run_ended(self, result) -> None:
        self._set_running(False)
        self._prefetch_tokenizer()

    def _prefetch_tokenizer(self) -> None:
        """Parse the tokenizer for the next run now, while nothing trains (core.model.models)."""
        info = self.model_panel.info
        if info is None or self._close_pending:
            return
        self._prefetch_job = Job(partial(_prefetch, info.path), "prefetch tokenizer", self).start()

    @Slot(bool)
    def _on_busy_changed(self, busy: bool) -> None:
        running = self.controller.is_running()
        self.menu_actions.set_running(running, self.controller.has_model())
        self.menu_actions.run.setEnabled(not busy)
        self.run_panel.run_button.setEnabled(not busy)
        stoppable = running or self.controller.is_finishing()
        self.menu_actions.stop.setEnabled(stoppable)
        self.run_panel.stop_button.setEnabled(stoppable)

    # ---------------------------------------------------------------- spot-check
    @Slot()
    def spot_check(self) -> None:
        self.show_tab("spot")
        if not self.spot_panel.prompt.toPlainText().strip():
            self.spot_panel.prompt.setFocus()
            return
        self.spot_panel.ask()

    @Slot(str)
    def _on_spot_asked(self, prompt: str) -> None:
        rid = self.controller.spot_check(prompt)
        self.spot_panel.show_pending(rid, self.controller.is_running())

    @Slot(object)
    def _on_spot_checked(self, ev) -> None:
        self.spot_panel.show_result(ev)

    @Slot(object)
    def _on_add_to_forget(self, records) -> None:
        """From the spot-check pane (one Record) or the compare table (a list): prompt plus the
        original model's answer, tagged forget in the data table (undoable)."""
        records = [records] if not isinstance(records, (list, tuple)) else list(records)
        if not records:
            return
        if self.controller.is_running():
            self.statusBar().showMessage("The data cannot change during a run; add it after the run", 8000)
            return
        self.data_panel.add_records(records, "forget", f"Add {len(records)} row(s) to the forget set")
        for r in records:
            self.log_view.log(f"added to the forget set: {r.prompt!r}")
        self.statusBar().showMessage(f"Added {len(records)} row(s) to the forget set; the next run will use them",
                                     8000)

    @Slot(str)
    def _on_data_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    @Slot(bool)
    def _on_data_modified_changed(self, modified: bool) -> None:
        self.tabs.setTabText(TABS.index("data"), "Data •" if modified else "Data")
        self.tabs.setTabToolTip(TABS.index("data"), "The data has unsaved changes (File → Save data)"
                                if modified else "")

    # ---------------------------------------------------------------- other slots
    @Slot()
    def _on_method_changed(self) -> None:
        mp = self.method_panel
        self.model_panel.set_run_settings(lora=mp.lora(), needs_ref=mp.needs_reference(),
                                          batch_size=mp.value("batch_size"),
                                          seq_len=mp.value("max_length"), device=mp.run_options()["device"],
                                          method=mp.method_name())

    @Slot(dict)
    def _on_counts_changed(self, counts: dict) -> None:
        self.method_panel.set_forget_count(counts["forget"])
        self.counts_label.setText(f"{counts['forget']} forget · {counts['retain']} retain · {counts['probes']} probes")

    @Slot(object)
    def _on_model_ready(self, info) -> None:
        freeze_long_lived()  # the libraries are imported now: keep GC passes short during runs
        self.setWindowTitle(f"Unlearn GUI — {info.name}")
        self.data_panel.set_model_info(info.path, info.name)
        self.log_view.log(f"model ready: {info.name} ({info.n_params:,} parameters)")

    @Slot(str)
    def _on_saved(self, path: str) -> None:
        self.statusBar().showMessage(f"Saved {path}", 10000)
        self.log_view.log(f"saved {path}")

    @Slot(object)
    def _on_job_failed(self, failure) -> None:
        if not self._close_pending:
            errors.show_error(self, f"{failure.name.capitalize()} failed: {failure.message}", failure.details)

    def apply_theme(self, name: str) -> None:
        c = theme.apply_theme(QApplication.instance(), name)
        settings.set_theme_name(name)
        self.menu_actions.theme_actions[name].setChecked(True)
        for plot in (self.run_panel.loss_plot, self.run_panel.probe_plot):
            plot.apply_theme(c)
        self.compare_panel.model.layoutChanged.emit()

    @Slot()
    def show_about_box(self) -> None:
        about.show_about(self)

    # ---------------------------------------------------------------- closing
    def _busy(self) -> bool:
        prefetching = self._prefetch_job is not None and self._prefetch_job.is_running()
        return self.controller.is_busy() or self.model_panel.is_loading() or self.data_panel.is_loading() \
            or prefetching

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self._close_pending and not self.data_panel.confirm_discard("Quit Unlearn GUI?"):
            event.ignore()  # unsaved data: the user cancelled, or the save did not happen
            return
        if self._busy():
            if self.controller.is_running() and not self._close_pending:
                if not errors.ask(self, "Quit during a run?", "A run is in progress. Stop it and quit? "
                                  "What it learned so far is not saved."):
                    event.ignore()
                    return
            self._close_pending = True
            self.data_panel.close_down()
            self.controller.shutdown()
            self.statusBar().showMessage("Stopping the run before closing…")
            self._close_timer.start()
            event.ignore()
            return
        self._close_timer.stop()
        self.data_panel.close_down()
        settings.save_window(self)
        event.accept()

    @Slot()
    def _on_close_timer_timeout(self) -> None:
        if not self._busy():
            self._close_timer.stop()
            self.close()

    def shutdown_now(self) -> None:
        """Last resort when the application quits: cancel and block until every thread ended."""
        self._close_pending = True
        self.controller.shutdown(wait=True)
        Job.wait_all()


def _prefetch(path: str, _progress) -> None:
    try:
        models.prefetch_tokenizer(Path(path))
    except (models.ModelError, OSError):
        pass  # only a head start: the next run loads the tokenizer itself and reports any problem
