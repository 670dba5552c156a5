"""Persistent settings (window layout, theme, recent models and runs) in an INI file per user.

Always the INI format, so ``QSettings.setPath(IniFormat, UserScope, dir)`` redirects every read and
write (tests point it at a temporary folder).
"""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

ORG = "UnlearnGUI"
APP = "Unlearn GUI"
MAX_RECENT = 8
MAX_RECENT_RUNS = 20


def app_settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)


def string_list(value) -> list[str]:
    """QSettings returns one string for a one-item list and None for nothing: normalise."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def recent_models() -> list[str]:
    return string_list(app_settings().value("models/recent"))


def add_recent_model(path: str) -> list[str]:
    items = [path] + [p for p in recent_models() if p != path]
    items = items[:MAX_RECENT]
    app_settings().setValue("models/recent", items)
    return items


def recent_runs() -> list[str]:
    """Run folders saved or opened lately, newest first (the runs browser lists them)."""
    return string_list(app_settings().value("runs/recent"))


def add_recent_run(path: str) -> list[str]:
    items = [path] + [p for p in recent_runs() if p != path]
    items = items[:MAX_RECENT_RUNS]
    app_settings().setValue("runs/recent", items)
    return items


def runs_root() -> str:
    """The folder the runs browser scans for run folders ("" = none chosen yet)."""
    value = app_settings().value("runs/root", "")
    return value if isinstance(value, str) else ""


def set_runs_root(path: str) -> None:
    app_settings().setValue("runs/root", path)


def theme_name() -> str:
    value = app_settings().value("ui/theme", "light")
    return value if value in ("light", "dark") else "light"


def set_theme_name(name: str) -> None:
    app_settings().setValue("ui/theme", name)


def restore_window(w) -> None:
    """Geometry, dock layout and splitter of the main window as the user left them."""
    s = app_settings()
    geometry, state, split = s.value("window/geometry"), s.value("window/state"), s.value("window/splitter")
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        w.restoreGeometry(geometry)
    else:
        w.resize(1500, 950)
    if isinstance(state, QByteArray):
        w.restoreState(state)
    if isinstance(split, QByteArray):
        w.splitter.restoreState(split)
    else:
        w.splitter.setSizes([380, 520])


def save_window(w) -> None:
    s = app_settings()
    s.setValue("window/geometry", w.saveGeometry())
    s.setValue("window/state", w.saveState())
    s.setValue("window/splitter", w.splitter.saveState())
    s.sync()
