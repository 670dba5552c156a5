"""Training throughput: engine vs the bare loop, MFU, and the autocast / thread-count levers.

Every comparison runs side by side in this process with the arms alternated (A B B A ...), so slow
drift on a shared machine (other jobs, thermal limits) falls on both arms alike.
"""
from __future__ import annotations

import gc
import time
from dataclasses import replace

import torch

from unlearn_gui.core import config
from unlearn_gui.core.train import engine, session
from unlearn_gui.core.common.cancel import Cancelled, CancelToken
from unlearn_gui.core.evaluate.probes import probe_metrics
from unlearn_gui.core.common.events import EvalResult, StepMetrics
from unlearn_gui.core.train.result import RunResult
from unlearn_gui.core.runs.folder import RunLog

from benchmarks.common import Bare, max_rel_diff, median, rnd, steps_per_s, with_method


def engine_steps(cfg, n_steps: int, time_probe: bool = False) -> dict:
    """The engine's own loop (``engine.train``, as ``engine.run`` drives it) for ``n_steps`` steps.

    Set up as ``engine.run`` does (resolve, seed, ``session.prepare``) but without its "before" and
    "after" generations, which are outside the measurement anyway and cost minutes per run on a
    small CPU. Per-step seconds are ``StepMetrics.elapsed_s`` deltas; the probe every
    ``cfg.probe_every`` steps, the events and the metrics log are inside them, as for the user.
    The run is planned with the preset's step count and stopped after ``n_steps`` (Stop button
    semantics), so no "last step" probe is paid for. ``time_probe`` also times one probe alone,
    as the engine runs it and under the training autocast (a what-if for docs/performance.md).
    """
    cancel, steps = CancelToken(), []

    probes = []

    def on_event(ev):
        if isinstance(ev, EvalResult):
            probes.append(ev.step)
        if isinstance(ev, StepMetrics):
            steps.append(ev)
            if ev.step >= n_steps:
                cancel.cancel()

    t0 = time.perf_counter()
    cfg = config.resolve(with_method(cfg, steps=max(cfg.method.steps, n_steps + 1)))
    engine.seed_everything(cfg.seed)
    s = session.prepare(cfg, on_event)
    result = RunResult(status="running", config=cfg, session=s)
    probe_cost_s = engine.initial_probe(s, lambda _ev: None)  # as engine.run: the step-0 probe, outside the timed steps
    try:
        engine.train(s, on_event, cancel, None, RunLog(None, config.to_dict(cfg)), result, probe_cost_s)
    except Cancelled:
        pass
    if len(steps) < n_steps:
        raise RuntimeError(f"the engine stopped after {len(steps)} of {n_steps} steps")
    el = [0.0] + [e.elapsed_s for e in steps[:n_steps]]
    # a probe after step k (1-based) lands in the next step's delta, index k of "times"
    out = {"times": [b - a for a, b in zip(el, el[1:])], "losses": [e.loss for e in steps[:n_steps]],
           "probe_idx": [k for k in probes if 0 < k < n_steps]}
    if time_probe:
        for key, amp in (("probe_float32_s", None), ("probe_s", s.autocast_dtype)):
            t1 = time.perf_counter()
            with torch.autocast(s.device.split(":")[0], dtype=amp or torch.bfloat16, enabled=amp is not None):
                probe_metrics(s.model, s.probe_forget, s.probe_retain)
            out[key] = time.perf_counter() - t1
    out["wall_s"] = time.perf_counter() - t0
    del s, result
    gc.collect()
    return out


def bare_steps(cfg, n_steps: int) -> dict:
    t0 = time.perf_counter()
    bare = Bare(cfg)
    times, losses, tokens, proj = [], [], [], []
    for _ in range(n_steps):
        dt, loss, ntok = bare.step()
        times.append(dt)
        losses.append(loss)
        tokens.append(ntok)
        proj.append(bare.proj_tokens)
    out = {"times": times, "losses": losses, "tokens": tokens, "proj_tokens": proj, "n_params": bare.n_params(),
           "n_head_params": bare.n_head_params(), "wall_s": time.perf_counter() - t0}
    bare.close()
    del bare
    gc.collect()
    return out


def engine_vs_bare(configs: dict, warmup: int, measured: int, reps: int, log=print) -> dict:
    """Per config: engine and bare alternated (E B, then B E, ...); ratio of steady steps/s.

    Also splits the engine's time into steps without a probe and the probe's extra time, read off
    the same step deltas, so the cause of a gap is in the numbers.
    """
    out = {}
    for i, (name, cfg) in enumerate(configs.items()):
        arms = {"engine": [], "bare": []}
        for r in range(reps):
            for arm in (("engine", "bare") if (i + r) % 2 == 0 else ("bare", "engine")):
                res = engine_steps(cfg, warmup + measured, time_probe=i == 0 and r == 0) if arm == "engine" \
                    else bare_steps(cfg, warmup + measured)
                arms[arm].append(res)
                log(f"  {name} {arm:6s} rep {r + 1}: steps {[round(t, 2) for t in res['times']]} s")
        out[name] = _summarise(arms, cfg.probe_every, warmup, measured, cfg.probe_budget)
    return out


def _summarise(arms: dict, every: int, warmup: int, measured: int, budget: float = 0.0) -> dict:
    steady = {a: [t for res in arms[a] for t in res["times"][warmup:]] for a in arms}
    sps = {a: steps_per_s(steady[a]) for a in arms}
    plain = [t for res in arms["engine"] for k, t in enumerate(res["times"])
             if k >= warmup and k not in res["probe_idx"]]
    probed = [res["times"][k] for res in arms["engine"] for k in res["probe_idx"] if k >= warmup]
    probe_extra = median([t - median(plain) for t in probed]) if probed else 0.0
    e = {
        "ratio": sps["engine"] / sps["bare"],
        "engine_steps_per_s": sps["engine"], "bare_steps_per_s": sps["bare"],
        "engine_first_step_s": median([res["times"][0] for res in arms["engine"]]),
        "bare_first_step_s": median([res["times"][0] for res in arms["bare"]]),
        "engine_steady_step_s": median(steady["engine"]), "bare_steady_step_s": median(steady["bare"]),
        # the engine between probes (events, logging, batching) vs bare, and the probe's extra time
        "ratio_without_probe_steps": steps_per_s(plain) / sps["bare"],
        "probe_every": every, "probes_in_window": len(probed), "probe_extra_s": probe_extra,
        "probe_share": probe_extra * len(probed) / sum(steady["engine"]),
        # identical maths: the engine's and the bare loop's losses agree step for step
        "loss_max_rel_diff": max(max_rel_diff(x["losses"], y["losses"]) for x, y in zip(arms["engine"], arms["bare"])),
        "n_params": arms["bare"][0]["n_params"], "n_head_params": arms["bare"][0]["n_head_params"],
        "bare_steady_times": steady["bare"],
        "bare_steady_tokens": [t for res in arms["bare"] for t in res["tokens"][warmup:]],
        "bare_steady_proj_tokens": [t for res in arms["bare"] for t in res["proj_tokens"][warmup:]],
    }
    # A run longer than the measured window spends up to probe_budget of its time probing (the
    # engine's ProbeClock): the bound on the ratio there, from the engine's probe-free steps.
    e["probe_budget"] = budget
    e["ratio_long_run_bound"] = e["ratio_without_probe_steps"] / (1 + budget) if budget else None
    timed = [res for res in arms["engine"] if "probe_s" in res]
    if timed:  # one probe alone, and what it would cost in float32 (before it ran under autocast)
        e["probe_s"], e["probe_float32_s"] = timed[0]["probe_s"], timed[0]["probe_float32_s"]
    return e


def matmul_peak(dtype_label: str, n: int = 2048, repeats: int = 5) -> float:
    """Best FLOP/s of an n x n matmul in the step's precision (float32, or bf16 under autocast)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    amp = dtype_label == "bfloat16"
    if amp:
        a, b = a.bfloat16(), b.bfloat16()
    best = float("inf")
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
        for _ in range(repeats + 1):
            t0 = time.perf_counter()
            (a @ b).sum().item()
            best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best


def mfu(entry: dict, peak_flops: float) -> dict:
    """Model FLOPs of a full fine-tuning step over the measured matmul peak.

    The bare loop's steady steps (the training step alone, no probe). FLOPs = 6 x parameters x
    tokens of the trained forward (forget + retain rows, padded), the usual convention, except that
    the vocabulary projection counts only the positions it is computed at (the answer positions,
    ``core.model.answer_logits``), so skipping work is not counted as work done. The reference forward
    and attention's own FLOPs are not counted (the convention), so this understates the work.
    ``mfu_6nd`` is the plain 6 x parameters x tokens for comparison with other tools.
    """
    n, head = entry["n_params"], entry.get("n_head_params", 0)
    flops = sum(6 * (n - head) * t + 6 * head * p
                for t, p in zip(entry["bare_steady_tokens"], entry.get("bare_steady_proj_tokens", entry["bare_steady_tokens"])))
    flops_6nd = sum(6 * n * t for t in entry["bare_steady_tokens"])
    seconds = sum(entry["bare_steady_times"])
    achieved = flops / seconds
    return {"mfu": achieved / peak_flops, "mfu_6nd": flops_6nd / seconds / peak_flops,
            "achieved_gflops": achieved / 1e9, "peak_gflops": peak_flops / 1e9,
            "tokens_per_step": median(entry["bare_steady_tokens"]),
            "projected_tokens_per_step": median(entry.get("bare_steady_proj_tokens", entry["bare_steady_tokens"])),
            "step_s": median(entry["bare_steady_times"])}


def _interleaved(on: Bare, off: Bare, steps: int) -> tuple[list, list, list, list]:
    """Steps of two identically initialised models fed the same batches, interleaved A B B A;
    returns (times on, losses on, times off, losses off)."""
    t_on, l_on, t_off, l_off = [], [], [], []
    for k in range(steps):
        for arm in ((on, t_on, l_on), (off, t_off, l_off))[:: 1 if k % 2 == 0 else -1]:
            dt, loss, _ = arm[0].step()
            arm[1].append(dt)
            arm[2].append(loss)
    return t_on, l_on, t_off, l_off


def answer_logits_lever(cfg, steps: int, log=print) -> dict:
    """Vocabulary projection at answer positions only vs the plain full-logits forward."""
    on, off = Bare(cfg, answer_logits=True), Bare(cfg, answer_logits=False)
    t_on, l_on, t_off, l_off = _interleaved(on, off, steps)
    log(f"  answer logits: {[round(t, 2) for t in t_on]} s, full {[round(t, 2) for t in t_off]} s")
    on.close()
    off.close()
    return {"step_time_ratio_answer_over_full": sum(t_on[1:]) / sum(t_off[1:]),
            "loss_max_rel_diff": max_rel_diff(l_on, l_off)}


def autocast_lever(cfg, steps: int, log=print) -> tuple[dict, Bare]:
    """bf16 autocast vs float32; returns the numbers and the (warm) bf16 model for the next lever."""
    on, off = Bare(replace(cfg, autocast="bf16")), Bare(replace(cfg, autocast="off"))
    t_on, l_on, t_off, l_off = _interleaved(on, off, steps)
    log(f"  autocast: bf16 {[round(t, 2) for t in t_on]} s, off {[round(t, 2) for t in t_off]} s")
    off.close()
    # same batch at each step in both arms, so the sums after the first step compare like with like
    return {"step_time_ratio_bf16_over_off": sum(t_on[1:]) / sum(t_off[1:]),
            "loss_max_rel_diff": max_rel_diff(l_on, l_off), "loss_bf16": [rnd(x, 5) for x in l_on],
            "loss_off": [rnd(x, 5) for x in l_off], "auto_resolves_to": str(on.amp)}, on


def threads_lever(bare: Bare, counts: tuple[int, ...], rounds: int, log=print) -> dict:
    """Seconds per 1k trained tokens for each torch thread count on a warm model; counts cycled
    forwards then backwards (batches differ in length, hence per token)."""
    before = torch.get_num_threads()
    per_k = {n: [] for n in counts}
    try:
        for r in range(rounds):
            for n in (counts if r % 2 == 0 else tuple(reversed(counts))):
                torch.set_num_threads(n)
                dt, _, tokens = bare.step()
                per_k[n].append(1000 * dt / tokens)
    finally:
        torch.set_num_threads(before)
    log(f"  threads (s per 1k tokens): {{{', '.join(f'{n}: {[round(t, 2) for t in ts]}' for n, ts in per_k.items())}}}")
    ref = median(per_k[before] if before in per_k else per_k[counts[0]])
    return {"default_threads": before, "s_per_1k_tokens": {str(n): median(ts) for n, ts in per_k.items()},
            "step_time_ratio_vs_default": {str(n): median(ts) / ref for n, ts in per_k.items()}}


def adamw_lever(cfg, rounds: int = 3, log=print) -> dict:
    """One AdamW step over every weight of the model (full fine-tuning): the per-parameter loop
    (torch's CPU default, the engine's optimizer before it asked for ``fused``) vs ``fused=True``;
    alternated, states initialised first."""
    bare = Bare(cfg, train=False)
    params = [p for p in bare.model.parameters()]
    g = torch.Generator().manual_seed(0)
    for p in params:
        p.grad = torch.randn(p.shape, generator=g) * 1e-3
    hp = cfg.method
    opts = {"loop": torch.optim.AdamW(params, lr=hp.lr, weight_decay=hp.weight_decay, foreach=False),
            "fused": torch.optim.AdamW(params, lr=hp.lr, weight_decay=hp.weight_decay, fused=True)}
    for opt in opts.values():
        opt.step()
    times = {k: [] for k in opts}
    for r in range(rounds):
        for k in (list(opts) if r % 2 == 0 else list(reversed(opts))):
            t0 = time.perf_counter()
            opts[k].step()
            times[k].append(time.perf_counter() - t0)
    log(f"  AdamW step: {{{', '.join(f'{k}: {[round(t, 3) for t in v]}' for k, v in times.items())}}} s")
    bare.close()
    del opts, params
    gc.collect()
    return {"loop_s": median(times["loop"]), "fused_s": median(times["fused"]),
            "fused_over_loop": median(times["fused"]) / median(times["loop"])}
