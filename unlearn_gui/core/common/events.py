"""Typed, frozen events emitted by ``engine.run``.

The engine calls ``on_event(event)`` from the training thread. The CLI prints them, tests collect
them with ``list.append`` and the GUI forwards them through a ``Signal(object)``. Every run emits
exactly one :class:`RunFinished`, last.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LoadProgress:
    """Model loading / conversion / tokenisation progress; ``fraction`` in [0, 1] or None if unknown."""

    stage: str
    message: str
    fraction: float | None = None


@dataclass(frozen=True)
class LogMessage:
    level: str  # "info" | "warning" | "error"
    message: str


@dataclass(frozen=True)
class RunStarted:
    method: str
    total_steps: int
    model_name: str
    n_forget: int
    n_retain: int
    n_probes: int
    lora: bool
    device: str
    dtype: str
    config: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class StepMetrics:
    """One optimizer step (emitted every ``log_every`` steps and on the last step)."""

    step: int
    total_steps: int
    loss: float
    forget_loss: float
    retain_loss: float
    lr: float
    grad_norm: float
    elapsed_s: float

    def to_row(self) -> dict:
        return {
            "step": self.step,
            "loss": self.loss,
            "forget_loss": self.forget_loss,
            "retain_loss": self.retain_loss,
            "lr": self.lr,
            "grad_norm": self.grad_norm,
            "elapsed_s": self.elapsed_s,
        }


@dataclass(frozen=True)
class EvalResult:
    """Live probe metrics at ``step`` (step 0 = before training).

    ``forget_logprob``/``retain_logprob``: mean over items of the mean per-token answer log-prob;
    ``*_prob`` = mean of exp(mean token log-prob) (TOFU's length-normalised Prob);
    ``*_em``: mean fraction of answer positions whose argmax equals the label.
    """

    step: int
    forget_logprob: float
    retain_logprob: float
    forget_prob: float
    retain_prob: float
    forget_em: float
    retain_em: float

    def to_row(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Generation:
    """One row of the before/after comparison.

    ``split`` is "forget", "retain" or the probe's own split ("forget"/"retain"/"other") prefixed
    by nothing; ``source`` says where the prompt came from: "forget", "retain" or "probe".
    """

    prompt: str
    split: str
    source: str
    reference: str
    text: str
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Samples:
    """Greedy generations at a point of the run: ``stage`` is "before", "step" or "after" (every
    compare row, in order), "probe" (a handful of rows answered with the live probe: step 0,
    then every ``probe_samples_every``-th probe and the last one), or "rows" (every compare row
    with no answer yet, sent once at the start so a table can show prompts and references)."""

    stage: str
    step: int
    rows: tuple[Generation, ...]


@dataclass(frozen=True)
class SpotCheckResult:
    """Answer to a queued spot-check prompt: the original model's and the current model's."""

    request_id: int
    prompt: str
    original: str
    current: str
    step: int


@dataclass(frozen=True)
class Alarm:
    """A collapse warning from :mod:`core.train.watch` at ``step``: ``kind`` is "retain_drop",
    "repetition" or "empty"; ``message`` is one plain sentence for the user."""

    step: int
    kind: str
    message: str

    def to_row(self) -> dict:
        return {"step": self.step, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class RunFinished:
    status: str  # "completed" | "cancelled" | "failed"
    steps_done: int
    wall_s: float
    error: str = ""
    traceback: str = ""
    summary: dict = field(default_factory=dict, compare=False)


Event = (LoadProgress | LogMessage | RunStarted | StepMetrics | EvalResult | Samples | SpotCheckResult | Alarm
         | RunFinished)
