"""GUI robustness: a disk that fills while a run folder is saved again keeps the earlier save whole,
and the user is told why (the rest of the list is mapped in packaging/README.md)."""
from __future__ import annotations

import errno
from pathlib import Path

from unlearn_gui.core.runs import report
from unlearn_gui.gui import file_actions

RUN_TIMEOUT = 120_000


def _tree(path: Path) -> dict:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_full_disk_while_resaving_a_run_folder_keeps_the_earlier_one(qtbot, window, dialogs, tmp_path, monkeypatch):
    w = window
    with qtbot.waitSignal(w.controller.run_ended, timeout=RUN_TIMEOUT):
        w.start_run()
    qtbot.waitUntil(lambda: not w.controller.is_busy(), timeout=RUN_TIMEOUT)
    folder = tmp_path / "saves" / "run"
    monkeypatch.setattr(file_actions, "choose_new_folder", lambda parent, title, s: str(folder))
    with qtbot.waitSignal(w.controller.saved, timeout=RUN_TIMEOUT):
        w.menu_actions.save_run.trigger()
    qtbot.waitUntil(lambda: not w.controller.is_busy(), timeout=RUN_TIMEOUT)
    before = _tree(folder)
    assert {"config.json", "metrics.jsonl", "summary.json", "report.html"} <= set(before)
    assert f"Unlearning report: {folder.name}" in (folder / "report.html").read_text(encoding="utf-8")

    w.method_panel.set_values(steps=2)  # a different run is saved over the first one's folder
    with qtbot.waitSignal(w.controller.run_ended, timeout=RUN_TIMEOUT):
        w.start_run()
    qtbot.waitUntil(lambda: not w.controller.is_busy(), timeout=RUN_TIMEOUT)

    def disk_full(run_dir):  # the last file of the save: everything before it is already written
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(report, "write_report", disk_full)
    with qtbot.waitSignal(w.controller.job_failed, timeout=RUN_TIMEOUT):
        w.menu_actions.save_run.trigger()  # an earlier run folder may be saved over
    qtbot.waitUntil(lambda: not w.controller.is_busy(), timeout=RUN_TIMEOUT)
    assert dialogs.errors and "No space left on device" in dialogs.errors[-1][0]
    assert _tree(folder) == before  # not half old, half new
    assert [p.name for p in (tmp_path / "saves").iterdir()] == ["run"]  # no staging folder left
