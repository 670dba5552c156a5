"""The data editor through its public interface: tagging by keyboard, undo/redo, search and role
filters, import by drag and drop (every bad-input case names the file and line, the source file
is never modified), the column-mapping dialog, save / reopen / autosave / recovery, retain
suggestions, statistics and "add to forget set" from the compare table."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from unlearn_gui.core.common import events as E
from unlearn_gui.core.data import formats as readers_formats
from unlearn_gui.core.data.readers import read_records
from unlearn_gui.core.common.records import Record
from unlearn_gui.gui.panels import data_project, import_dialogs, retain_suggestions
from unlearn_gui.gui.panels.example_model import COLUMNS
from unlearn_gui.gui.panels.import_dialogs import ImportOptions
from unlearn_gui.gui.workers import Job

WAIT = 30_000
ROWS = [
    Record("Who wrote Hamlet?", "Shakespeare", role="forget", keys=("shakespeare",)),
    Record("Capital of France?", "Paris", role="retain", paraphrased_answer="It is Paris",
           perturbed_answers=("Lyon", "Nice")),
    Record("Who is Harry's godfather?", "Sirius Black, \"Padfoot\",\nhis father's friend", role="forget",
           extra=(("id", "7"),)),
    Record("", "A whole document, with ünïcödé and a tab\t.", kind="text", role="retain"),
    Record("Next?", "Done", role="ignore", context=(("system", "Be brief"),)),
]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plain(records) -> list[Record]:
    return [dataclasses.replace(r, source="") for r in records]


@pytest.fixture
def panel(qtbot, dialogs):
    from unlearn_gui.gui.panels.data_panel import DataPanel

    p = DataPanel()
    qtbot.addWidget(p)
    p.resize(1000, 600)
    p.show()
    yield p
    p.close_down()
    Job.wait_all()


def wait_loaded(qtbot, panel) -> None:
    qtbot.waitUntil(lambda: not panel.is_loading(), timeout=WAIT)


def drop(view, *paths) -> QDropEvent:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    # QDragEnterEvent takes a QPoint (PySide6 6.11 refuses a QPointF; 6.12 converts), QDropEvent a QPointF
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    view.dragEnterEvent(enter)
    assert enter.isAccepted()
    ev = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    view.dropEvent(ev)
    return ev


@pytest.fixture
def import_role(monkeypatch):
    """Answer the import question with a role (and record how often it was asked)."""
    asked = []

    def choose(parent, title, intro, *, text_doc=False, default_role="forget"):
        asked.append((title, text_doc))
        return ImportOptions(role=choose.role, text_mode=choose.text_mode, window_tokens=choose.window_tokens)

    choose.role, choose.text_mode, choose.window_tokens, choose.asked = "retain", "paragraphs", 256, asked
    monkeypatch.setattr(import_dialogs, "choose_import_options", choose)
    return choose


# ---------------------------------------------------------------- tagging, editing, undo

def test_keyboard_tagging_context_actions_and_undo_redo_restore_exact_content(qtbot, panel):
    panel.set_rows(ROWS)
    ed, view = panel.editor, panel.editor.view
    before = panel.examples.records()
    ed.select_rows([0, 2, 4])
    qtbot.keyClick(view, Qt.Key.Key_H)
    assert [r.role for r in panel.examples.records()] == ["holdout", "retain", "holdout", "retain", "holdout"]
    qtbot.keyClick(view, Qt.Key.Key_I)
    ed.select_rows([1])
    qtbot.keyClick(view, Qt.Key.Key_F)
    ed.select_rows([3])
    ed.tag_actions["retain"].trigger()  # context menu entry; already retain: nothing to undo
    ed.select_rows([0, 1])
    qtbot.keyClick(view, Qt.Key.Key_R)
    assert [r.role for r in panel.examples.records()] == ["retain", "retain", "ignore", "retain", "ignore"]
    assert panel.role_counts() == {"forget": 0, "retain": 3, "holdout": 0, "ignore": 2}
    assert panel.counts() == {"forget": 0, "retain": 3, "probes": 0}
    # a cell edited in place, a duplicate and a deletion
    assert panel.examples.setData(panel.examples.index(1, COLUMNS.index("answer")), "Paris, France")
    assert not panel.examples.setData(panel.examples.index(1, COLUMNS.index("prompt")), "   ")  # refused
    assert panel.examples.setData(panel.examples.index(1, COLUMNS.index("perturbed")), "Lyon\n\nMarseille")
    assert panel.examples.record(1).perturbed_answers == ("Lyon", "Marseille")
    ed.select_rows([1])
    qtbot.keyClick(view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert panel.examples.rowCount() == 6 and panel.examples.record(2) == panel.examples.record(1)
    ed.select_rows([0, 3])
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    edited = panel.examples.records()
    assert len(edited) == 4 and panel.is_modified()
    stack = panel.examples.undo_stack
    steps = stack.index()
    for _ in range(steps):
        panel.undo_action.trigger()
    assert panel.examples.records() == before and stack.isClean()  # exact records, sources included
    for _ in range(steps):
        panel.redo_action.trigger()
    assert panel.examples.records() == edited
    assert "Delete" in panel.undo_action.text()


def test_tag_keys_do_nothing_while_read_only_and_letters_elsewhere_do_not_tag(qtbot, panel):
    panel.set_rows(ROWS)
    panel.editor.select_rows([0])
    panel.set_editable(False)  # during a run
    qtbot.keyClick(panel.editor.view, Qt.Key.Key_R)
    qtbot.keyClick(panel.editor.view, Qt.Key.Key_Delete)
    assert panel.examples.records() == ROWS and not panel.undo_action.isEnabled()
    panel.set_editable(True)
    qtbot.keyClicks(panel.editor.search, "fr")  # typing in the search box never tags
    assert panel.examples.records() == ROWS


def test_search_and_role_filter_map_back_to_the_right_rows(qtbot, panel):
    panel.set_rows(ROWS)
    ed = panel.editor
    ed.set_search("PADFOOT")
    assert ed.proxy.rowCount() == 1
    ed.set_search("")
    ed.set_role_filter("retain")
    assert ed.proxy.rowCount() == 2
    ed.view.selectAll()
    assert ed.selected_rows() == [1, 3]  # rows of the model, not of the filtered view
    qtbot.keyClick(ed.view, Qt.Key.Key_F)
    assert ed.proxy.rowCount() == 0 and panel.role_counts()["forget"] == 4
    ed.set_role_filter("")
    assert ed.proxy.rowCount() == 5


# ---------------------------------------------------------------- import

def test_import_by_drag_and_drop_appends_in_one_undo_step_and_leaves_sources_alone(qtbot, panel, tmp_path,
                                                                                   import_role):
    panel.set_rows(ROWS[:1])
    tmp_path = tmp_path / "src"
    tmp_path.mkdir()
    jl = tmp_path / "mine.jsonl"
    jl.write_text('{"question": "q1", "answer": "a1", "role": "forget"}\n{"prompt": "q2", "response": "a2"}\n'
                  '{"question": "q3", "answer": "a3", "split": "other"}\n', "utf-8")
    csv = tmp_path / "more.csv"
    csv.write_text('question,answer,keys\n"a, b","line1\nline2",k1|k2\n', "utf-8")
    md = tmp_path / "notes.md"
    md.write_text("First paragraph\nstill first.\n\nSecond paragraph.\n", "utf-8")
    digests = {p: sha(p) for p in (jl, csv, md)}
    import_role.role = "retain"
    drop(panel.editor.view, jl, csv, md)
    wait_loaded(qtbot, panel)
    assert len(import_role.asked) == 1 and import_role.asked[0][1]  # one question, with the text split
    got = panel.examples.records()
    assert [r.prompt for r in got[1:4]] == ["q1", "q2", "q3"]
    assert [r.role for r in got[1:4]] == ["forget", "retain", "retain"]  # a file's own role wins
    assert got[4].prompt == "a, b" and got[4].answer == "line1\nline2" and got[4].keys == ("k1", "k2")
    assert [r.answer for r in got[5:]] == ["First paragraph\nstill first.", "Second paragraph."]
    assert got[5].kind == "text" and got[5].source == "notes.md:1"
    assert {p: sha(p) for p in digests} == digests
    assert sorted(os.listdir(tmp_path)) == ["mine.jsonl", "more.csv", "notes.md"]
    while panel.examples.undo_stack.canUndo():
        panel.undo()
    assert panel.examples.records() == ROWS[:1]


def test_load_file_with_a_role_and_text_windows(qtbot, panel, tmp_path, import_role):
    doc = tmp_path / "book.txt"
    doc.write_text(" ".join(f"w{i}" for i in range(25)), "utf-8")
    import_role.role, import_role.text_mode, import_role.window_tokens = "forget", "windows", 10
    panel.load_file("forget", str(doc))  # a text document still asks how to split it
    wait_loaded(qtbot, panel)
    assert import_role.asked == [("Import book.txt", True)]
    assert [len(r.answer.split()) for r in panel.rows("forget")] == [10, 10, 5]


def test_bad_row_names_file_and_line_and_valid_rows_may_be_kept(qtbot, panel, dialogs, tmp_path):
    bad = tmp_path / "partly.jsonl"
    bad.write_text('{"question": "q1", "answer": "a1"}\n{"question": "q2", oops}\n{"question": "q3"}\n'
                   '{"question": "q4", "answer": "a4"}\n', "utf-8")
    digest = sha(bad)
    dialogs.answer = False  # import nothing
    panel.load_file("forget", str(bad))
    wait_loaded(qtbot, panel)
    text = dialogs.questions[-1]
    assert "partly.jsonl, line 2" in text and "oops" in text and "partly.jsonl, line 3, field 'answer'" in text
    assert "2 valid rows" in text and panel.examples.rowCount() == 0
    dialogs.answer = True
    panel.load_file("forget", str(bad))
    wait_loaded(qtbot, panel)
    assert [r.prompt for r in panel.rows("forget")] == ["q1", "q4"] and sha(bad) == digest
    assert not dialogs.errors


@pytest.mark.parametrize("name, content, parts", [
    ("empty.jsonl", b"", ["empty.jsonl", "file is empty"]),
    ("blank.csv", b"\n\n", ["blank.csv", "file is empty"]),
    ("model.jsonl", b"GGUF\x03\x00\x00\x00" + b"\x00" * 64, ["model.jsonl", "binary", "GGUF"]),
    ("nul.json", b'{"a": 1}\x00\x00', ["nul.json", "binary"]),
    ("latin.jsonl", '{"question": "q", "answer": "a"}\n{"question": "caf\u00e9", "answer": "x"}\n'.encode("latin-1"),
     ["latin.jsonl, line 2", "not valid UTF-8", "caf"]),
    ("nothing.jsonl", b'{"question": "q"}\n{"question": "q2", "answer": null}\n',
     ["No usable row", "nothing.jsonl, line 1, field 'answer'", "nothing.jsonl, line 2, field 'answer'"]),
])
def test_bad_files_end_in_a_dialog_naming_the_place(qtbot, panel, dialogs, tmp_path, name, content, parts):
    path = tmp_path / name
    path.write_bytes(content)
    panel.set_rows(ROWS[:2])
    panel.load_file("forget", str(path))
    wait_loaded(qtbot, panel)
    assert len(dialogs.errors) == 1, dialogs.errors
    message = dialogs.errors[0][0]
    for part in parts:
        assert part in message, message
    assert panel.examples.records() == ROWS[:2] and path.read_bytes() == content


def test_one_enormous_line_is_refused_with_its_line_number(qtbot, panel, dialogs, tmp_path, monkeypatch):
    monkeypatch.setattr(readers_formats, "MAX_LINE_BYTES", 1024)
    path = tmp_path / "huge.jsonl"
    path.write_text('{"question": "q", "answer": "a"}\n{"question": "' + "x" * 5000 + '", "answer": "a"}\n', "utf-8")
    panel.load_file("forget", str(path))
    wait_loaded(qtbot, panel)
    assert "huge.jsonl, line 2" in dialogs.questions[-1] and "longer than" in dialogs.questions[-1]
    assert [r.prompt for r in panel.rows("forget")] == ["q"]


def test_unrecognised_columns_open_the_mapping_dialog_with_a_preview(qtbot, panel, tmp_path, monkeypatch):
    path = tmp_path / "fragen.csv"
    path.write_text("id,frage,antwort\n1,Wer?,Ich\n2,Wo?,Hier\n", "utf-8")
    seen = {}

    def choose(parent, name, columns, preview, reason=""):
        seen.update(name=name, columns=columns, preview=preview, reason=reason)
        return {"prompt": "frage", "answer": "antwort"}

    monkeypatch.setattr(import_dialogs, "choose_mapping", choose)
    panel.load_file("retain", str(path))
    wait_loaded(qtbot, panel)
    assert seen["columns"] == ["id", "frage", "antwort"] and seen["preview"][0] == (2, {"id": "1", "frage": "Wer?",
                                                                                         "antwort": "Ich"})
    assert "columns not recognised" in seen["reason"]
    got = panel.rows("retain")
    assert [(r.prompt, r.answer) for r in got] == [("Wer?", "Ich"), ("Wo?", "Hier")]
    assert got[0].extra == (("id", "1"),)  # unmapped columns are kept, not dropped


def test_mapping_dialog_guesses_and_validates(qtbot):
    from unlearn_gui.gui.panels.import_dialogs import ColumnMappingDialog, guess_mapping

    assert guess_mapping(["query", "target", "tags"]) == {"prompt": "query", "answer": "target", "keys": "tags"}
    assert guess_mapping(["x", "y"]) == {"prompt": "x", "answer": "y"}
    dlg = ColumnMappingDialog("f.csv", ["c1", "c2", "c3"], [(2, {"c1": "a", "c2": "b", "c3": "c"})])
    qtbot.addWidget(dlg)
    assert dlg.preview.model().rowCount() == 1 and dlg.preview.model().headerData(0, Qt.Orientation.Vertical) == "2"
    ok = dlg.buttons.button(dlg.buttons.StandardButton.Ok)
    assert not ok.isEnabled() and "prompt and an answer" in dlg.message.text()
    dlg.set_mapping({"prompt": "c1", "answer": "c3"})
    assert ok.isEnabled() and dlg.mapping() == {"prompt": "c1", "answer": "c3"}
    dlg.set_mapping({"prompt": "c1", "answer": "c1"})
    assert not ok.isEnabled()


def test_large_file_loads_in_the_background_with_one_insertion(qtbot, panel, tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for i in range(100_000):
            f.write(json.dumps({"question": f"question {i}", "answer": f"answer {i}"}) + "\n")
    inserted, statuses = [], []
    panel.examples.rowsInserted.connect(lambda parent, first, last: inserted.append((first, last)))
    panel.importer.status.connect(statuses.append)
    panel.load_file("forget", str(path))
    assert panel.is_loading() and panel.examples.rowCount() == 0  # returned at once: read on a worker
    qtbot.waitUntil(lambda: not panel.is_loading(), timeout=120_000)
    assert panel.examples.rowCount() == 100_000 and inserted == [(0, 99_999)]
    assert any("rows" in s and "Reading big.jsonl" in s for s in statuses)
    assert panel.editor.view.verticalHeader().sectionResizeMode(0).name == "Fixed"
    panel.editor.set_search("question 99999")
    assert panel.editor.proxy.rowCount() == 1


def test_cancel_stops_an_import(qtbot, panel, tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps({"question": f"q{i}", "answer": "a"}) + "\n" for i in range(60_000)), "utf-8")
    panel.load_file("forget", str(path))
    panel.editor.cancel_button.click()
    wait_loaded(qtbot, panel)
    assert panel.examples.rowCount() in (0, 60_000)  # stopped, or finished before the click landed


# ---------------------------------------------------------------- project files

def test_save_then_reopen_is_identical_and_keeps_a_backup(qtbot, panel, tmp_path, monkeypatch):
    panel.set_rows(ROWS)
    target = tmp_path / "project.jsonl"
    monkeypatch.setattr(data_project, "choose_save_path", lambda parent, suggested: str(target))
    with qtbot.waitSignal(panel.project.saved, timeout=WAIT):
        assert panel.save()  # no project file yet: asks where (patched), then writes in the background
    assert not panel.is_modified() and panel.project.path == str(target)
    panel.editor.select_rows([0])
    qtbot.keyClick(panel.editor.view, Qt.Key.Key_I)
    assert panel.is_modified()
    with qtbot.waitSignal(panel.project.saved, timeout=WAIT):
        panel.save()
    backup = tmp_path / "backup.jsonl"
    backup.write_bytes(target.with_name("project.jsonl.bak").read_bytes())
    assert plain(read_records(backup)) == plain(ROWS)
    saved = panel.examples.records()
    panel.set_rows([])
    panel.project.mark_loaded(None)
    panel.open_project(str(target))
    wait_loaded(qtbot, panel)
    assert plain(panel.examples.records()) == plain(saved)
    assert panel.project.path == str(target) and not panel.is_modified()


def test_opening_over_unsaved_changes_asks_first(qtbot, panel, dialogs, tmp_path):
    other = tmp_path / "other.jsonl"
    other.write_text('{"question": "q", "answer": "a", "role": "retain"}\n', "utf-8")
    panel.set_rows(ROWS)
    dialogs.save_answer = "cancel"
    panel.open_project(str(other))
    assert "not saved" in dialogs.questions[-1] and not panel.is_loading()
    assert panel.examples.records() == ROWS
    dialogs.save_answer = "discard"
    panel.open_project(str(other))
    wait_loaded(qtbot, panel)
    assert [r.prompt for r in panel.examples.records()] == ["q"]


def test_autosave_writes_a_recovery_file_that_a_later_session_restores(qtbot, panel, dialogs, tmp_path):
    from unlearn_gui.gui.panels.data_panel import DataPanel

    panel.set_rows(ROWS)
    panel.editor.select_rows([1])
    qtbot.keyClick(panel.editor.view, Qt.Key.Key_H)
    panel.project.autosave()
    qtbot.waitUntil(lambda: panel.project._autosaving is None, timeout=WAIT)
    rec = panel.project.recovery_path
    assert plain(read_records(rec)) == plain(panel.examples.records())
    crashed = rec.with_name("examples-999999999.jsonl")  # as if left by a process that is gone
    os.replace(rec, crashed)
    os.replace(rec.with_suffix(".json"), crashed.with_suffix(".json"))
    later = DataPanel()
    qtbot.addWidget(later)
    later.offer_recovery()
    assert "5 rows" in dialogs.questions[-1]
    wait_loaded(qtbot, later)
    assert plain(later.examples.records()) == plain(panel.examples.records()) and later.is_modified()
    assert not crashed.exists() and later.project.recovery_path.exists()
    later.project.discard_recovery()
    assert not later.project.recovery_path.exists()
    later.close_down()


# ---------------------------------------------------------------- retain suggestions, statistics

def test_retain_suggestions_from_tofu(qtbot, panel, monkeypatch):
    from unlearn_gui.gui.panels.retain_suggestions import RetainSuggestionsDialog

    dlg = RetainSuggestionsDialog({"What is the capital of Australia?"})
    qtbot.addWidget(dlg)
    assert dlg.model.rowCount() == 117
    assert dlg.model.present(2) and not dlg.model.flags(dlg.model.index(2, 0)) & Qt.ItemFlag.ItemIsUserCheckable
    dlg.check_rows([0, 1, 2])  # row 2 is already in the table: not picked
    assert [r.prompt for r in dlg.records()] == ["Where would you find the Eiffel Tower?",
                                                 "Which country is known as the Land of the Rising Sun?"]
    assert all(r.role == "retain" for r in dlg.records())
    dlg.load_source("real_authors")
    assert dlg.model.rowCount() == 100 and dlg.records() == []
    dlg.search.setText("1984")
    assert dlg.proxy.rowCount() == 1
    picked = [Record("Who wrote '1984'?", "George Orwell", role="forget")]
    monkeypatch.setattr(retain_suggestions, "choose_retain_rows", lambda parent, existing: picked)
    panel.suggest_action.trigger()
    assert panel.rows("retain") == (picked[0].with_role("retain"),)
    panel.undo()
    assert panel.examples.rowCount() == 0


def test_statistics_histogram_words_then_model_tokens(qtbot, panel, tiny_model):
    import pyqtgraph as pg

    panel.set_rows(ROWS)
    panel.show_statistics()
    qtbot.waitUntil(lambda: panel.stats.stats is not None and not panel.stats.is_busy(), timeout=WAIT)
    s = panel.stats.stats
    assert s.unit == "words" and "approximation" in panel.stats.summary.text()
    assert int(sum(h.sum() for h in s.per_role.values())) == len(ROWS)
    assert any(isinstance(i, pg.BarGraphItem) for i in panel.stats.plot.items())
    panel.set_model_info(tiny_model, "tiny")
    qtbot.waitUntil(lambda: panel.stats.stats is not s and not panel.stats.is_busy(), timeout=WAIT)
    assert panel.stats.stats.unit == "tokens" and "tiny" in panel.stats.summary.text()


# ---------------------------------------------------------------- tag from outputs

def test_add_to_forget_set_from_the_compare_table(qtbot):
    from unlearn_gui.gui.panels.compare_panel import ComparePanel

    p = ComparePanel()
    qtbot.addWidget(p)
    gens = (E.Generation("Who is Harry's godfather?", "forget", "forget", "Sirius", "", ("sirius",)),
            E.Generation("Capital of France?", "retain", "retain", "Paris", "", ()))
    p.on_samples(E.Samples("before", 0, tuple(dataclasses.replace(g, text=t) for g, t in
                                              zip(gens, ("Sirius Black, his godfather.", "Paris."), strict=True))))
    assert not p.add_forget.button.isEnabled()
    p.view.selectAll()
    assert p.add_forget.button.isEnabled() and p.add_forget.button.text() == "Add 2 to forget set"
    with qtbot.waitSignal(p.add_forget.requested) as blocker:
        p.add_forget.button.click()
    recs = blocker.args[0]
    assert [(r.prompt, r.answer, r.role) for r in recs] == [
        ("Who is Harry's godfather?", "Sirius Black, his godfather.", "forget"), ("Capital of France?", "Paris.",
                                                                                 "forget")]


# ---------------------------------------------------------------- in the main window

def test_window_runs_on_tagged_rows_and_adds_from_outputs(qtbot, window, dialogs):
    from unlearn_gui.gui.main_window import TABS

    w, d = window, window.data_panel
    a = w.menu_actions
    assert a.open_data.shortcut().toString() == "Ctrl+O" and a.import_data.shortcut().toString() == "Ctrl+I"
    assert d.undo_action.shortcut().toString() == "Ctrl+Z"
    assert "Ctrl+Shift+Z" in [s.toString() for s in d.redo_action.shortcuts()]
    edit_menu = next(m.menu() for m in w.menuBar().actions() if m.text() == "&Edit")
    assert any(x.text().startswith("Tag as &forget\tF") for x in edit_menu.actions())
    d.editor.select_rows([0, 1])
    qtbot.keyClick(d.editor.view, Qt.Key.Key_H)
    d.editor.select_rows([16])
    qtbot.keyClick(d.editor.view, Qt.Key.Key_I)
    assert w.tabs.tabText(TABS.index("data")) == "Data •"
    cfg = w.build_config()
    assert [r.role for r in cfg.data.forget_rows] == ["forget"] * 14 + ["holdout"] * 2
    assert len(cfg.data.retain_rows) == 17 and all(r.role == "retain" for r in cfg.data.retain_rows)
    with qtbot.waitSignal(w.controller.run_ended, timeout=120_000) as blocker:
        w.start_run()
    qtbot.waitUntil(lambda: not w.controller.is_busy(), timeout=120_000)
    assert blocker.args[0].status == "completed", dialogs.errors
    sources = [r.source for r in w.compare_panel.model.rows]
    assert sources.count("forget") == 14 and sources.count("retain") == 17  # holdout and ignore: never trained
    # tag from outputs: the compare table's original answers become forget rows, undoable in one step
    w.compare_panel.view.selectRow(0)
    row = w.compare_panel.add_forget.selected()[0]
    w.compare_panel.add_forget.button.click()
    assert d.counts()["forget"] == 15 and d.rows("forget")[-1].answer == row.before
    assert d.rows("forget")[-1].source == "compare table"
    d.undo_action.trigger()
    assert d.counts()["forget"] == 14


def test_closing_the_window_asks_about_unsaved_data(qtbot, window, dialogs, tmp_path, monkeypatch):
    w, d = window, window.data_panel
    d.editor.select_rows([0])
    qtbot.keyClick(d.editor.view, Qt.Key.Key_I)
    dialogs.save_answer = "cancel"
    w.close()
    assert w.isVisible() and "not saved" in dialogs.questions[-1]
    target = tmp_path / "kept.jsonl"
    monkeypatch.setattr(data_project, "choose_save_path", lambda parent, suggested: str(target))
    dialogs.save_answer = "save"
    w.close()
    assert not w.isVisible()
    saved = read_records(target)
    assert len(saved) == 34 and saved[0].role == "ignore" and plain(saved) == plain(d.examples.records())


def test_probes_stay_a_separate_list(qtbot, panel, tmp_path):
    path = tmp_path / "probes.jsonl"
    path.write_text('{"question": "p1", "answer": "w", "split": "forget"}\n'
                    '{"question": "p2", "answer": "x", "split": "other"}\n', "utf-8")
    panel.set_rows(ROWS)
    panel.load_file("probes", str(path))
    wait_loaded(qtbot, panel)
    assert [(r.prompt, r.role) for r in panel.rows("probes")] == [("p1", "forget"), ("p2", "other")]
    panel.add_record("probes", Record("p3", "y"))
    assert panel.counts()["probes"] == 3 and panel.examples.records() == ROWS
    assert panel.tabs.tabText(1) == "Probes (3)"


def test_cells_edit_in_place_enter_commits_shift_enter_adds_a_line(qtbot, panel):
    from PySide6.QtWidgets import QPlainTextEdit

    panel.set_rows(ROWS)
    view, proxy = panel.editor.view, panel.editor.proxy
    view.edit(proxy.index(1, COLUMNS.index("answer")))
    editor = view.viewport().findChild(QPlainTextEdit)
    assert editor is not None and editor.toPlainText() == "Paris"
    editor.setPlainText("Paris")
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(editor, "(France)")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.examples.record(1).answer == "Paris\n(France)", timeout=WAIT)
    assert panel.examples.undo_stack.undoText() == "Edit answer"
    panel.undo()
    assert panel.examples.record(1) == ROWS[1]
