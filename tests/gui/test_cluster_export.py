"""File → Export for cluster…: the window's run as a folder with data, configs and the launch command."""
from __future__ import annotations

from PySide6.QtGui import QGuiApplication

from unlearn_gui.core import config as C
from unlearn_gui.core.data.readers import read_records
from unlearn_gui.gui import cluster_export


def _choose(monkeypatch, folder, options=(4, False)):
    monkeypatch.setattr(cluster_export, "choose_cluster_options", lambda parent: options)
    monkeypatch.setattr(cluster_export, "choose_export_folder", lambda parent, suggested: str(folder))


def test_export_writes_tables_configs_and_shows_command(window, monkeypatch, tmp_path, tiny_model):
    job = tmp_path / "job"
    _choose(monkeypatch, job)
    window.menu_actions.export_cluster.trigger()
    dlg = window.file_actions.cluster_dialog
    assert dlg is not None and dlg.isVisible()

    expected = ("accelerate launch --config_file accelerate_config.yaml -m unlearn_gui run --config run_config.json "
                f"--model {tiny_model} --out runs/cluster-run")
    assert dlg.command == expected and dlg.command_view.toPlainText() == expected
    assert expected in (job / "launch.sh").read_text()
    assert "num_processes: 4" in (job / "accelerate_config.yaml").read_text()
    # the GUI's in-memory tables travel as files next to the config
    d = window.data_panel
    forget = [r.prompt for r in d.rows("forget") + d.rows("holdout")]
    assert [r.prompt for r in read_records(job / "forget.jsonl")] == forget
    assert len(read_records(job / "retain.jsonl")) == len(d.rows("retain"))
    assert len(read_records(job / "probes.jsonl")) == len(d.rows("probes"))
    cfg = C.load_file(job / "run_config.json")
    assert (cfg.method.name, cfg.method.steps, cfg.method.batch_size) == (window.method_panel.method_name(), 4, 2)
    assert cfg.data.forget == "forget.jsonl" and cfg.model.device == "auto"

    dlg.copy_button.click()
    assert QGuiApplication.clipboard().text() == expected
    dlg.close()


def test_export_refuses_a_folder_with_files(window, monkeypatch, tmp_path, dialogs):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    _choose(monkeypatch, busy)
    window.menu_actions.export_cluster.trigger()
    assert window.file_actions.cluster_dialog is None
    assert dialogs.errors and "already holds files" in dialogs.errors[-1][0]
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]


def test_export_cancelled_writes_nothing(window, monkeypatch, tmp_path):
    _choose(monkeypatch, tmp_path / "job", options=None)
    window.menu_actions.export_cluster.trigger()
    assert window.file_actions.cluster_dialog is None and not (tmp_path / "job").exists()
