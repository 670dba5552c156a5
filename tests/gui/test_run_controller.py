"""RunController's follow-up jobs: one at a time, Stop skips the 'after' answers, saves report back."""
from __future__ import annotations

import time

from unlearn_gui.core.common.cancel import Cancelled
from unlearn_gui.core.common.events import LogMessage
from unlearn_gui.gui.run_controller import RunController, _finish_after


class SlowResult:
    """Stands in for a RunResult whose 'after' generation runs until cancelled."""

    session = object()
    status = "cancelled"

    def finish_after(self, on_event, cancel):
        deadline = time.monotonic() + 30
        while not cancel.cancelled and time.monotonic() < deadline:
            time.sleep(0.01)
        raise Cancelled()


def test_stop_skips_the_after_answers_quietly(qtbot):
    c = RunController()
    seen, failures = [], []
    c.event.connect(seen.append)
    c.job_failed.connect(failures.append)
    c.result = SlowResult()
    c._enqueue("finish", lambda cancel, progress: _finish_after(c.result, cancel, progress), c._on_finish_done)
    assert c.is_finishing() and c.is_busy()
    c.stop()
    qtbot.waitUntil(lambda: not c.is_busy(), timeout=10000)
    assert not failures
    assert any(isinstance(e, LogMessage) and "skipped" in e.message for e in seen)


def test_jobs_run_one_at_a_time_and_failures_are_reported(qtbot):
    c = RunController()
    order, failures = [], []
    c.job_failed.connect(failures.append)

    def first(cancel, progress):
        time.sleep(0.2)
        order.append("first")

    def second(cancel, progress):
        order.append("second")
        raise OSError("disk full")

    c._enqueue("save model", first, c._on_saved)
    c._enqueue("save run", second, c._on_saved)
    qtbot.waitUntil(lambda: not c.is_busy(), timeout=10000)
    assert order == ["first", "second"]
    assert failures and failures[0].message == "disk full" and not failures[0].cancelled
