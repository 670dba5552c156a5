"""GUI entry: ``python -m unlearn_gui`` -> ``main(args)`` (args from ``unlearn_gui.__main__``)."""
from __future__ import annotations

import sys


def build(args=None):
    """The application (theme, excepthook) and its main window, not yet shown."""
    from PySide6.QtWidgets import QApplication

    from . import compat, errors, settings, theme
    from .main_window import MainWindow

    compat.apply_pyside_workaround()  # before the first signals: PySide6 6.12.0 + Python 3.11, see compat.py
    app = QApplication.instance() or QApplication(sys.argv[:1])  # honours QT_QPA_PLATFORM
    app.setApplicationName(settings.APP)
    app.setOrganizationName(settings.ORG)
    app.setWindowIcon(theme.app_icon())
    theme.apply_theme(app, settings.theme_name())
    errors.install_excepthook()
    model = getattr(args, "model", "default") or "default"
    window = MainWindow(model=model, demo=not getattr(args, "no_demo", False))
    app.aboutToQuit.connect(window.shutdown_now)
    return app, window


def main(args=None) -> int:
    from PySide6.QtCore import QTimer

    app, window = build(args)
    window.show()
    # data autosaved by a session that ended without saving it (a crash, a kill): offered once the
    # window is up; only here, so the self-test and the tests never meet a leftover from elsewhere
    QTimer.singleShot(0, window.data_panel.offer_recovery)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
