"""The training loop: ``run(cfg, on_event, cancel, tasks) -> RunResult``.

One engine, three callers: the CLI passes a printer, tests ``list.append``, the GUI a Qt signal's
``emit``. Cancellation is polled at every optimizer step and inside generation; every run ends
with exactly one ``RunFinished``. Spot-check requests put on ``tasks`` are answered between steps
in this thread, so they never race the optimizer.
"""
from __future__ import annotations

import contextlib
import queue
import random
import time
import traceback
from dataclasses import dataclass, replace

import numpy as np
import torch

from .. import config as config_mod
from ..model.answer_logits import compact_batch, compact_logits
from ..common.cancel import Cancelled, CancelToken
from ..data.tokenize import PairSampler, collate
from .distributed import Dist
from ..evaluate.probes import probe_metrics
from ..common.events import EvalResult, LogMessage, RunFinished, RunStarted, Samples, SpotCheckResult, StepMetrics
from ..methods import REGISTRY, LossInputs, kl_ref_theta, nll_mean
from .result import RunResult
from ..runs.folder import RunLog
from .watch import Watch


class RunFailure(RuntimeError):
    """A run-stopping problem with a message meant for the user (NaN loss, out of memory)."""


@dataclass(frozen=True)
class SpotCheckRequest:
    request_id: int
    prompt: str


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _step_loss(s, method, hp, fidx, ridx, wrapped=None):
    """gamma * L_forget + alpha * L_retain for one micro-batch; returns (total, forget, retain).

    Forget, refusal and retain rows are collated into ONE padded batch so pi_theta runs a single
    forward per backward: fewer, larger matmuls on a CPU, and what DDP/FSDP require. ``wrapped`` is
    the module training forwards go through when Accelerate wrapped the model (DDP/FSDP); such a
    wrapper needs its own forward call, so the answer-positions-only projection is skipped then.
    """
    use_retain = hp.retain_loss != "none" and hp.alpha > 0 and bool(ridx)
    parts = [("forget", [s.forget[i] for i in fidx])]
    if method.needs_idk:
        parts.append(("idk", [s.idk[i] for i in fidx]))
    if use_retain:
        parts.append(("retain", [s.retain[i] for i in ridx]))
    full = {k: v.to(s.device) for k, v in collate([e for _, p in parts for e in p], s.tokenizer.pad_token_id).items()}
    forward = s.model if wrapped is None else wrapped
    parts_ = s.compact_parts if forward is s.model else None
    if parts_ is not None:  # vocabulary logits at answer positions only (core.model.answer_logits)
        full = compact_batch(full)
        logits = compact_logits(s.model, full, parts_)
    else:
        logits = forward(input_ids=full["input_ids"], attention_mask=full["attention_mask"]).logits
    x = LossInputs(model=s.model, forget={}, hp=hp, ref_logits=s.ref_logits)
    sub, start = {}, 0
    for name, rows in parts:
        sl = slice(start, start + len(rows))
        start += len(rows)
        sub[name] = {k: v[sl] for k, v in full.items()}
        x.cache[id(sub[name])] = logits[sl]
    x.forget, x.idk = sub["forget"], sub.get("idk")
    forget_term = method.forget_loss(x)
    retain_term = torch.zeros((), device=logits.device)
    if use_retain:
        retain = sub["retain"]
        retain_term = nll_mean(x.logits(retain), retain["labels"]) if hp.retain_loss == "nll" else \
            kl_ref_theta(x.logits(retain), s.ref_logits(retain), retain["labels"])
    return hp.gamma * forget_term + hp.alpha * retain_term, forget_term, retain_term


def _answer_tasks(s, tasks, step, emit, cancel):
    while tasks is not None:
        try:
            req = tasks.get_nowait()
        except queue.Empty:
            return
        orig = s.answer([req.prompt], original=True, cancel=cancel)[0]
        cur = s.answer([req.prompt], original=False, cancel=cancel)[0]
        emit(SpotCheckResult(req.request_id, req.prompt, orig, cur, step))


def initial_probe(s, emit, writer=None, cancel: CancelToken | None = None) -> float:
    """The step-0 live probe (the curves' starting point, also a ``metrics.jsonl`` row) and the
    probe answers' baseline. Returns its seconds: the probe budget's first estimate of what one
    probe costs (``train``'s ``probe_cost_s``)."""
    t = time.perf_counter()
    ev = EvalResult(step=0, **probe_metrics(s.model, s.probe_forget, s.probe_retain, s.autocast_dtype))
    emit(ev)
    if writer is not None:
        writer.eval(ev)
    if s.cfg.probe_samples_every and not s.original_kept:
        s.probe_samples(emit, 0, cancel)  # no original weights later: the baseline must come now
    return time.perf_counter() - t


def train(s, emit, cancel, tasks, writer, result, probe_cost_s: float | None = None) -> int:
    """The optimizer loop; keeps ``result.steps_done`` current (a cancelled run reports how far it
    got). Raises Cancelled/RunFailure."""
    cfg, hp = s.cfg, s.cfg.method
    method = REGISTRY[hp.name]
    params = [p for p in s.model.parameters() if p.requires_grad]
    dist = s.dist
    # fused AdamW: one kernel for all parameters (benchmarks/: optimizer step 4.5x faster on the CPU)
    fused = s.device.split(":")[0] in ("cpu", "cuda")
    wrapped, opt = dist.prepare(s.model, torch.optim.AdamW(params, lr=hp.lr, weight_decay=hp.weight_decay,
                                                             fused=fused or None))
    warm = max(hp.warmup_steps, 0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / warm) if warm else 1.0)
    sampler = PairSampler(len(s.forget), len(s.retain), hp.batch_size, cfg.seed)
    amp = s.autocast_dtype
    t0, done = time.perf_counter(), 0
    probes = ProbeClock(cfg.probe_every, cfg.probe_budget, hp.steps, probe_cost_s)
    n_probes = 0
    baseline_sent = False  # the probe answers' step-0 baseline (deferred while the original is kept)
    for step in range(1, hp.steps + 1):
        cancel.raise_if_cancelled()
        _answer_tasks(s, tasks, done, emit, cancel)
        opt.zero_grad(set_to_none=True)
        tot = fl = rl = 0.0
        for _ in range(hp.grad_accum):
            fidx, ridx = map(dist.shard, sampler.next())
            with torch.autocast(s.device.split(":")[0], dtype=amp or torch.bfloat16, enabled=amp is not None):
                loss, forget_term, retain_term = _step_loss(s, method, hp, fidx, ridx, wrapped)
            if not torch.isfinite(loss):
                raise RunFailure(f"the loss became {loss.item()} at step {step}; lower the learning rate "
                                 f"(now {hp.lr:g}) or the beta/gamma weights")
            dist.backward(loss / hp.grad_accum)
            tot += loss.detach() / hp.grad_accum
            fl += forget_term.detach() / hp.grad_accum
            rl += retain_term.detach() / hp.grad_accum
        gn = dist.clip(params, hp.max_grad_norm)
        tot, fl, rl = dist.mean(tot), dist.mean(fl), dist.mean(rl)
        opt.step()
        sched.step()
        done = result.steps_done = step
        if step % cfg.log_every == 0 or step == hp.steps:
            ev = StepMetrics(step, hp.steps, float(tot), float(fl), float(rl), sched.get_last_lr()[0],
                             float(gn), time.perf_counter() - t0)
            emit(ev)
            writer.step(ev)
        if probes.due(step, time.perf_counter() - t0):
            with probes.timing():
                ev = EvalResult(step=step, **probe_metrics(s.model, s.probe_forget, s.probe_retain, amp))
                emit(ev)
                writer.eval(ev)
                n_probes += 1
                if cfg.probe_samples_every and (n_probes % cfg.probe_samples_every == 0 or step == hp.steps):
                    if not baseline_sent and s.original_kept:  # step-0 answers, from the original weights
                        s.probe_samples(emit, 0, cancel, original=True)
                    baseline_sent = True
                    s.probe_samples(emit, step, cancel)
            if result.watch is not None and result.watch.probe(ev, s.model, emit):
                break  # the stop rule is met: keep this step
        if cfg.sample_every and step % cfg.sample_every == 0 and step != hp.steps:
            s.generations(emit, "step", step, cancel)
    if result.watch is not None:  # stop rule: the best probe step's weights for "after" and saving
        result.watch.finish(s.model, emit, done)
    return done


class ProbeClock:
    """When the live probe runs: every ``every`` steps and at the last step, but a due probe waits
    (to the next step, and the next...) while running it would take the probes' share of the
    elapsed time above ``budget``. ``cost_s`` is the estimate of one probe (the step-0 probe's
    time, then each measured probe's), so the cap holds from the first probe on.

    Why a budget and not only a period: a probe costs about the same on every machine relative to
    a step only when batches are alike; on a 2-core CPU a 32-item probe took two training steps'
    time, so "every 5 steps" alone spent a third of the run measuring (benchmarks/).
    """

    def __init__(self, every: int, budget: float, last: int, cost_s: float | None = None):
        self.every, self.budget, self.last = every, budget, last
        self.cost_s = cost_s or 0.0
        self.spent_s = 0.0
        self.pending = False

    def due(self, step: int, elapsed_s: float) -> bool:
        if not self.every:
            return False
        if step % self.every == 0:
            self.pending = True
        if step == self.last:
            return True
        if not self.pending:
            return False
        return not self.budget or self.spent_s + self.cost_s <= self.budget * max(elapsed_s - self.spent_s, 0.0)

    @contextlib.contextmanager
    def timing(self):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.record(time.perf_counter() - t)

    def record(self, seconds: float) -> None:
        """A probe ran and took ``seconds``."""
        self.cost_s = seconds
        self.spent_s += seconds
        self.pending = False


def _silent(_event) -> None:
    pass


def _failure_message(e: BaseException) -> str:
    if isinstance(e, torch.OutOfMemoryError) or "out of memory" in str(e).lower():
        return "out of memory: lower the batch size or max length, use LoRA, or choose the CPU"
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0] if lines else ''}"[:400] if not isinstance(
        e, (RunFailure, config_mod.ConfigError, ValueError)) else (lines[0] if lines else type(e).__name__)


def run(cfg: config_mod.RunConfig, on_event, cancel: CancelToken | None = None,
        tasks: "queue.Queue[SpotCheckRequest] | None" = None) -> RunResult:
    """Run one unlearning job; never raises (failures end in ``RunFinished(status="failed")``)."""
    cancel = cancel or CancelToken()
    t0 = time.perf_counter()
    dist = Dist.from_env(cfg.model.device)
    if not dist.is_main:  # one voice per job: only the main process reports and writes
        on_event = _silent
        cfg = replace(cfg, out_dir=None)
    result = RunResult(status="failed", config=cfg)
    try:
        cfg = result.config = config_mod.resolve(cfg)
        seed_everything(cfg.seed)
        from .session import prepare
        s = result.session = prepare(cfg, on_event, dist=dist)
        writer = result.log = RunLog(cfg.out_dir, config_mod.to_dict(cfg))
        result.watch = Watch.from_config(cfg, writer)
        on_event = result.watch.tap(on_event)  # collapse alarms follow the events they come from
        on_event(RunStarted(cfg.method.name, cfg.method.steps, s.model_name, len(s.forget), len(s.retain),
                            sum(g.source == "probe" for g in s.compare), s.lora, s.device,
                            s.dtype_label, config_mod.to_dict(cfg)))
        on_event(Samples("rows", 0, tuple(s.compare)))  # prompts and references, answers to come
        if not s.original_kept:  # full fine-tuning without a reference copy: measure the original now
            result.measure_before(on_event, cancel)
        else:
            on_event(LogMessage("info", "the 'before' answers and scorecard come from the original weights "
                                        "after training, so training starts at once"))
        probe_cost_s = initial_probe(s, on_event, writer, cancel)
        train(s, on_event, cancel, tasks, writer, result, probe_cost_s)
        result.finish_after(on_event, cancel)
        result.status = "completed"
        if cfg.out_dir:
            result.save_run_folder(cfg.out_dir, wall_s=time.perf_counter() - t0, save_model=cfg.save_model)
    except Cancelled:
        result.status = "cancelled"
        on_event(LogMessage("info", f"run cancelled after {result.steps_done} step(s); the model keeps what it learned"))
        if cfg.out_dir and result.session is not None:
            result.save_run_folder(cfg.out_dir, wall_s=time.perf_counter() - t0, save_model=False)
    except Exception as e:  # noqa: BLE001 - every failure is reported, never lost in a thread
        result.status = "failed"
        result.error = _failure_message(e)
        result.traceback = traceback.format_exc()
    result.wall_s = time.perf_counter() - t0
    on_event(RunFinished(result.status, result.steps_done, result.wall_s, result.error, result.traceback,
                         result.summary()))
    return result
