"""End to end with the built-in model (minutes on a CPU): excluded by default, run with -m slow."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from unlearn_gui.gui.stall import StallProbe
from unlearn_gui.gui.workers import Job


@pytest.mark.slow
def test_demo_run_with_the_builtin_model(qtbot, dialogs, monkeypatch):
    from unlearn_gui.gui.main_window import MainWindow

    monkeypatch.delenv("UNLEARN_GUI_CACHE", raising=False)  # reuse the converted built-in model
    w = MainWindow(model="default", demo=True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(w.model_panel.is_ready, timeout=600_000)
    probe = StallProbe(interval_ms=10)
    probe.start()
    with qtbot.waitSignal(w.controller.run_ended, timeout=3_600_000) as blocker:
        qtbot.mouseClick(w.run_panel.run_button, Qt.MouseButton.LeftButton)
    probe.stop()
    print("stall during the built-in demo run:", probe.summary())
    assert blocker.args[0].status == "completed", dialogs.errors
    m = w.compare_panel.model
    before, after, total = m.keyword_counts("forget")
    r_before, r_after, _ = m.keyword_counts("retain")
    assert after < before  # forget answers changed
    assert r_after >= r_before - 2  # retain answers intact
    w.controller.shutdown(wait=True)
    Job.wait_all()
