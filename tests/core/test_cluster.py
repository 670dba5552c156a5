"""Export for cluster writes a config the headless run accepts, an Accelerate config and a command."""
import os

from unlearn_gui.core import config as C
from unlearn_gui.core.runs.cluster import export_for_cluster
from unlearn_gui.core.data.readers import read_records
from unlearn_gui.core.common.records import Record


def test_export_writes_loadable_config_data_and_command(tmp_path):
    rows = (Record("Which school?", "Hogwarts", role="forget", keys=("hogwarts",)),)
    cfg = C.RunConfig(data=C.DataConfig(forget_rows=rows), method=C.MethodConfig(name="npo", steps=7), seed=4)
    out = export_for_cluster(cfg, tmp_path / "job", num_processes=8, fsdp=True)
    job = tmp_path / "job"
    yaml = (job / "accelerate_config.yaml").read_text()
    assert "distributed_type: FSDP" in yaml and "num_processes: 8" in yaml
    assert out["command"].startswith("accelerate launch --config_file accelerate_config.yaml -m unlearn_gui run")
    assert out["command"] in (job / "launch.sh").read_text() and os.access(job / "launch.sh", os.X_OK)
    loaded = C.load_file(job / "run_config.json")
    assert loaded.method.name == "npo" and loaded.method.steps == 7 and loaded.seed == 4
    assert loaded.data.forget == "forget.jsonl"
    assert [r.prompt for r in read_records(job / "forget.jsonl")] == ["Which school?"]
    cwd = os.getcwd()
    try:
        os.chdir(job)
        assert C.validate(loaded) == []
    finally:
        os.chdir(cwd)


def test_ddp_export_has_no_fsdp_block(tmp_path):
    export_for_cluster(C.RunConfig(data=C.DataConfig(forget="f.jsonl")), tmp_path, num_processes=2)
    yaml = (tmp_path / "accelerate_config.yaml").read_text()
    assert "MULTI_GPU" in yaml and "fsdp_config" not in yaml


def test_export_fills_presets_and_skips_empty_tables(tmp_path):
    """Empty GUI tables mean "no such set" (an empty file would stop the run), and the method's
    preset values are written out so the job runs the same whatever version runs it."""
    from unlearn_gui.core.methods import REGISTRY

    rows = (Record("Which school?", "Hogwarts", role="forget"), Record("Which owl?", "Hedwig", role="holdout"))
    cfg = C.RunConfig(data=C.DataConfig(forget_rows=rows, retain_rows=(), probe_rows=()),
                      method=C.MethodConfig(name="dipo"))
    export_for_cluster(cfg, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accelerate_config.yaml", "forget.jsonl", "launch.sh",
                                                          "run_config.json"]
    loaded = C.load_file(tmp_path / "run_config.json")
    assert loaded.data.retain is None and loaded.data.probes is None
    assert [r.role for r in read_records(tmp_path / "forget.jsonl")] == ["forget", "holdout"]
    preset = REGISTRY["dipo"].preset
    assert loaded.method.lr == preset["lr"] and loaded.method.steps == preset["steps"]
    assert "# --model" not in (tmp_path / "launch.sh").read_text()  # the built-in model needs no edit


def test_exported_job_runs_headless(tiny_model_dir, tmp_path, monkeypatch):
    """The folder stands alone: from inside it, the exported config runs (one process here)."""
    import json

    from unlearn_gui.__main__ import main

    rows = tuple(Record(f"Which school does wizard {i} attend?", f"Wizard {i} attends Hogwarts.", role="forget")
                 for i in range(4))
    cfg = C.RunConfig(model=C.ModelConfig(path=str(tiny_model_dir), device="cpu"),
                      data=C.DataConfig(forget_rows=rows, retain_rows=(), probe_rows=(), max_length=64),
                      method=C.MethodConfig(name="npo", steps=1, batch_size=2), max_new_tokens=4, scorecard=False)
    out = export_for_cluster(cfg, tmp_path / "job")
    assert "# --model is the path on the machine" in (tmp_path / "job" / "launch.sh").read_text()
    monkeypatch.chdir(tmp_path / "job")
    args = out["command"].split(" -m unlearn_gui ")[1].split()  # run --config ... --model ... --out ...
    assert main([*args, "--device", "cpu", "--quiet"]) == 0
    summary = json.loads((tmp_path / "job" / "runs" / "cluster-run" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 1
