"""``make bench``: every performance number of docs/performance.md in one process run.

Side by side, arms alternated (A B, then B A), ratios rather than absolute times wherever a
yardstick exists. Prints a table and writes ``benchmarks/results.json``. Built-in model and the
demo preset (batch 4 forget + 4 retain rows, max_length 256) unless ``--model``/``--quick``.
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if __name__ == "__main__" and "OMP_WAIT_POLICY" not in os.environ and "--omp-as-is" not in sys.argv:
    # The app sets OMP_WAIT_POLICY=PASSIVE in unlearn_gui/__main__.py (libgomp's default spin-wait
    # made steps 3.2x slower on cores shared with other processes, docs/performance.md); this script
    # does not start there, and the policy is read once at start-up, so re-execute with it set.
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})

import torch  # noqa: E402

from benchmarks import infer_bench, proc_bench, train_bench  # noqa: E402
from benchmarks.common import ROOT, demo_config, with_method  # noqa: E402
from unlearn_gui.core.model import models  # noqa: E402

# key -> (comparison, threshold); checked against the top-level numbers of results.json
TARGETS = {"engine_vs_bare": (">=", 0.95), "first_step_s": ("<", 15.0), "gui_max_stall_ms": ("<", 100.0),
           "generate_batched_vs_sequential": (">=", 3.0), "mfu": (">=", 0.6)}


def machine() -> dict:
    def lscpu(field):
        try:
            out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        return next((ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith(field + ":")), None)

    return {"cpu": lscpu("Model name"), "cores": os.cpu_count(), "threads_per_core": lscpu("Thread(s) per core"),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "torch_interop_threads": torch.get_num_interop_threads(), "cpu_bf16": models.cpu_supports_bf16(),
            "python": platform.python_version(), "glibc": " ".join(platform.libc_ver()),
            "loadavg_start": list(os.getloadavg())}


def check(value, op: str, threshold: float) -> bool | None:
    if value is None:
        return None
    return value >= threshold if op == ">=" else value < threshold


def table(res: dict) -> str:
    rows = [("metric", "value", "target", "met")]
    for k, (op, thr) in TARGETS.items():
        v = res.get(k)
        vals = v.items() if isinstance(v, dict) else [(None, v)]
        for sub, x in vals:
            ok = check(x, op, thr)
            rows.append((f"{k}[{sub}]" if sub else k, "n/a" if x is None else f"{x:.3g}", f"{op} {thr:g}",
                         "-" if ok is None else ("yes" if ok else "NO")))
    if "lora_peak_rss_ratio" in res:
        rows.append(("lora_peak_rss_ratio", f"{res['lora_peak_rss_ratio']:.3g}", "no 2nd model copy",
                     "yes" if res.get("lora_holds_no_copy") else "NO"))
    for k in ("gui_p99_stall_ms", "gui_startup_max_stall_ms", "cached_load_s", "gguf_first_load_s"):
        if res.get(k) is not None:
            rows.append((k, f"{res[k]:.3g}", "-", "-"))
    for k, v in lever_rows(res.get("levers", {})):
        rows.append((f"levers.{k}", f"{v:.3g}", "-", "-"))
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w[i]) for i, c in enumerate(r)) for r in rows)


def lever_rows(lv: dict) -> list[tuple[str, float]]:
    """The headline ratio of each lever (results.json has the detail)."""
    rows = []
    if "autocast" in lv:
        rows += [("autocast.step_time_bf16_over_off", lv["autocast"]["step_time_ratio_bf16_over_off"]),
                 ("autocast.loss_max_rel_diff", lv["autocast"]["loss_max_rel_diff"])]
    if "adamw_fused" in lv:
        rows.append(("adamw_fused.step_time_vs_loop", lv["adamw_fused"]["fused_over_loop"]))
    if "answer_logits" in lv:
        rows += [("answer_logits.step_time_vs_full", lv["answer_logits"]["step_time_ratio_answer_over_full"]),
                 ("answer_logits.loss_max_rel_diff", lv["answer_logits"]["loss_max_rel_diff"])]
    for arm in ("glibc_keep_mapped", "omp_spin", "omp_passive"):
        if arm in lv:
            rows += [(f"{arm}.step_time_vs_bench", lv[arm]["step_time_ratio_vs_bench"]),
                     (f"{arm}.peak_rss_vs_bench", lv[arm]["peak_rss_ratio_vs_bench"])]
    for n, r in lv.get("threads", {}).get("step_time_ratio_vs_default", {}).items():
        rows.append((f"threads.{n}.step_time_vs_{lv['threads']['default_threads']}", r))
    for k, r in lv.get("warmup_first_over_steady", {}).items():
        rows.append((f"warmup.{k}.first_over_steady", r))
    return rows


def settings(a) -> dict:
    if a.quick:
        return dict(warmup=1, measured=2, reps=1, gen_prompts=4, gen_tokens=4, gen_reps=1, mem_steps=2,
                    mem_rounds=1, lever_steps=2, thread_rounds=1, gui_steps=2, gui_tokens=4,
                    adam_rounds=1, load_reps=1)
    return dict(warmup=a.warmup, measured=a.measured, reps=a.reps, gen_prompts=20, gen_tokens=32, gen_reps=1,
                mem_steps=3, mem_rounds=1, lever_steps=4, thread_rounds=1, gui_steps=3, gui_tokens=8,
                adam_rounds=3, load_reps=2)


class Sections:
    """One method per section of results.json; each fills ``res`` (numbers) and ``res["details"]``."""

    ORDER = ("loads", "first_step", "memory", "training", "levers", "generation", "gui")

    def __init__(self, a, res: dict):
        self.a, self.res, self.s = a, res, settings(a)
        self.model, self.base = a.model, demo_config(a.model)
        self.log = functools.partial(print, flush=True)

    def run(self, name: str) -> None:
        self.log(f"[{name}]")
        t0 = time.perf_counter()
        try:
            getattr(self, name)()
        except Exception:  # noqa: BLE001 - one broken section must not hide the others
            self.res["errors"][name] = traceback.format_exc()
            self.log(self.res["errors"][name])
        self.res["section_s"][name] = round(time.perf_counter() - t0, 1)

    def loads(self):
        res = self.res
        res["cached_load_s"] = infer_bench.cached_load(self.model, self.s["load_reps"])["cached_load_s"]
        if self.model in ("default", ""):
            g = res["details"]["gguf"] = infer_bench.gguf_first_load(self.model)
            res["gguf_first_load_s"] = g["gguf_first_load_s"]

    def first_step(self):
        fs = self.res["details"]["first_step"] = proc_bench.first_step(self.model)
        self.res["first_step_s"] = fs["first_step_s"]

    def memory(self):
        res, out = self.res, proc_bench.memory_and_env(self.model, self.s["mem_steps"], self.s["mem_rounds"], self.log)
        m = res["details"]["memory"] = out["memory"]
        res["details"]["env_step_s"] = out["step_s"]
        res["lora_peak_rss_ratio"] = m["lora_peak_rss_ratio"]
        # a reference copy would add the whole model: at load (adapters add ~4%) and at the peak
        res["lora_holds_no_copy"] = (m["lora_loaded_mib"] - m["forward_loaded_mib"] < 0.5 * m["model_mib"]
                                     and m["lora_peak_rss_ratio"] < m["ratio_if_copied"])
        res["levers"].update(out["levers"])

    def training(self):
        res, s, base = self.res, self.s, self.base
        dtype = "bfloat16" if models.autocast_dtype(base.autocast, "cpu") else "float32"
        peak = [train_bench.matmul_peak(dtype)]
        configs = {f"{m}_{'lora' if lora else 'full'}": with_method(base, name=m, lora=lora)
                   for m in ("dipo", "npo") for lora in (True, False)}
        configs = {k: v for k, v in configs.items() if not self.a.configs or k in self.a.configs}
        evb = train_bench.engine_vs_bare(configs, s["warmup"], s["measured"], s["reps"], self.log)
        peak.append(train_bench.matmul_peak(dtype))
        res["engine_vs_bare"] = {k: v["ratio"] for k, v in evb.items()}
        res["details"]["engine_vs_bare"] = {k: {x: y for x, y in v.items() if not isinstance(y, list)}
                                            for k, v in evb.items()}
        if "dipo_full" in evb:
            mf = res["details"]["mfu"] = train_bench.mfu(evb["dipo_full"], max(peak)) | {"dtype": dtype}
            res["mfu"] = mf["mfu"]
        res["levers"]["warmup_first_over_steady"] = {
            k: v["engine_first_step_s"] / v["engine_steady_step_s"] for k, v in evb.items()}

    def levers(self):
        lv, s = self.res["levers"], self.s
        lv["autocast"], warm = train_bench.autocast_lever(self.base, s["lever_steps"], self.log)
        cores = os.cpu_count() or 1
        try:
            lv["threads"] = train_bench.threads_lever(warm, tuple(sorted({1, cores, 2 * cores})), s["thread_rounds"],
                                                      self.log)
        finally:
            warm.close()
        lv["adamw_fused"] = train_bench.adamw_lever(with_method(self.base, lora=False), s["adam_rounds"], self.log)
        lv["answer_logits"] = train_bench.answer_logits_lever(with_method(self.base, lora=False), s["lever_steps"],
                                                              self.log)

    def generation(self):
        s = self.s
        g = self.res["details"]["generate"] = infer_bench.generation_speedup(
            self.model, s["gen_prompts"], s["gen_tokens"], s["gen_reps"], self.log)
        self.res["generate_batched_vs_sequential"] = g["speedup"]

    def gui(self):
        from benchmarks import gui_bench

        res, s = self.res, self.s
        g = res["details"]["gui"] = gui_bench.fresh(self.model, s["gui_steps"], s["gui_tokens"])
        res["gui_max_stall_ms"], res["gui_p99_stall_ms"] = g["max_ms"], g["p99_ms"]
        res["gui_startup_max_stall_ms"] = g["startup_max_ms"]
        self.log(f"  max {g['max_ms']:.0f} ms, p99 {g['p99_ms']:.1f} ms, GC max {g['gc']['max_pause_ms']:.0f} ms; "
                 + ", ".join(f"{k} {v['max_ms']:.0f}" for k, v in g["phases"].items()))


def run(a) -> dict:
    res: dict = {"machine": machine(), "errors": {}, "details": {}, "levers": {},
                 "settings": {**settings(a), "model": a.model, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")},
                 "section_s": {}}
    sections = Sections(a, res)
    for name in Sections.ORDER:
        if not a.only or name in a.only:
            sections.run(name)
    res["machine"]["loadavg_end"] = list(os.getloadavg())
    res["targets"] = {k: {"op": op, "threshold": thr} for k, (op, thr) in TARGETS.items()}
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="default", help="'default' (built-in) or a model folder")
    ap.add_argument("--warmup", type=int, default=1, help="warm-up steps per repetition (not measured)")
    ap.add_argument("--measured", type=int, default=4,
                    help="measured steps per repetition (live probes inside the window are counted as the engine "
                         "runs them: under its probe budget)")
    ap.add_argument("--omp-as-is", action="store_true",
                    help="keep the inherited OMP_WAIT_POLICY (by default the bench re-executes with PASSIVE, as the app)")
    ap.add_argument("--reps", type=int, default=2,
                    help="engine/bare repetitions per config, alternated E B B E (one repetition scattered "
                         "0.87-1.11 on this shared machine; two or three agree within 0.02)")
    ap.add_argument("--quick", action="store_true", help="tiny step counts (smoke runs)")
    ap.add_argument("--configs", type=lambda x: x.split(","), default=None,
                    help="engine-vs-bare configs to run (dipo_lora,dipo_full,npo_lora,npo_full; default all)")
    ap.add_argument("--only", type=lambda x: x.split(","), default=None, help="comma list of sections")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results.json"))
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    models.quiet_libraries()
    res = run(a)
    res["wall_s"] = round(time.perf_counter() - t0, 1)
    Path(a.out).write_text(json.dumps(_round(res), indent=2) + "\n", encoding="utf-8")
    print()
    print(table(res))
    print(f"\nwrote {a.out} in {res['wall_s']:.0f}s" + (f"; FAILED sections: {', '.join(res['errors'])}" if res["errors"] else ""))
    return 1 if res["errors"] else 0


def _round(x):
    if isinstance(x, float):
        return float(f"{x:.4g}") if math.isfinite(x) else None  # JSON has no NaN
    if isinstance(x, dict):
        return {k: _round(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_round(v) for v in x]
    return x


if __name__ == "__main__":
    sys.exit(main())
