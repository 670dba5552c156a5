"""Evaluation in the GUI: the alarm banner, the token view, the runs browser and the Report button,
on run folders written by tiny headless runs (engine.run with out_dir, as `unlearn-gui run` does)."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from unlearn_gui.core import config as C
from unlearn_gui.core.train import engine
from unlearn_gui.core.common import events as E
from unlearn_gui.core.evaluate import tokenview
from unlearn_gui.gui import eval_actions, file_actions, settings

RUN_TIMEOUT = 120_000


@pytest.fixture(scope="module")
def run_folders(tmp_path_factory, tiny_model):
    """Two finished run folders (dipo and npo, 2 steps, scorecard and token view) under one root."""
    root = tmp_path_factory.mktemp("runs")
    data = root.parent / "data"
    data.mkdir(exist_ok=True)

    def jsonl(name, rows):
        p = data / name
        p.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return str(p)

    forget = jsonl("forget.jsonl", [{"question": f"Which school does wizard {i} attend?",
                                     "answer": f"Wizard {i} attends Hogwarts.", "keys": "hogwarts"} for i in range(4)])
    retain = jsonl("retain.jsonl", [{"question": f"What is the capital of country {i}?",
                                     "answer": f"The capital is Paris {i}.", "keys": "paris"} for i in range(4)])
    paths = []
    for method in ("dipo", "npo"):
        out = root / f"{method}-run"
        cfg = C.RunConfig(model=C.ModelConfig(path=tiny_model, device="cpu"),
                          data=C.DataConfig(forget=forget, retain=retain),
                          method=C.MethodConfig(name=method, steps=2, batch_size=2, lr=1e-2),
                          max_new_tokens=3, probe_every=1, probe_budget=0.0, out_dir=str(out))
        res = engine.run(cfg, lambda e: None)
        assert res.status == "completed", res.traceback
        paths.append(out)
    return root, paths


def alarm(step=3, kind="retain_drop", message="retain answers are collapsing"):
    return E.Alarm(step, kind, message)


def test_alarm_banner_and_log_show_fed_alarms(qtbot):
    from unlearn_gui.gui.panels.log_view import LogView
    from unlearn_gui.gui.panels.run_panel import RunPanel

    panel, log = RunPanel(), LogView()
    qtbot.addWidget(panel)
    qtbot.addWidget(log)
    panel.show()
    assert not panel.alarm_banner.isVisible()
    for ev in (alarm(), alarm(5, "repetition", "answers repeat themselves")):
        panel.on_event(ev)
        log.on_event(ev)
    assert panel.alarm_banner.isVisible()
    text = panel.alarm_banner.label.text()
    assert "Step 3" in text and "collapsing" in text and "repeat themselves" in text
    assert "warning: ALARM (retain_drop) at step 3" in log.toPlainText()
    panel.begin()  # the next run starts without the old warning
    assert not panel.alarm_banner.isVisible() and not panel.alarm_banner.messages


def test_token_view_shows_coloured_tokens_of_a_run_folder(qtbot, run_folders):
    from unlearn_gui.core.runs.folder import load_run_folder
    from unlearn_gui.gui.panels.token_view import TokenViewPanel

    data = load_run_folder(run_folders[1][0])
    assert data["tokenview"], "the run folder has tokenview.json"
    panel = TokenViewPanel()
    qtbot.addWidget(panel)
    panel.set_rows(data["tokenview"])
    assert panel.combo.count() == len(data["tokenview"])
    html = panel.current_html().lower()
    first = data["tokenview"][0]
    colours = {tokenview.colour(p) for _, p in first["before"] + first["after"]}
    assert any(c.lower() in html for c in colours)
    assert "before" in html and "after" in html and "mean token probability" in html
    # an item the folder does not hold: no model to measure it, so a note instead of a request
    with qtbot.assertNotEmitted(panel.wanted):
        panel.show_item("some other prompt", "some answer")
    assert "first forget items" in panel.note.text()
    panel.set_can_compute(True)
    with qtbot.waitSignal(panel.wanted) as got:
        panel.show_item("some other prompt", "some answer")
    assert got.args == ["some other prompt", "some answer"]


def test_runs_browser_lists_two_runs_and_overlays_them(qtbot, run_folders):
    from unlearn_gui.gui.runs_browser import RunsBrowser

    root, paths = run_folders
    settings.set_runs_root(str(root))
    b = RunsBrowser()
    qtbot.addWidget(b)
    with qtbot.waitSignal(b.listed, timeout=20000):
        b.refresh()
    assert b.table.topLevelItemCount() == 2
    methods = sorted(b.table.topLevelItem(i).text(1) for i in range(2))
    assert methods == ["dipo", "npo"]
    assert all("→" in b.table.topLevelItem(i).text(5) for i in range(2))  # forget Prob before → after
    with qtbot.waitSignal(b.loaded, timeout=20000):
        b.select_paths([str(p) for p in paths])
    first, second = [p.rsplit("/", 1)[-1] for p in b.selected_paths()]  # table order: newest first
    assert {first, second} == {"dipo-run", "npo-run"}
    names = b.probe_plot.curve_names()
    assert len(names) == 4 and {n.split(" · ")[0] for n in names} == {f"1: {first}", f"2: {second}"}
    styles = {item.name(): item.opts["pen"].style() for item in b.probe_plot.getPlotItem().listDataItems()}
    assert styles[f"1: {first} · forget"] == Qt.PenStyle.SolidLine
    assert styles[f"2: {second} · forget"] == Qt.PenStyle.DashLine
    assert len(b.loss_plot.curve_names()) == 2
    headers = [b.card.horizontalHeaderItem(i).text() for i in range(b.card.columnCount())]
    assert headers == ["Metric", f"1: {first} before", f"1: {first} after", f"2: {second} before",
                       f"2: {second} after"]
    metrics = [b.card.item(i, 0).text() for i in range(b.card.rowCount())]
    assert "Forget: answer probability" in metrics and "Model utility (harmonic mean)" in metrics
    # one run selected: its curves only
    with qtbot.waitSignal(b.loaded, timeout=20000):
        b.select_paths([str(paths[0])])
    assert {n.split(" · ")[0] for n in b.probe_plot.curve_names()} == {"dipo-run"}


def test_recent_runs_are_listed_without_a_root(qtbot, run_folders):
    from unlearn_gui.gui.runs_browser import RunsBrowser

    settings.add_recent_run(str(run_folders[1][1]))
    b = RunsBrowser()
    qtbot.addWidget(b)
    with qtbot.waitSignal(b.listed, timeout=20000):
        b.refresh()
    assert b.table.topLevelItemCount() == 1 and b.table.topLevelItem(0).text(1) == "npo"


def test_open_run_from_browser_shows_token_view_and_report(qtbot, window, dialogs, run_folders, monkeypatch):
    w = window
    opened = []
    monkeypatch.setattr(eval_actions, "open_in_browser", opened.append)
    root, paths = run_folders
    settings.set_runs_root(str(root))
    w.menu_actions.runs.trigger()
    b = w.eval_actions.browser
    qtbot.waitUntil(lambda: b.table.topLevelItemCount() == 2, timeout=20000)
    with qtbot.waitSignal(b.loaded, timeout=20000):
        b.select_paths([str(paths[0])])
    b.open_button.click()
    tv = w.compare_panel.token_view
    assert w.viewing_saved and tv.rows and tv.combo.count() == len(tv.rows)
    assert w.run_panel.loss_plot.points("loss") == 2 and len(w.compare_panel.model.rows) > 0
    assert str(paths[0]) in settings.recent_runs()
    (paths[0] / "report.html").unlink()
    assert w.run_panel.report_button.isEnabled()
    w.run_panel.report_button.click()
    qtbot.waitUntil(lambda: bool(opened), timeout=60000)
    assert opened == [str(paths[0] / "report.html")] and (paths[0] / "report.html").is_file()
    # the report button of the browser writes the selected run's report too
    opened.clear()
    b.report_button.click()
    qtbot.waitUntil(lambda: bool(opened), timeout=60000)
    assert not dialogs.errors


def test_live_run_stop_rule_token_view_on_demand_and_report(qtbot, window, dialogs, tmp_path, monkeypatch):
    """A GUI run with the stop rule on: it stops at the first probe; afterwards any compare row's
    token view is measured on the model in memory; Report saves the run folder first, then opens it."""
    w = window
    w.method_panel.set_values(stop_forget_below=0.999)
    assert w.build_config().stop_forget_below == 0.999 and w.build_config().stop_retain_above is None
    with qtbot.waitSignal(w.controller.run_ended, timeout=RUN_TIMEOUT) as blocker:
        qtbot.mouseClick(w.run_panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not w.controller.is_busy(), timeout=RUN_TIMEOUT)
    result = blocker.args[0]
    assert result.status == "completed" and result.steps_done == 1, dialogs.errors
    assert "stop rule met at step 1" in w.log_view.toPlainText()
    cp = w.compare_panel
    cp.show_token_view()
    retain_row = next(i for i, r in enumerate(cp.model.rows) if r.source == "retain")
    with qtbot.waitSignal(w.controller.busy_changed, timeout=RUN_TIMEOUT):
        cp.view.setCurrentIndex(cp.proxy.mapFromSource(cp.model.index(retain_row, 0)))
    qtbot.waitUntil(lambda: not w.controller.is_busy(), timeout=RUN_TIMEOUT)
    row = cp.model.rows[retain_row]
    i = cp.token_view.find(row.prompt, row.reference)
    assert i is not None and cp.token_view.combo.currentIndex() == i
    assert cp.token_view.rows[i]["before"] and cp.token_view.rows[i]["after"]

    opened = []
    monkeypatch.setattr(eval_actions, "open_in_browser", opened.append)
    monkeypatch.setattr(file_actions, "choose_new_folder", lambda parent, title, s: str(tmp_path / "live-run"))
    w.run_panel.report_button.click()
    qtbot.waitUntil(lambda: bool(opened), timeout=RUN_TIMEOUT)
    assert opened == [str(tmp_path / "live-run" / "report.html")]
    summary = json.loads((tmp_path / "live-run" / "summary.json").read_text())
    assert summary["stop_rule"]["met_at"] == 1 and summary["steps"] == 1
    assert not dialogs.errors
