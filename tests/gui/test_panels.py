"""Panels fed with synthetic core events (no model, no thread)."""
from __future__ import annotations

import sys
import threading

import pytest
from PySide6.QtCore import Qt

from unlearn_gui.core.common import events as E
from unlearn_gui.core.methods import REGISTRY
from unlearn_gui.core.common.records import Record


def _gens(texts, stage="before"):
    rows = (
        E.Generation("Which school does Harry attend?", "forget", "forget", "Hogwarts.", texts[0], ("hogwarts",)),
        E.Generation("Capital of France?", "retain", "retain", "Paris.", texts[1], ("paris",)),
        E.Generation("Dark lord?", "forget", "probe", "Voldemort", texts[2], ("voldemort",)),
    )
    return rows


def test_run_panel_progress_and_plots(qtbot):
    from unlearn_gui.gui.panels.run_panel import RunPanel

    p = RunPanel()
    qtbot.addWidget(p)
    p.begin()
    p.on_event(E.RunStarted("dipo", 4, "tiny", 3, 3, 1, True, "cpu", "float32"))
    assert p.progress.maximum() == 4
    p.on_event(E.EvalResult(0, -1.0, -1.2, 0.3, 0.3, 0.5, 0.5))
    for step in (1, 2, 3):
        p.on_event(E.StepMetrics(step, 4, 2.0 - step * 0.1, 1.5, 0.5, 1e-4, 0.9, step * 0.5))
    p.on_event(E.EvalResult(2, -2.0, -1.2, 0.1, 0.3, 0.2, 0.5))
    assert p.progress.value() == 3
    assert "step 3/4" in p.progress.format()
    assert "2.00 steps/s" in p.stats.text() and "ETA 0:00" in p.stats.text()
    assert p.loss_plot.points("loss") == 3 and p.loss_plot.points("retain_loss") == 3
    assert p.probe_plot.points("forget_lp") == 2
    p.loss_plot.redraw()
    x, y = p.loss_plot.curves["loss"].getData()
    assert list(x) == [1, 2, 3]
    p.on_event(E.RunFinished("cancelled", 3, 2.0))
    assert "Stopped" in p.progress.format()


def test_compare_panel_fills_in_stages(qtbot):
    from unlearn_gui.gui.panels.compare_model import DiffRole
    from unlearn_gui.gui.panels.compare_panel import ComparePanel

    p = ComparePanel()
    qtbot.addWidget(p)
    p.on_samples(E.Samples("before", 0, _gens(["It is Hogwarts.", "Paris.", "Voldemort."])))
    assert p.row_count() == 3
    m = p.model
    assert m.rows[0].before == "It is Hogwarts." and m.rows[0].after is None
    assert m.index(0, 4).data() == "…"
    p.on_samples(E.Samples("step", 2, _gens(["It is Hog.", "Paris.", "Voldemort."])))
    assert m.index(0, 4).data() == "(step 2) It is Hog."
    p.on_samples(E.Samples("after", 4, _gens(["I am not sure.", "Paris.", "Voldemort."])))
    assert m.index(0, 4).data() == "I am not sure."
    assert m.index(0, 5).data() == "hit → miss"
    assert m.index(1, 5).data() == "hit → hit"
    html = m.index(0, 4).data(DiffRole)
    assert "background-color" in html and "sure." in html
    assert m.keyword_counts("forget") == (2, 1, 2)
    assert "Forget" in p.headline.text() and "2/2" in p.headline.text()
    p.set_filter("retain")
    assert p.row_count() == 1
    p.set_filter("probe")
    assert p.row_count() == 1
    p.set_filter("all")
    assert p.row_count() == 3


def test_compare_rows_first_then_probe_answers_then_before_after(qtbot):
    """The run sends its rows first (no answers), then a handful of live-probe answers, which only
    update the rows they name; "before" and "after" fill the whole table at the end."""
    from unlearn_gui.gui.panels.compare_panel import ComparePanel

    p = ComparePanel()
    qtbot.addWidget(p)
    m = p.model
    p.on_samples(E.Samples("rows", 0, _gens(["", "", ""])))
    assert p.row_count() == 3 and all(r.before is None and r.current() is None for r in m.rows)
    handful = _gens(["It is Hog.", "Paris.", "Voldemort."])[::2]  # rows 0 and 2 only
    p.on_samples(E.Samples("probe", 0, handful))  # the step-0 baseline is not an intermediate answer
    assert m.rows[0].current() is None
    p.on_samples(E.Samples("probe", 6, handful))
    assert p.row_count() == 3 and m.index(0, 4).data() == "(step 6) It is Hog."
    assert m.rows[1].current() is None and m.rows[2].latest == "Voldemort."
    p.on_samples(E.Samples("before", 0, _gens(["It is Hogwarts.", "Paris.", "Voldemort."])))
    p.on_samples(E.Samples("after", 8, _gens(["I am not sure.", "Paris.", "Voldemort."])))
    assert m.rows[0].before == "It is Hogwarts." and m.index(0, 4).data() == "I am not sure."


def test_compare_loads_saved_generations(qtbot):
    from unlearn_gui.gui.panels.compare_panel import ComparePanel

    p = ComparePanel()
    qtbot.addWidget(p)
    p.load_generations([{"prompt": "q", "split": "forget", "source": "forget", "reference": "r", "before": "a",
                         "after": "b", "keys": "a|x"}])
    assert p.model.index(0, 3).data() == "a" and p.model.index(0, 4).data() == "b"
    assert p.model.index(0, 5).data() == "hit → miss"


def test_log_view_formats_events(qtbot):
    from unlearn_gui.gui.panels.log_view import LogView

    v = LogView()
    qtbot.addWidget(v)
    v.on_event(E.LogMessage("warning", "skipped a row"))
    v.on_event(E.StepMetrics(1, 2, 1.0, 0.5, 0.5, 1e-4, 1.0, 0.1))
    v.on_event(E.RunFinished("failed", 1, 0.2, error="boom"))
    text = v.toPlainText()
    assert "warning: skipped a row" in text and "step 1/2" in text and "error: run failed" in text and "boom" in text


def test_spot_check_panel_shows_answers_and_adds_to_forget(qtbot):
    from unlearn_gui.gui.panels.spot_check_panel import SpotCheckPanel

    p = SpotCheckPanel()
    qtbot.addWidget(p)
    assert not p.ask_button.isEnabled()
    p.set_available(True)
    p.prompt.setPlainText("Who is Harry's godfather?")
    with qtbot.waitSignal(p.asked) as blocker:
        p.ask_button.click()
    assert blocker.args == ["Who is Harry's godfather?"]
    p.show_pending(7, during_run=True)
    p.show_result(E.SpotCheckResult(6, "old", "x", "y", 1))  # a stale answer is ignored
    assert p.original.toPlainText() == ""
    p.show_result(E.SpotCheckResult(7, "Who is Harry's godfather?", "Sirius Black.", "I am not sure.", 3))
    assert "Sirius Black." in p.original.toPlainText() and "not sure" in p.current.toPlainText()
    with qtbot.waitSignal(p.add_to_forget) as blocker:
        p.add_button.click()
    rec = blocker.args[0]
    assert rec.prompt == "Who is Harry's godfather?" and rec.answer == "Sirius Black." and rec.role == "forget"


def test_record_table_model_edits(qtbot):
    from unlearn_gui.gui.panels.record_model import COLUMNS, RecordRole, RecordTableModel

    m = RecordTableModel([Record("q1", "a1", role="forget"), Record("q2", "a2", keys=("x",))])
    assert m.rowCount() == 2 and m.columnCount() == len(COLUMNS)
    assert m.index(1, COLUMNS.index("keys")).data() == "x"
    assert m.setData(m.index(0, COLUMNS.index("answer")), "new answer")
    assert m.record(0).answer == "new answer" and m.record(0).prompt == "q1"
    assert not m.setData(m.index(0, COLUMNS.index("prompt")), "  ")  # empty text refused
    assert not m.setData(m.index(0, COLUMNS.index("role")), "bogus")
    assert m.setData(m.index(0, COLUMNS.index("role")), "holdout")
    assert m.setData(m.index(1, COLUMNS.index("keys")), "Hog | Rowling")
    assert m.record(1).keys == ("hog", "rowling")
    assert isinstance(m.index(0, 0).data(RecordRole), Record)
    m.append(Record("q3", "a3"))
    m.remove_rows([0, 2])
    assert [r.prompt for r in m.records()] == ["q2"]
    assert m.flags(m.index(0, 1)) & Qt.ItemFlag.ItemIsEditable


def test_method_panel_tooltips_presets_and_config(qtbot):
    from unlearn_gui.gui.panels.method_panel import PRESETS, MethodPanel, field_label

    p = MethodPanel()
    qtbot.addWidget(p)
    assert p.method_name() == "dipo" and p.method_combo.itemData(0) == "dipo"
    for name in ("topk", "lam", "beta", "reduction", "lr", "steps", "seed"):
        tip = p.widgets[name].toolTip()
        assert tip and "." in tip, name
    assert "paper: <b>5</b>" in p.widgets["topk"].toolTip()
    assert p.widgets["delta"].isHidden()  # SimNPO only
    cfg = p.method_config()
    assert cfg.name == "dipo" and cfg.topk == 5 and cfg.lam == 3.0 and cfg.delta is None and cfg.lora
    p.select_method("simnpo")
    assert not p.widgets["delta"].isHidden() and p.widgets["topk"].isHidden()
    assert p.value("beta") == REGISTRY["simnpo"].preset["beta"]
    p.apply_preset(PRESETS[1])
    assert abs(p.value("lr") - REGISTRY["simnpo"].paper["lr"]) < 1e-12
    p.select_method("ga")
    assert p.no_params.isVisible() or not p.isVisible()
    assert p.method_config().alpha is None  # hidden: the preset decides
    p.set_lora(False)
    assert not p.method_config().lora and not p.widgets["lora_r"].isEnabled()
    p.set_forget_count(8)
    p.set_values(steps=4, batch_size=4)
    assert abs(p.epochs.value() - 2.0) < 1e-9
    p.mark_invalid(["method.lr"])
    assert p.widgets["lr"].property("invalid") is True and p.widgets["steps"].property("invalid") is False
    assert field_label("method.lr") == "Learning rate" and field_label("data.forget") == "Forget set"
    opts = p.run_options()
    assert opts["device"] in ("auto", "cpu", "cuda", "mps") and opts["probe_every"] >= 0


def test_sci_spinbox_accepts_scientific_notation(qtbot):
    from unlearn_gui.gui.panels.hyperparams import SPECS, make_widget

    w = make_widget(SPECS["lr"])
    qtbot.addWidget(w)
    w.setValue(1e-4)
    assert w.text() == "0.0001" or w.text() == "1e-04" or w.cleanText() in ("0.0001", "1e-04")
    assert w.valueFromText("3e-5") == 3e-5
    w.stepBy(1)
    assert abs(w.value() - 2e-4) < 1e-12


def test_stall_probe_records_samples(qtbot):
    from unlearn_gui.gui.stall import StallProbe

    probe = StallProbe(interval_ms=5)
    probe.start()
    qtbot.wait(100)
    probe.stop()
    assert len(probe.samples) > 3
    s = probe.summary()
    assert s["n"] == len(probe.samples) and s["max_ms"] >= s["p99_ms"] >= s["p50_ms"] >= 0


def test_excepthook_shows_the_error_dialog(qtbot, dialogs):
    from unlearn_gui.gui import errors

    old, old_thread_hook = sys.excepthook, threading.excepthook
    try:
        errors.install_excepthook()
        try:
            raise ValueError("bad thing")
        except ValueError:
            sys.excepthook(*sys.exc_info())
    finally:
        sys.excepthook, threading.excepthook = old, old_thread_hook
    assert dialogs.errors and "bad thing" in dialogs.errors[0][0]
    assert "Traceback" in dialogs.errors[0][1]


def test_about_lists_versions():
    from unlearn_gui.gui.about import about_html, versions

    v = versions()
    for key in ("Unlearn GUI", "Python", "torch", "transformers", "peft", "PySide6", "pyqtgraph"):
        assert key in v and v[key]
    assert "pyqtgraph" in about_html()


def test_recent_models_use_temporary_settings(temp_settings):
    from unlearn_gui.gui import settings

    assert settings.recent_models() == []
    settings.add_recent_model("/a")
    settings.add_recent_model("/b")
    settings.add_recent_model("/a")
    assert settings.recent_models() == ["/a", "/b"]
    assert any(temp_settings.rglob("*.ini"))


@pytest.mark.qt_no_exception_capture
def test_exception_in_a_slot_lands_in_the_dialog(qtbot, dialogs):
    from PySide6.QtCore import QObject, Signal

    from unlearn_gui.gui import errors

    class Emitter(QObject):
        fired = Signal()

        def _on_fired(self):
            raise RuntimeError("slot blew up")

    old, old_thread_hook = sys.excepthook, threading.excepthook
    try:
        errors.install_excepthook()
        e = Emitter()
        e.fired.connect(e._on_fired)
        e.fired.emit()
        qtbot.waitUntil(lambda: bool(dialogs.errors), timeout=2000)
    finally:
        sys.excepthook, threading.excepthook = old, old_thread_hook
    assert "slot blew up" in dialogs.errors[0][0]


def test_signal_heavy_use_does_not_exhaust_singleton_refcounts(qtbot):
    """Guards the PySide6 6.12.0 / Python 3.11 workaround: thousands of emits and slot calls."""
    from PySide6.QtCore import QObject, QTimer, Signal

    from unlearn_gui.gui import compat

    compat.apply_pyside_workaround()

    class Pinger(QObject):
        ping = Signal(object)

        def __init__(self):
            super().__init__()
            self.n = 0

        def _on_ping(self, *args):
            self.n += 1

    p = Pinger()
    p.ping.connect(p._on_ping)
    timer = QTimer()
    timer.setInterval(0)
    timer.timeout.connect(p._on_ping)
    timer.start()
    for i in range(20000):
        p.ping.emit(i)
    qtbot.wait(50)
    timer.stop()
    assert p.n > 20000
    assert sys.getrefcount(None) > 1000 and sys.getrefcount(True) > 1000


def test_compare_detail_pane_follows_the_current_row(qtbot):
    from unlearn_gui.gui.panels.compare_panel import ComparePanel

    p = ComparePanel()
    qtbot.addWidget(p)
    p.on_samples(E.Samples("before", 0, _gens(["It is Hogwarts.", "Paris.", "Voldemort."])))
    assert "Which school" in p.detail.toPlainText()
    p.on_samples(E.Samples("after", 3, _gens(["No idea.", "Paris.", "Voldemort."])))
    assert "No idea." in p.detail.toPlainText()
    p.view.setCurrentIndex(p.proxy.index(1, 0))
    assert "Capital of France?" in p.detail.toPlainText()
