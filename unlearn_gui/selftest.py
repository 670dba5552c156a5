"""``unlearn-gui --self-test``: open the real main window offscreen, run two steps on a tiny model
built in code, check the curves and the compare table, exit 0. This is how a built desktop bundle
is checked: it exercises Qt, pyqtgraph, torch, transformers and peft together, without a download."""
from __future__ import annotations

import os
import sys
import tempfile
import time


def run_self_test(timeout_s: float = 300.0) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="unlearn-selftest-") as tmp:
        os.environ["UNLEARN_GUI_CACHE"] = os.path.join(tmp, "cache")
        from PySide6.QtCore import QSettings

        # a throwaway settings file: the self-test must not touch the user's layout or recent models
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, os.path.join(tmp, "settings"))
        from .core.common.paths import DEMO_FORGET, resource
        from .core.model.tiny import make_tiny_model_dir
        from .gui.app import build

        model = str(make_tiny_model_dir(os.path.join(tmp, "model")))
        args = type("Args", (), {"model": model, "no_demo": False})()
        app, w = build(args)
        w.show()
        results, saved, failed = [], [], []
        w.controller.run_ended.connect(results.append)
        w.controller.saved.connect(saved.append)
        w.controller.job_failed.connect(failed.append)

        def pump(until, what: str) -> None:
            end = time.monotonic() + timeout_s
            while not until():
                app.processEvents()
                if time.monotonic() > end:
                    raise TimeoutError(f"self-test: timed out waiting for {what}")
                time.sleep(0.01)

        try:
            pump(w.model_panel.is_ready, "the model card")
            w.method_panel.set_values(steps=2, batch_size=2, max_new_tokens=4, probe_every=1, max_length=64, lr=5e-3)
            w.start_run()
            pump(lambda: bool(results) and not w.controller.is_busy(), "the run to finish")
            res = results[0]
            # the save path pulls in what a run alone does not (peft's model card, the HTML report):
            # a bundle missing their files fails here, not in the user's first save
            run_dir = os.path.join(tmp, "saved-run")
            w.controller.save_run(run_dir)
            pump(lambda: (bool(saved) or bool(failed)) and not w.controller.is_busy(), "the run folder")
            written = {f for f in ("config.json", "summary.json", "report.html", "adapter/adapter_model.safetensors")
                       if os.path.isfile(os.path.join(run_dir, f))}
            checks = {
                "shipped resources found": resource(*DEMO_FORGET).is_file() and w.data_panel.counts()["forget"] > 0,
                "run completed": res.status == "completed",
                "two loss points plotted": w.run_panel.loss_plot.points("loss") == 2,
                "compare rows filled": len(w.compare_panel.model.rows) > 0
                and all(r.after is not None for r in w.compare_panel.model.rows),
                "run folder saved": not failed and len(written) == 4,
            }
            reason = f"saving the run folder failed: {failed[0].message}" if failed else res.error
        except Exception as e:  # noqa: BLE001 - the self-test reports, it does not crash
            print(f"self-test FAILED: {e}", file=sys.stderr)
            return 1
        finally:
            w.controller.shutdown(wait=True)
            w.close()
        for name, ok in checks.items():
            print(f"{'ok  ' if ok else 'FAIL'} {name}")
        if not all(checks.values()):
            print(f"self-test FAILED: {reason}", file=sys.stderr)
            return 1
        print("self-test passed")
        return 0
