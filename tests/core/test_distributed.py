"""``accelerate launch --num_processes 2`` on the CPU (gloo): both ranks train, rank 0 alone writes, and the
weights equal a single-process run on the same global batches. Two launch paths: accelerate's torchrun
path (``--multi_gpu ... --device cpu``) and the literal ``--cpu --num_processes 2``, which accelerate 1.x
runs through ``mpirun`` when given ``--mpirun_hostfile`` (and as ONE process without it)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file


def _run(cmd, env_extra=None):
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env_extra or {})}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.skipif(shutil.which("accelerate", path=str(Path(sys.executable).parent)) is None,
                    reason="accelerate CLI not installed")
def test_two_rank_ddp_matches_single_process(tiny_model_dir, qa_files, tmp_path):
    cfg = tmp_path / "cfg.json"
    # example-mean losses (NPO, no retain term) make the DDP gradient average exactly the
    # single-process mean over the same global batch of 4
    cfg.write_text(json.dumps({"method": {"name": "npo", "retain_loss": "none", "batch_size": 4, "steps": 3,
                                          "lr": 0.01}, "seed": 5, "autocast": "off"}))
    common = ["run", "--model", str(tiny_model_dir), "--forget", str(qa_files["forget"]), "--config", str(cfg),
              "--device", "cpu"]
    accelerate = str(Path(sys.executable).parent / "accelerate")
    # accelerate 1.x runs a single process for `--cpu` without an MPI hostfile; its torchrun path
    # (`--multi_gpu`) with `--device cpu` gives a real two-process gloo job on a CPU-only machine
    ddp = _run([accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "unlearn_gui", *common,
                "--out", str(tmp_path / "ddp")])
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    single = _run([sys.executable, "-m", "unlearn_gui", *common, "--out", str(tmp_path / "single")])
    assert single.returncode == 0, single.stderr[-3000:]

    assert ddp.stdout.count("done in") + ddp.stderr.count("done in") == 1  # only rank 0 reports
    assert "rank 1: completed, 3 steps, 2 forget rows per micro-batch" in ddp.stderr  # rank 1 trained its half
    summary = json.loads((tmp_path / "ddp" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 3
    rows = [json.loads(x) for x in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1, 2, 3]  # written once, by rank 0 (step 0: the first probe)
    _assert_same_weights(tmp_path / "ddp", tmp_path / "single")


def _assert_same_weights(run_a: Path, run_b: Path) -> None:
    a = load_file(run_a / "adapter" / "adapter_model.safetensors")
    b = load_file(run_b / "adapter" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    import torch

    diff = torch.sqrt(sum(((a[k] - b[k]) ** 2).sum() for k in a))
    size = torch.sqrt(sum((b[k] ** 2).sum() for k in b))
    lora_b = [k for k in b if "lora_B" in k]
    assert lora_b and all(b[k].abs().sum() > 0 for k in lora_b)  # LoRA B starts at 0: training moved it
    # Adam normalises each coordinate, so float noise in near-zero gradients can move a few
    # coordinates by up to lr; the weights as a whole must agree to well under 1%
    assert (diff / size).item() < 5e-3


@pytest.mark.skipif(shutil.which("mpirun") is None or shutil.which("accelerate", path=str(Path(sys.executable).parent))
                    is None, reason="needs mpirun (e.g. Debian's openmpi-bin) and the accelerate CLI")
def test_literal_cpu_launch_with_an_mpi_hostfile_runs_two_ranks(tiny_model_dir, qa_files, tmp_path):
    """``accelerate launch --cpu --num_processes 2 --mpirun_hostfile FILE -m unlearn_gui run ...``: mpirun
    starts the ranks, which see only MPI's variables (core.train.distributed reads them)."""
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"method": {"name": "npo", "retain_loss": "none", "batch_size": 4, "steps": 3,
                                          "lr": 0.01}, "seed": 5, "autocast": "off", "scorecard": False}))
    hostfile = tmp_path / "hostfile"
    hostfile.write_text("localhost slots=2\n")
    common = ["run", "--model", str(tiny_model_dir), "--forget", str(qa_files["forget"]), "--config", str(cfg),
              "--device", "cpu"]
    accelerate = str(Path(sys.executable).parent / "accelerate")
    # Open MPI refuses to start as root unless told it is meant (containers, CI)
    root = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"} if os.geteuid() == 0 else {}
    mpi = _run([accelerate, "launch", "--cpu", "--num_processes", "2", "--mpirun_hostfile", str(hostfile),
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "unlearn_gui",
                *common, "--out", str(tmp_path / "mpi")], root)
    assert mpi.returncode == 0, mpi.stdout[-2000:] + mpi.stderr[-3000:]
    out = mpi.stdout + mpi.stderr
    assert "rank 1: completed, 3 steps, 2 forget rows per micro-batch" in out and out.count("done in") == 1
    rows = [json.loads(x) for x in (tmp_path / "mpi" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1, 2, 3]  # written once, by rank 0 (step 0: the first probe)
    single = _run([sys.executable, "-m", "unlearn_gui", *common, "--out", str(tmp_path / "single")])
    assert single.returncode == 0, single.stderr[-3000:]
    _assert_same_weights(tmp_path / "mpi", tmp_path / "single")
