"""Watching a run: collapse alarms and the optional two-sided stop rule (docs/EVALUATION.md).

**Alarms** are computed from the events alone (no model), so they work the same in the CLI, the
GUI and tests. Each kind fires at most once per run (a banner that keeps re-appearing is noise):

- ``retain_drop``: the retain mean answer log-prob per token (``EvalResult.retain_logprob``) fell
  more than ``retain_drop`` nats below its first measured value (default 1.0 nat, i.e. the
  geometric-mean probability of a retain token divided by e ~ 2.7). Nats rather than a Prob
  ratio because they do not saturate: Prob is an average of per-item probabilities and sits near
  0 for hard items whatever happens, while the log-prob keeps falling. Healthy runs move retain by
  a few tenths of a nat (on the demo DiPO and NPO *raise* it); a collapsing one (gradient ascent
  at a high learning rate) loses several nats within a few steps, so 1 nat separates them with a
  margin on both sides and still fires early.
- ``repetition`` / ``empty``: the share of degenerate generations (:func:`degenerate`) among the
  rows that should stay fluent (retain rows and "other" probes; all rows when there are none,
  because forget answers turning into a refusal or going short is the *goal*) is at least
  ``DEGENERATE_SHARE`` and rose by at least ``MIN_RISE`` since the "before" answers, so a small
  model that already rambled before training does not raise the alarm.

**Stop rule** (``RunConfig.stop_forget_below`` X, ``stop_retain_above`` Y): at every live probe
the *margin* ``min(X - forget Prob, retain Prob - Y)`` says by how much the worse of the two
conditions holds (positive = both hold; without Y only the forget term counts). Training stops at
the first probe step with a positive margin, and that step is kept: it is the earliest point that
meets the goal, so every later step could only cost retain quality. If the rule is never met, the
run goes to its last step and then keeps the probe step with the *largest* margin, the one that
came closest to the goal, restoring its weights when it is not the last step (typically: forget
kept falling while retain collapsed, and the kept step is from before the collapse). Step 0, the
untouched model, is never kept. Only trainable parameters are snapshotted, on the CPU, and only
when the margin improves: with LoRA that is the adapter weights (a few MB), with full fine-tuning
a CPU copy of the model's weights. A cancelled run is not restored: it keeps what it learned, as
without a rule.
"""
from __future__ import annotations

import math

from ..common.events import Alarm, EvalResult, LogMessage, Samples

RETAIN_DROP_NATS = 1.0
NGRAM = 3  # word n-grams for the repetition check
REPEAT_FRACTION = 0.5  # a generation is repetitive when more than half of its n-grams are repeats
MIN_WORDS = 6  # fewer words: judge repetition on character 4-grams instead (no-space loops "!!!!…")
MIN_CHARS = 24
DEGENERATE_SHARE = 0.5
MIN_RISE = 0.25


def repeated_fraction(items: list) -> float:
    """1 - distinct / total over ``items`` (0 = no repeats; 0.75 for "a a a a a a" as 3-grams)."""
    return 1.0 - len(set(items)) / len(items) if items else 0.0


def degenerate(text: str) -> str | None:
    """"empty", "repetition" or None for one generated answer."""
    t = (text or "").strip()
    if not t:
        return "empty"
    words = t.split()
    if len(words) >= MIN_WORDS:
        grams = [tuple(words[i:i + NGRAM]) for i in range(len(words) - NGRAM + 1)]
        top = max(words.count(w) for w in set(words)) / len(words)  # one token repeated throughout
        return "repetition" if repeated_fraction(grams) > REPEAT_FRACTION or top > REPEAT_FRACTION else None
    if len(t) >= MIN_CHARS:
        return "repetition" if repeated_fraction([t[i:i + 4] for i in range(len(t) - 3)]) > REPEAT_FRACTION else None
    return None


def degenerate_shares(rows) -> dict[str, float]:
    """{"empty": share, "repetition": share} over the rows that should stay fluent (see module doc)."""
    keep = [r for r in rows if r.split != "forget"] or list(rows)
    kinds = [degenerate(r.text) for r in keep]
    n = max(len(kinds), 1)
    return {k: sum(x == k for x in kinds) / n for k in ("empty", "repetition")}


class StopRule:
    """"Stop when forget Prob < X and retain Prob > Y" as a margin (positive = met)."""

    def __init__(self, forget_below: float, retain_above: float | None = None):
        self.forget_below, self.retain_above = forget_below, retain_above

    def margin(self, ev: EvalResult) -> float:
        f = self.forget_below - ev.forget_prob
        r = math.inf if self.retain_above is None else ev.retain_prob - self.retain_above
        return -math.inf if math.isnan(f) or math.isnan(r) else min(f, r)  # NaN (no items) is never met

    def describe(self, ev: EvalResult | None = None) -> str:
        if ev is None:
            return f"forget Prob < {self.forget_below:g}" + (
                "" if self.retain_above is None else f" and retain Prob > {self.retain_above:g}")
        return f"forget Prob {ev.forget_prob:.3f}" + (
            "" if self.retain_above is None else f", retain Prob {ev.retain_prob:.3f}")


class Watch:
    """Fed every engine event through :meth:`tap`; the engine also calls :meth:`probe` at each
    live probe (stop rule, snapshots) and :meth:`finish` when training ends (restore)."""

    def __init__(self, *, retain_drop: float = RETAIN_DROP_NATS, stop_forget_below: float | None = None,
                 stop_retain_above: float | None = None, log=None):
        self.retain_drop = retain_drop
        self.rule = StopRule(stop_forget_below, stop_retain_above) if stop_forget_below is not None else None
        self.log = log  # core.runs.RunLog (or None): alarms are written to the run folder
        self.alarms: list[Alarm] = []
        self._fired: set[str] = set()
        self._retain_start: float | None = None
        self._before_shares: dict[str, float] | None = None
        self._probe_base: dict[str, float] | None = None  # the live probe's answers at step 0
        self._step = 0
        self.met_at: int | None = None  # probe step where the stop rule was met
        self.kept_step: int | None = None  # step whose weights the model holds at the end
        self.restored = False
        self._best: tuple[float, int, EvalResult] | None = None  # (margin, step, probe)
        self._snapshot: dict | None = None

    @classmethod
    def from_config(cls, cfg, log=None) -> "Watch":
        return cls(retain_drop=cfg.alarm_retain_drop, stop_forget_below=cfg.stop_forget_below,
                   stop_retain_above=cfg.stop_retain_above, log=log)

    # ---------------------------------------------------------------- alarms
    def feed(self, ev) -> list[Alarm]:
        """The alarms ``ev`` raises (each kind once per run)."""
        if isinstance(ev, EvalResult):
            self._step = ev.step
            return self._on_eval(ev)
        if isinstance(ev, Samples):
            return self._on_samples(ev)
        return []

    def tap(self, emit):
        """A sink that forwards each event to ``emit``, then emits (and logs) the alarms it raised."""
        def sink(ev) -> None:
            emit(ev)
            for alarm in self.feed(ev):
                emit(alarm)
        return sink

    def _raise(self, step: int, kind: str, message: str) -> list[Alarm]:
        if kind in self._fired:
            return []
        self._fired.add(kind)
        alarm = Alarm(step, kind, message)
        self.alarms.append(alarm)
        if self.log is not None and hasattr(self.log, "alarm"):
            self.log.alarm(alarm)
        return [alarm]

    def _on_eval(self, ev: EvalResult) -> list[Alarm]:
        lp = ev.retain_logprob
        if lp is None or not math.isfinite(lp):
            return []
        if self._retain_start is None or ev.step == 0:  # step 0 (the untouched model) is the start
            self._retain_start = lp
            return []
        drop = self._retain_start - lp
        if self.retain_drop > 0 and drop > self.retain_drop:
            return self._raise(ev.step, "retain_drop",
                               f"retain answers are collapsing: log-prob per token {lp:.2f} at step {ev.step}, "
                               f"{drop:.2f} nats below its start ({self._retain_start:.2f}; "
                               f"Prob {ev.retain_prob:.3f}). "
                               "Lower the learning rate or raise the retain weight.")
        return []

    def _on_samples(self, ev: Samples) -> list[Alarm]:
        if not ev.rows or ev.stage == "rows":  # "rows": the compare table's rows, no answers yet
            return []
        shares = degenerate_shares(ev.rows)
        if ev.stage == "before":
            self._before_shares = shares
            return []
        if ev.stage == "probe" and ev.step == 0:
            self._probe_base = shares  # the handful answered with the live probe, before training
            return []
        if ev.stage == "probe":
            base = self._probe_base or {"empty": 0.0, "repetition": 0.0}
        elif self._before_shares is None and ev.stage == "step":
            return []  # the "before" answers may come after the first steps: judge against them only
        else:
            base = self._before_shares or {"empty": 0.0, "repetition": 0.0}
        # a handful of rows (the live probe's answers): every fluent one must have gone bad, and
        # none may have been bad before, or one answer flipping would sound the alarm
        fluent = sum(r.split != "forget" for r in ev.rows) or len(ev.rows)
        few = fluent < 4
        out: list[Alarm] = []
        what = {"empty": "empty", "repetition": "repeating themselves"}
        for kind, share in shares.items():
            if few and (share < 1.0 or base[kind] > 0):
                continue
            if share >= DEGENERATE_SHARE and share - base[kind] >= MIN_RISE:
                where = "after training" if ev.stage == "after" else f"at step {ev.step}"
                out += self._raise(ev.step, kind, f"{share:.0%} of the answers that should stay fluent are "
                                                  f"{what[kind]} {where} (before: {base[kind]:.0%}); the model may "
                                                  "be collapsing.")
        return out

    # ---------------------------------------------------------------- stop rule
    def probe(self, ev: EvalResult, model, emit) -> bool:
        """Stop-rule bookkeeping at a live probe; True when training should stop now."""
        if self.rule is None or ev.step <= 0:
            return False
        margin = self.rule.margin(ev)
        if margin > 0:
            self.met_at = ev.step
            self._best, self._snapshot = (margin, ev.step, ev), None  # the current weights are the kept ones
            emit(LogMessage("info", f"stop rule met at step {ev.step} ({self.rule.describe(ev)}): "
                                    f"stopping and keeping step {ev.step}"))
            return True
        if self._best is None or margin > self._best[0]:
            self._snapshot = None  # free the old copy first (full fine-tuning: a whole model)
            self._snapshot = trainable_state(model)
            self._best = (margin, ev.step, ev)
        return False

    def finish(self, model, emit, last_step: int) -> int | None:
        """After the last trained step: keep the best probe step's weights (see the module doc)."""
        if self.rule is None or self._best is None:
            return None
        _, step, ev = self._best
        self.kept_step = step
        if self.met_at is None:
            if step != last_step and self._snapshot is not None:
                load_trainable_state(model, self._snapshot)
                self.restored = True
                emit(LogMessage("warning", f"stop rule ({self.rule.describe()}) never met in {last_step} steps; "
                                           f"restored the weights of step {step}, the closest to it "
                                           f"({self.rule.describe(ev)})"))
            else:
                emit(LogMessage("warning", f"stop rule ({self.rule.describe()}) never met; the last step "
                                           f"{step} came closest ({self.rule.describe(ev)}) and is kept"))
        self._snapshot = None
        return step

    def summary(self) -> dict:
        """For summary.json: the alarms and what the stop rule did."""
        rule = None
        if self.rule is not None:
            rule = {"forget_below": self.rule.forget_below, "retain_above": self.rule.retain_above,
                    "met_at": self.met_at, "kept_step": self.kept_step, "restored": self.restored}
        return {"alarms": [a.to_row() for a in self.alarms], "stop_rule": rule}


def trainable_state(model) -> dict:
    """CPU copies of the parameters that train (LoRA: the adapters only)."""
    return {n: p.detach().to("cpu", copy=True) for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model, state: dict) -> None:
    import torch

    with torch.no_grad():
        for n, p in model.named_parameters():
            if n in state:
                p.copy_(state[n].to(p.device))
