"""GUI tests: offscreen Qt, a temporary settings location, a tiny model built in code, and the
error/ask dialogs replaced by recorders so nothing blocks."""
from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any Qt import

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from unlearn_gui.core.model import tiny  # noqa: E402
from unlearn_gui.gui.compat import apply_pyside_workaround  # noqa: E402

apply_pyside_workaround()  # as the app does at start (PySide6 6.12.0 on Python 3.11 drops refs to True/None)


@pytest.fixture(autouse=True)
def temp_settings(tmp_path, monkeypatch):
    """Every test reads and writes its own settings file."""
    d = tmp_path / "settings"
    d.mkdir()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(d))
    monkeypatch.setenv("UNLEARN_GUI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("UNLEARN_GUI_DATA_DIR", str(tmp_path / "appdata"))  # autosave / recovery files
    return d


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    return str(tiny.make_tiny_model_dir(tmp_path_factory.mktemp("tiny-model")))


class Recorder:
    def __init__(self):
        self.errors: list[tuple[str, str]] = []
        self.questions: list[str] = []
        self.answer = True
        self.save_answer = "discard"  # unsaved data when closing: "save", "discard" or "cancel"

    def show_error(self, parent, message, details="", title=""):
        self.errors.append((message, details))

    def ask(self, parent, title, text):
        self.questions.append(text)
        return self.answer

    def ask_save_changes(self, parent, title, text):
        self.questions.append(text)
        return self.save_answer


@pytest.fixture
def dialogs(monkeypatch) -> Recorder:
    from unlearn_gui.gui import errors

    rec = Recorder()
    monkeypatch.setattr(errors, "show_error", rec.show_error)
    monkeypatch.setattr(errors, "ask", rec.ask)
    monkeypatch.setattr(errors, "ask_save_changes", rec.ask_save_changes)
    return rec


FAST = dict(steps=4, batch_size=2, max_new_tokens=4, probe_every=1, probe_budget=0.0, max_length=64, lr=5e-3)


@pytest.fixture
def window(qtbot, tiny_model, dialogs):
    """The real main window with the tiny model and the demo data, tuned to run in seconds."""
    from unlearn_gui.gui.main_window import MainWindow
    from unlearn_gui.gui.workers import Job

    w = MainWindow(model=tiny_model, demo=True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(w.model_panel.is_ready, timeout=20000)
    w.method_panel.set_values(**FAST)
    yield w
    w.controller.shutdown(wait=True)
    Job.wait_all()
