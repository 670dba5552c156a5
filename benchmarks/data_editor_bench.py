"""The data editor with 100,000 rows: how long each action takes and how late a 10 ms timer fires
meanwhile (``gui.stall.StallProbe``), offscreen, in a fresh process.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.data_editor_bench [ROWS]

Import runs on a worker thread (the stall there is the window's, not the import's duration);
tagging, undo, search and filtering run in the GUI thread over every row, so their time is the
stall. Prints one JSON object.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(n: int = 100_000) -> dict:
    tmp = tempfile.mkdtemp(prefix="data-editor-bench-")
    os.environ["UNLEARN_GUI_DATA_DIR"] = os.path.join(tmp, "appdata")
    from PySide6.QtWidgets import QApplication

    from unlearn_gui.gui.compat import apply_pyside_workaround

    apply_pyside_workaround()
    app = QApplication.instance() or QApplication([])
    from unlearn_gui.gui import errors
    from unlearn_gui.gui.panels.data_panel import DataPanel
    from unlearn_gui.gui.stall import StallProbe
    from unlearn_gui.gui.workers import Job

    errors.ask = lambda *a, **k: True
    path = os.path.join(tmp, "big.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"question": f"What is fact number {i} about the wizarding world?",
                                "answer": f"It is answer {i}, a sentence of moderate length."}) + "\n")
    panel = DataPanel()
    panel.resize(1200, 700)
    panel.show()
    app.processEvents()
    out: dict = {"rows": n}

    def until(done) -> None:
        while not done():
            app.processEvents()
            time.sleep(0.002)

    def measure(name: str, action, done=lambda: True) -> None:
        probe = StallProbe(10)
        probe.start()
        t = time.perf_counter()
        action()
        until(done)
        app.processEvents()
        seconds = time.perf_counter() - t
        probe.stop()
        out[name] = {"s": round(seconds, 3), "max_stall_ms": round(max(probe.samples, default=0.0))}

    measure("import", lambda: panel.load_file("forget", path), lambda: not panel.is_loading())
    assert panel.examples.rowCount() == n

    def tag_all() -> None:
        panel.editor.view.selectAll()
        panel.editor.tag_selected("retain")

    measure("select_all_and_tag", tag_all)
    measure("undo", panel.undo)
    measure("search", lambda: panel.editor.set_search(f"number {n - 1} "))
    measure("clear_search", lambda: panel.editor.set_search(""))
    measure("role_filter", lambda: panel.editor.set_role_filter("retain"))
    panel.editor.set_role_filter("")
    measure("save", lambda: panel.project.save(os.path.join(tmp, "project.jsonl")),
            lambda: not panel.project.is_saving())
    measure("scroll_and_paint", lambda: (panel.editor.view.verticalScrollBar().setValue(n // 2),
                                         panel.editor.view.viewport().repaint()))
    panel.close_down()
    Job.wait_all()
    return out


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000), indent=1))
