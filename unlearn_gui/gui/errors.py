"""One way to show a problem: a short message with expandable details.

Every error in the GUI goes through :func:`show_error` (looked up on this module at call time, so
tests can monkeypatch it to record instead of blocking). :func:`install_excepthook` routes uncaught
exceptions, from any thread, into the same dialog so the app never dies on a bad file or a bug.
"""
from __future__ import annotations

import sys
import threading
import traceback

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

TITLE = "Unlearn GUI"


def one_line(e: BaseException) -> str:
    """The first line of an exception's message, prefixed by its type when the message is bare."""
    lines = str(e).strip().splitlines()
    text = lines[0] if lines else ""
    return text[:400] if text else type(e).__name__


def show_error(parent: QWidget | None, message: str, details: str = "", title: str = TITLE) -> None:
    """Modal error box: ``message`` (short, plain) plus a "Show Details..." section."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setText(message)
    if details:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.exec()


def ask(parent: QWidget | None, title: str, text: str) -> bool:
    """Yes/No question; returns True for Yes (tests monkeypatch this too)."""
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def ask_save_changes(parent: QWidget | None, title: str, text: str) -> str:
    """Save / Discard / Cancel before something would drop unsaved work: returns "save",
    "discard" or "cancel" (tests monkeypatch this as well)."""
    b = QMessageBox.StandardButton
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, b.Save | b.Discard | b.Cancel, parent)
    box.setDefaultButton(b.Save)
    box.setEscapeButton(b.Cancel)
    box.exec()
    return {b.Save: "save", b.Discard: "discard"}.get(box.standardButton(box.clickedButton()), "cancel")


class _Bridge(QObject):
    """Carries exceptions raised in non-GUI threads to the GUI thread (widgets live there only)."""

    raised = Signal(object)

    @Slot(object)
    def _on_raised(self, info) -> None:
        report_exception(*info)


_bridge: _Bridge | None = None
_showing = False


def report_exception(exc_type, exc, tb) -> None:
    """Show an uncaught exception in the error dialog (never re-entrantly: a second one while the
    first dialog is open goes to stderr)."""
    global _showing
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    if _showing or QApplication.instance() is None:
        sys.stderr.write(details)
        return
    _showing = True
    try:
        errors_module = sys.modules[__name__]
        errors_module.show_error(QApplication.activeWindow(), f"Unexpected error: {one_line(exc)}",
                                 details + "\nThe app keeps running; please report this with the details above.")
    finally:
        _showing = False


def _excepthook(exc_type, exc, tb) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    if _bridge is not None and threading.current_thread() is not threading.main_thread():
        _bridge.raised.emit((exc_type, exc, tb))
    else:
        report_exception(exc_type, exc, tb)


def _thread_hook(args) -> None:
    _excepthook(args.exc_type, args.exc_value, args.exc_traceback)


def install_excepthook() -> None:
    """Replace ``sys.excepthook`` (and ``threading.excepthook``) with the error dialog."""
    global _bridge
    if _bridge is None:
        _bridge = _Bridge()
        _bridge.raised.connect(_bridge._on_raised)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_hook
