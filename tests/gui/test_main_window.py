"""The real main window driven with qtbot: a tiny model built in code, the demo data, a few steps."""
from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt

from unlearn_gui.core.common import events as E
from unlearn_gui.gui import file_actions
from unlearn_gui.gui.stall import StallProbe
from unlearn_gui.gui.workers import Job

RUN_TIMEOUT = 120_000


def _run_and_wait(qtbot, w):
    with qtbot.waitSignal(w.controller.run_ended, timeout=RUN_TIMEOUT) as blocker:
        qtbot.mouseClick(w.run_panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not w.controller.is_busy(), timeout=RUN_TIMEOUT)
    return blocker.args[0]


def _wait_for_steps(qtbot, w, n=1):
    qtbot.waitUntil(lambda: w.run_panel.loss_plot.points("loss") >= n, timeout=RUN_TIMEOUT)


def test_demo_data_and_model_card(window):
    w = window
    assert w.data_panel.counts() == {"forget": 16, "retain": 18, "probes": 8}
    assert w.model_panel.values["params"].text().endswith("(44,192)")
    assert "≈" in w.model_panel.values["memory"].text() and "LoRA" in w.model_panel.values["memory"].text()
    w.method_panel.set_lora(False)
    assert "full fine-tuning" in w.model_panel.values["memory"].text()
    assert w.run_panel.run_button.isEnabled() and not w.run_panel.stop_button.isEnabled()


def test_run_to_finish_then_spot_check_save_and_reopen(qtbot, window, dialogs, tmp_path, monkeypatch):
    w = window
    probe = StallProbe(interval_ms=10)
    probe.start()
    result = _run_and_wait(qtbot, w)
    probe.stop()
    print("stall during tiny run:", probe.summary())
    assert probe.samples  # recorded; limits are for benchmarks, not tests
    assert result.status == "completed", dialogs.errors
    assert w.run_panel.loss_plot.points("loss") == 4
    assert w.run_panel.probe_plot.points("forget_lp") == 5  # step 0 + every step
    rows = w.compare_panel.model.rows
    assert len(rows) == 16 + 18 + 8
    assert all(r.before is not None and r.after is not None for r in rows)
    assert "Done" in w.run_panel.progress.format()
    assert w.run_panel.run_button.isEnabled() and w.menu_actions.save_model.isEnabled()
    assert not dialogs.errors

    # spot-check after the run (a worker thread calls result.spot_check)
    assert w.spot_panel.ask_button.isEnabled()
    w.spot_panel.prompt.setPlainText("Who is Harry Potter's godfather?")
    with qtbot.waitSignal(w.controller.spot_checked, timeout=RUN_TIMEOUT):
        qtbot.keyClick(w.spot_panel.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Enter
    assert w.spot_panel.original.toPlainText() != ""
    w.spot_panel.add_button.click()
    assert w.data_panel.counts()["forget"] == 17
    assert w.data_panel.rows("forget")[-1].prompt == "Who is Harry Potter's godfather?"

    # save the adapter and the run folder, then reopen the run
    monkeypatch.setattr(file_actions, "choose_save_format", lambda parent, lora: False)
    monkeypatch.setattr(file_actions, "choose_new_folder", lambda parent, title, s: str(tmp_path / "adapter-out"))
    with qtbot.waitSignal(w.controller.saved, timeout=RUN_TIMEOUT):
        w.file_actions.save_model()
    assert (tmp_path / "adapter-out" / "adapter_config.json").is_file()
    monkeypatch.setattr(file_actions, "choose_new_folder", lambda parent, title, s: str(tmp_path / "run-out"))
    with qtbot.waitSignal(w.controller.saved, timeout=RUN_TIMEOUT):
        w.file_actions.save_run()
    summary = json.loads((tmp_path / "run-out" / "summary.json").read_text())
    assert summary["status"] == "completed" and len(summary["generations"]) == 42
    w.compare_panel.clear()
    w.file_actions.open_run(str(tmp_path / "run-out"))
    assert len(w.compare_panel.model.rows) == 42
    assert w.run_panel.loss_plot.points("loss") == 4
    assert not w.spot_panel.ask_button.isEnabled()
    assert not dialogs.errors

    # saving over a folder that holds other files is refused
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "precious.txt").write_text("keep me")
    monkeypatch.setattr(file_actions, "choose_new_folder", lambda parent, title, s: str(tmp_path / "busy"))
    w.file_actions.save_model()
    assert dialogs.errors and "already holds files" in dialogs.errors[-1][0]
    assert (tmp_path / "busy" / "precious.txt").read_text() == "keep me"


def test_stop_mid_run_keeps_model_and_fills_after(qtbot, window, dialogs):
    w = window
    w.method_panel.set_values(steps=500, probe_every=0)
    with qtbot.waitSignal(w.controller.run_ended, timeout=RUN_TIMEOUT) as blocker:
        w.start_run()
        assert w.run_panel.stop_button.isEnabled() and not w.run_panel.run_button.isEnabled()
        # a spot-check during the run goes through the engine's task queue
        w.spot_panel.prompt.setPlainText("Who wrote the Harry Potter books?")
        with qtbot.waitSignal(w.controller.spot_checked, timeout=RUN_TIMEOUT) as spot:
            w.spot_check()
        assert spot.args[0].step >= 0
        _wait_for_steps(qtbot, w, 1)
        w.menu_actions.stop.trigger()  # Esc
    result = blocker.args[0]
    assert result.status == "cancelled" and 1 <= result.steps_done < 500
    qtbot.waitUntil(lambda: not w.controller.is_busy(), timeout=RUN_TIMEOUT)
    rows = w.compare_panel.model.rows
    assert rows and all(r.after is not None for r in rows)  # finish_after ran in a worker
    assert "Stopped" in w.run_panel.progress.format()
    assert w.controller.has_model() and w.menu_actions.save_run.isEnabled()
    assert not dialogs.errors


def test_close_mid_run_stops_and_exits_cleanly(qtbot, window, dialogs):
    w = window
    w.method_panel.set_values(steps=500)
    w.start_run()
    _wait_for_steps(qtbot, w, 1)
    w.close()
    assert dialogs.questions and "run is in progress" in dialogs.questions[0]
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=RUN_TIMEOUT)
    assert not w.controller.is_busy() and not Job.active
    assert w.controller.result.status == "cancelled"


def test_close_mid_run_can_be_declined(qtbot, window, dialogs):
    w = window
    dialogs.answer = False
    w.method_panel.set_values(steps=500, probe_every=0)
    w.start_run()
    w.close()
    assert w.isVisible() and w.controller.is_running()
    w.stop_run()
    qtbot.waitUntil(lambda: not w.controller.is_busy(), timeout=RUN_TIMEOUT)


def test_bad_data_file_shows_error_dialog(qtbot, window, dialogs, tmp_path):
    w = window
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\x00\x01not json at all\xff")
    w.data_panel.load_file("forget", str(bad))
    qtbot.waitUntil(lambda: bool(dialogs.errors) and not w.data_panel.is_loading(), timeout=20000)
    assert "Cannot import bad.jsonl" in dialogs.errors[0][0] and "binary" in dialogs.errors[0][0]
    assert w.data_panel.counts()["forget"] == 16  # the table is untouched
    partly = tmp_path / "partly.jsonl"
    partly.write_text('{"question": "q1", "answer": "a1"}\n{"question": "q2"}\n{"question": "q3", "answer": "a3"}\n')
    w.data_panel.load_file("retain", str(partly))  # appended to the table; the bad row is named first
    qtbot.waitUntil(lambda: bool(dialogs.questions) and not w.data_panel.is_loading(), timeout=20000)
    assert "1 row(s)" in dialogs.questions[0] and "partly.jsonl, line 2" in dialogs.questions[0]
    assert w.data_panel.counts()["retain"] == 18 + 2


def test_validation_lists_each_problem(qtbot, window, dialogs):
    w = window
    w.data_panel.set_rows([])
    w.start_run()
    assert dialogs.errors and "cannot start" in dialogs.errors[0][0] and "Forget set" in dialogs.errors[0][0]
    assert not w.controller.is_running()


def test_failed_run_and_bad_model_end_in_dialogs(qtbot, window, dialogs, tmp_path):
    w = window
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in Path(w.model_panel.info.path).iterdir():  # config and tokenizer whole, the weights broken
        if f.is_file() and f.suffix != ".safetensors":
            (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model.safetensors").write_bytes(b"not weights")
    w.model_panel.load(str(broken))
    qtbot.waitUntil(w.model_panel.is_ready, timeout=20000)
    result = _run_and_wait(qtbot, w)
    assert result.status == "failed"
    assert dialogs.errors and "run failed" in dialogs.errors[0][0] and "Traceback" in dialogs.errors[0][1]
    w.model_panel.load(str(tmp_path / "missing"))
    qtbot.waitUntil(lambda: len(dialogs.errors) == 2 and not w.model_panel.is_loading(), timeout=20000)
    assert "Cannot load the model" in dialogs.errors[1][0]
    assert w.isVisible()


def test_layout_theme_and_shortcuts_are_remembered(qtbot, tiny_model, dialogs):
    from unlearn_gui.gui import settings
    from unlearn_gui.gui.main_window import MainWindow

    w = MainWindow(model=tiny_model, demo=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(w.model_panel.is_ready, timeout=20000)
    assert w.data_panel.counts()["forget"] == 0
    a = w.menu_actions
    assert a.open_data.shortcut().toString() == "Ctrl+O" and a.run.shortcut().toString() == "Ctrl+R"
    assert a.stop.shortcut().toString() == "Esc" and a.save_model.shortcut().toString() == "Ctrl+S"
    assert "Ctrl+Return" in [s.toString() for s in a.spot.shortcuts()]
    w.apply_theme("dark")
    assert settings.theme_name() == "dark"
    w.setup_dock.hide()
    w.splitter.setSizes([200, 300])
    sizes = w.splitter.sizes()
    w.close()
    assert not w.isVisible()
    assert settings.app_settings().value("window/geometry") is not None
    w2 = MainWindow(model=tiny_model, demo=False)
    qtbot.addWidget(w2)
    w2.show()
    assert w2.setup_dock.isHidden()
    new = w2.splitter.sizes()  # restored proportions (the window may get another size)
    assert abs(new[0] / sum(new) - sizes[0] / sum(sizes)) < 0.1
    assert tiny_model in settings.recent_models()
    qtbot.waitUntil(w2.model_panel.is_ready, timeout=20000)
    w2.apply_theme("light")


def test_compare_rows_appear_with_before_answers(qtbot, window):
    w = window
    seen = []
    w.controller.event.connect(seen.append)
    _run_and_wait(qtbot, w)
    kinds = [type(e).__name__ for e in seen]
    # LoRA: training starts at once; the "before" answers come from the original weights after it
    full = [i for i, e in enumerate(seen) if isinstance(e, E.Samples) and e.stage in ("before", "after")]
    assert kinds.index("StepMetrics") < full[0]
    assert [seen[i].stage for i in full] == ["before", "after"] and kinds[-1] == "RunFinished"
    # the live probe's handful of answers came first (step 0); the table holds every compare row
    assert [e.step for e in seen if isinstance(e, E.Samples) and e.stage == "probe"][0] == 0
    assert w.compare_panel.model.rowCount() == len(seen[full[0]].rows)
