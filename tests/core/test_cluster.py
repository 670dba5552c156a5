"""Export for cluster writes a config the headless run accepts, an Accelerate config and a command."""
import os

from unlearn_gui.core import config as C
from unlearn_gui.core.cluster import export_for_cluster
from unlearn_gui.core.readers import read_records
from unlearn_gui.core.records import Record


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
