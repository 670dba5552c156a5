"""Menus, actions and keyboard shortcuts of the main window."""
from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from . import settings
from .panels.model_panel import display_name


class Actions(QObject):
    def __init__(self, w):
        super().__init__(w)
        self.w = w
        f = w.file_actions
        mp = w.model_panel
        dp = w.data_panel  # the data actions belong to the data panel (enabled with its editing state)
        self.open_data, self.import_data = dp.open_action, dp.import_action
        self.save_data, self.save_data_as = dp.save_action, dp.save_as_action
        for a in (*dp.file_actions, *(a for a in dp.edit_actions if a is not None)):
            w.addAction(a)  # shortcuts work even when the menu bar is hidden
        self.open_folder = self._make("Open model &folder…", mp._on_folder_clicked)
        self.open_gguf = self._make("Open &GGUF model…", mp._on_gguf_clicked)
        self.save_model = self._make("&Save unlearned model…", f.save_model, QKeySequence.StandardKey.Save,
                                     "Save merged weights or the LoRA adapter")
        self.save_run = self._make("Save run &folder…", f.save_run, "Ctrl+Shift+S",
                                   "config.json, metrics.jsonl, summary.json and the adapter or model")
        self.open_run = self._make("Open saved &run…", f.open_run, "Ctrl+Shift+O",
                                   "Look at the curves and comparison of a saved run")
        self.runs = self._make("R&uns…", w.eval_actions.show_runs_browser, "Ctrl+Shift+R",
                               "Browse finished run folders; overlay two runs' curves and scorecards")
        self.export_cluster = self._make("E&xport for cluster…", f.export_cluster, None,
                                         "This run as a folder with an Accelerate config and its launch command")
        self.quit = self._make("&Quit", w.close, QKeySequence.StandardKey.Quit)
        self.run = self._make("&Run", w.start_run, "Ctrl+R", "Start unlearning")
        self.stop = self._make("&Stop", w.stop_run, "Esc", "Stop at the next step")
        self.stop.setEnabled(False)
        self.spot = self._make("Spot-&check", w.spot_check, None, "Ask the original and the unlearned model")
        self.spot.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.about = self._make("&About Unlearn GUI", w.show_about_box)
        self.themes = QActionGroup(w)
        self.theme_actions = {}
        for name in ("light", "dark"):
            a = QAction(name.capitalize(), w, checkable=True)
            a.setData(name)
            self.themes.addAction(a)
            self.theme_actions[name] = a
        self.theme_actions[settings.theme_name()].setChecked(True)
        self.themes.triggered.connect(self._on_themes_triggered)
        self._build_menus()

    def _make(self, text, slot, shortcut=None, tip="") -> QAction:
        a = QAction(text, self.w)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.triggered.connect(slot)
        self.w.addAction(a)  # shortcuts work even when the menu bar is hidden
        return a

    def _build_menus(self) -> None:
        mb = self.w.menuBar()
        m = mb.addMenu("&File")
        for a in self.w.data_panel.file_actions:
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.open_folder)
        m.addAction(self.open_gguf)
        self.recent_menu = m.addMenu("Recent &models")
        self.recent_menu.aboutToShow.connect(self._on_recent_menu_about_to_show)
        m.addSeparator()
        m.addAction(self.save_model)
        m.addAction(self.save_run)
        m.addAction(self.open_run)
        m.addAction(self.runs)
        m.addAction(self.export_cluster)
        m.addSeparator()
        m.addAction(self.quit)
        e = mb.addMenu("&Edit")
        for a in self.w.data_panel.edit_actions:
            e.addSeparator() if a is None else e.addAction(a)
        r = mb.addMenu("&Run")
        for a in (self.run, self.stop, self.spot):
            r.addAction(a)
        v = mb.addMenu("&View")
        t = v.addMenu("&Theme")
        for a in self.theme_actions.values():
            t.addAction(a)
        v.addAction(self.w.setup_dock.toggleViewAction())
        h = mb.addMenu("&Help")
        h.addAction(self.about)

    @Slot()
    def _on_recent_menu_about_to_show(self) -> None:
        self.recent_menu.clear()
        for path in ["default", *settings.recent_models()]:
            a = self.recent_menu.addAction(display_name(path))
            a.setData(path)
            a.triggered.connect(self._on_recent_action_triggered)

    @Slot()
    def _on_recent_action_triggered(self) -> None:
        w = self.w
        if not w.controller.is_running() and not w.model_panel.is_loading():
            w.model_panel.load(self.sender().data())

    @Slot(QAction)
    def _on_themes_triggered(self, action: QAction) -> None:
        self.w.apply_theme(action.data())

    def set_running(self, running: bool, has_model: bool) -> None:
        self.run.setEnabled(not running)
        self.stop.setEnabled(running)
        for a in (self.save_model, self.save_run):
            a.setEnabled(not running and has_model)
        for a in (self.open_data, self.open_folder, self.open_gguf, self.open_run):
            a.setEnabled(not running)
