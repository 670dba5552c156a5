""""Export for cluster": the resolved run config, an Accelerate config and the exact launch command.

The GUI configures a run on a laptop; the same run on several GPUs goes through Hugging Face
Accelerate (DDP, or FSDP for models that do not fit one device), driving the same engine via
``unlearn-gui run``. In-memory GUI rows are written as JSONL beside the config.
"""
from __future__ import annotations

import shlex
from dataclasses import fields, replace
from pathlib import Path

from .. import config as C
from ..common.storage import dumps
from ..common.storage import atomic_write_text
from ..data.writers import write_jsonl

FSDP_BLOCK = """fsdp_config:
  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP
  fsdp_backward_prefetch: BACKWARD_PRE
  fsdp_cpu_ram_efficient_loading: true
  fsdp_offload_params: false
  fsdp_sharding_strategy: FULL_SHARD
  fsdp_state_dict_type: FULL_STATE_DICT
  fsdp_sync_module_states: true
  fsdp_use_orig_params: true
"""


def accelerate_yaml(num_processes: int, *, fsdp: bool, mixed_precision: str = "bf16", num_machines: int = 1) -> str:
    kind = "FSDP" if fsdp else "MULTI_GPU"
    text = (f"compute_environment: LOCAL_MACHINE\ndistributed_type: {kind}\nmachine_rank: 0\n"
            f"main_training_function: main\nmixed_precision: {mixed_precision}\nnum_machines: {num_machines}\n"
            f"num_processes: {num_processes}\nrdzv_backend: static\nsame_network: true\nuse_cpu: false\n")
    return text + (FSDP_BLOCK if fsdp else "")


def export_for_cluster(cfg: C.RunConfig, out: str | Path, *, num_processes: int = 2, fsdp: bool = False,
                       mixed_precision: str = "bf16", run_dir: str = "runs/cluster-run") -> dict:
    """Write ``run_config.json``, ``accelerate_config.yaml``, data files and ``launch.sh`` into
    ``out``; returns {"config", "accelerate_config", "command"} paths and the command string."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = cfg.data
    for attr, fname in (("forget_rows", "forget.jsonl"), ("retain_rows", "retain.jsonl"), ("probe_rows", "probes.jsonl")):
        rows = getattr(data, attr)
        if rows is not None:
            key = attr.replace("_rows", "s" if attr == "probe_rows" else "")
            if rows:
                write_jsonl(out / fname, rows, backup=False)
            # an empty table means "no such set": an empty file would stop the run ("file is empty")
            data = replace(data, **{attr: None, key: fname if rows else None})
    cfg = replace(cfg, data=data, out_dir=run_dir, model=replace(cfg.model, device="auto"),
                  method=_with_presets(cfg.method))
    atomic_write_text(out / "run_config.json", dumps(C.to_dict(cfg), indent=2), backup=False)
    atomic_write_text(out / "accelerate_config.yaml", accelerate_yaml(num_processes, fsdp=fsdp,
                                                                       mixed_precision=mixed_precision), backup=False)
    cmd = ["accelerate", "launch", "--config_file", "accelerate_config.yaml", "-m", "unlearn_gui", "run",
           "--config", "run_config.json", "--model", cfg.model.path, "--out", run_dir]
    command = shlex.join(cmd)
    note = "" if cfg.model.path == "default" else (
        "# --model is the path on the machine that exported this job; point it at the model there.\n")
    atomic_write_text(out / "launch.sh", "#!/usr/bin/env bash\n# Run from this folder on the cluster node.\n"
                      + note + "set -euo pipefail\ncd \"$(dirname \"$0\")\"\n" + command + "\n", backup=False)
    (out / "launch.sh").chmod(0o755)
    return {"config": str(out / "run_config.json"), "accelerate_config": str(out / "accelerate_config.yaml"),
            "launch": str(out / "launch.sh"), "command": command}


def _with_presets(m: C.MethodConfig) -> C.MethodConfig:
    """The method's preset values written out, so the job runs the same whatever version runs it."""
    from ..methods import REGISTRY

    preset = REGISTRY[m.name].preset if m.name in REGISTRY else {}
    return replace(m, **{f.name: preset[f.name] for f in fields(m) if getattr(m, f.name) is None and f.name in preset})
