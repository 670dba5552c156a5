"""Measurements that need a fresh process: CLI start-up to the first step, peak resident memory,
and glibc malloc settings (read once at process start, so they cannot be toggled in-process).

``python -m benchmarks.proc_bench child ...`` is the child side: it prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource as rlimit
import selectors
import shutil
import subprocess
import sys
import tempfile
import time

from benchmarks.common import ROOT

# Keep freed blocks mapped: serve allocations up to 32 MiB (glibc's ceiling for this tunable) from
# the heap instead of fresh mmap()s, and never hand heap memory back to the kernel between steps,
# so each step's large activation/gradient buffers are reused instead of page-faulted in again.
GLIBC_KEEP = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=68719476736"
STEP_RE = re.compile(rb"\] 1/(\d+) ")


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def first_step(model: str, timeout_s: float = 600.0) -> dict:
    """Seconds from spawning ``unlearn-gui run`` on the demo data to its first progress line
    ("1/N" on stderr), with phase marks on the way; the run is stopped there."""
    from unlearn_gui.core.common.paths import DEMO_FORGET, DEMO_PROBES, DEMO_RETAIN, resource

    out = tempfile.mkdtemp(prefix="first-step-", dir=_work())
    cmd = [_python(), "-m", "unlearn_gui", "run", "--model", model, "--forget", str(resource(*DEMO_FORGET)),
           "--retain", str(resource(*DEMO_RETAIN)), "--probes", str(resource(*DEMO_PROBES)), "--out", out]
    marks = {b"[data]": "started_s", b"[model] Loading": "loading_weights_s", b" steps\n": "model_ready_s",
             b"before answers": "before_generated_s", b"scorecard (before)": "before_scorecard_s",
             b"probe @ step 0": "before_measured_s"}
    got: dict = {}
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sel = selectors.DefaultSelector()
    sel.register(p.stderr, selectors.EVENT_READ)
    buf = b""
    try:
        while time.perf_counter() - t0 < timeout_s and "first_step_s" not in got:
            if not sel.select(timeout=1.0):
                continue
            chunk = os.read(p.stderr.fileno(), 65536)
            if not chunk:
                break
            now = time.perf_counter() - t0
            buf += chunk
            for needle, key in marks.items():
                if key not in got and needle in buf:
                    got[key] = now
            if STEP_RE.search(buf):
                got["first_step_s"] = now
    finally:
        p.terminate()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        shutil.rmtree(out, ignore_errors=True)
    if "first_step_s" not in got:
        tail = buf.decode(errors="replace")[-800:]
        raise RuntimeError(f"no first step within {timeout_s:.0f}s; stderr tail:\n{tail}")
    return got


def _work():
    d = ROOT / "benchmarks" / "_work"
    d.mkdir(parents=True, exist_ok=True)
    return d


def run_child(mode: str, model: str, steps: int, env_change: dict | None = None) -> dict:
    """One fresh process (LoRA, demo preset); ``env_change`` maps a variable to a value or None (unset)."""
    env = dict(os.environ)
    for k, v in (env_change or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    cmd = [_python(), "-m", "benchmarks.proc_bench", "child", mode, "--model", model, "--steps", str(steps)]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"child {mode} {env_change} failed ({r.returncode}):\n{r.stderr[-1500:]}")
    return json.loads(lines[-1])


def _rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def child_main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="proc_bench child")
    ap.add_argument("mode", choices=["forward", "train"])
    ap.add_argument("--model", default="default")
    ap.add_argument("--steps", type=int, default=3)
    a = ap.parse_args(argv)
    import torch

    from benchmarks.common import Bare, demo_config

    bare = Bare(demo_config(a.model), train=a.mode == "train")
    with torch.no_grad():  # touch every weight page (safetensors maps them lazily) before reading RSS
        for p in bare.model.parameters():
            p.sum()
    loaded_kb = _rss_kb()
    times = [bare.step()[0] if a.mode == "train" else bare.forward_only() for _ in range(a.steps)]
    model_bytes = sum(p.numel() * p.element_size() for p in bare.model.parameters())
    print(json.dumps({"mode": a.mode, "peak_rss_kb": rlimit.getrusage(rlimit.RUSAGE_SELF).ru_maxrss,
                      "loaded_rss_kb": loaded_kb, "times": times, "model_bytes": model_bytes}), flush=True)


def env_arms() -> dict:
    """Levers that act at process start, each a change to the benchmark's own environment:
    glibc's malloc thresholds, and libgomp's wait policy flipped from whatever the bench runs with
    (``omp_spin``: the variable unset, libgomp's spin-waiting default)."""
    omp = ({"omp_spin": {"OMP_WAIT_POLICY": None}} if os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE"
           else {"omp_passive": {"OMP_WAIT_POLICY": "PASSIVE"}})
    return {"bench": {}, "glibc_keep_mapped": {"GLIBC_TUNABLES": GLIBC_KEEP}, **omp}


def memory_and_env(model: str, steps: int, rounds: int, log=print) -> dict:
    """Peak RSS of LoRA training vs a forward-only process on the same batches, and the start-up
    levers of ``env_arms()`` on LoRA training steps (children alternated round by round)."""
    arms = env_arms()
    fwd = run_child("forward", model, steps)
    runs = {k: [] for k in arms}
    for r in range(rounds):
        for arm in (list(arms) if r % 2 == 0 else list(reversed(arms))):
            runs[arm].append(run_child("train", model, steps, arms[arm]))
            log(f"  {arm}: steps {[round(t, 2) for t in runs[arm][-1]['times']]} s, "
                f"peak {runs[arm][-1]['peak_rss_kb'] // 1024} MiB")
    lora = runs["bench"][0]

    def steady(rs):  # median step after each child's first (warm-up) step
        ts = sorted(t for x in rs for t in x["times"][1:])
        return ts[len(ts) // 2]

    def peak(rs):
        return max(x["peak_rss_kb"] for x in rs)

    return {
        "memory": {
            "lora_peak_rss_ratio": lora["peak_rss_kb"] / fwd["peak_rss_kb"],
            "lora_loaded_rss_ratio": lora["loaded_rss_kb"] / fwd["loaded_rss_kb"],
            "forward_peak_mib": fwd["peak_rss_kb"] / 1024, "lora_peak_mib": lora["peak_rss_kb"] / 1024,
            "forward_loaded_mib": fwd["loaded_rss_kb"] / 1024, "lora_loaded_mib": lora["loaded_rss_kb"] / 1024,
            "model_mib": fwd["model_bytes"] / 2**20,
            # what the peak ratio would be if LoRA kept a second float32 copy for the reference
            "ratio_if_copied": (lora["peak_rss_kb"] + fwd["model_bytes"] / 1024) / fwd["peak_rss_kb"]},
        "levers": {arm: {"env": {k: (v if v is not None else "(unset)") for k, v in arms[arm].items()},
                         "step_time_ratio_vs_bench": steady(runs[arm]) / steady(runs["bench"]),
                         "peak_rss_ratio_vs_bench": peak(runs[arm]) / peak(runs["bench"])}
                   for arm in arms if arm != "bench"},
        "step_s": {arm: steady(rs) for arm, rs in runs.items()},
    }


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child_main(sys.argv[2:])
