"""Frozen run configuration, its validation, and (de)serialisation for ``config.json``.

A ``RunConfig`` is everything a run needs; the GUI builds one from its panels, the CLI from flags
(and an optional ``--config`` file), and both hand it to ``engine.run``. Method hyperparameters
left as ``None`` are filled from the method's preset by :func:`resolve`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from .common.records import Record


@dataclass(frozen=True)
class ModelConfig:
    path: str = "default"  # "default" = built-in SmolLM2-135M-Instruct, else HF folder or .gguf file
    device: str = "auto"  # auto | cpu | cuda | mps
    dtype: str = "auto"  # auto | float32 | bfloat16 | float16
    trust_remote_code: bool = False


@dataclass(frozen=True)
class DataConfig:
    """Files to read, or rows already in memory (the GUI's tables). Rows win over files."""

    forget: str | None = None
    retain: str | None = None
    probes: str | None = None
    forget_rows: tuple[Record, ...] | None = field(default=None, repr=False)
    retain_rows: tuple[Record, ...] | None = field(default=None, repr=False)
    probe_rows: tuple[Record, ...] | None = field(default=None, repr=False)
    max_length: int = 256


@dataclass(frozen=True)
class MethodConfig:
    """Loss and optimisation hyperparameters. ``None`` means "take the method's preset"."""

    name: str = "dipo"
    beta: float | None = None
    gamma: float | None = None
    alpha: float | None = None
    retain_loss: str | None = None  # nll | kl | none
    delta: float | None = None  # SimNPO margin
    topk: int | None = None  # DiPO k
    lam: float | None = None  # DiPO logit shift
    reduction: str | None = None  # DiPO: sum | mean over answer positions
    lr: float | None = None
    steps: int | None = None
    batch_size: int | None = None
    grad_accum: int = 1
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    lora: bool = True
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    seed: int = 0
    log_every: int = 1
    probe_every: int = 5  # live probe metrics every N optimizer steps (0 = off)
    # Most of the training time the live probes may take (0 = no cap): a due probe waits until it
    # fits, so probes cost at most this share of the run (docs/performance.md).
    probe_budget: float = 0.03
    sample_every: int = 0  # greedy answers for every compare row every N steps (0 = only before/after)
    # greedy answers for a handful of probe rows (2 forget + 2 retain) at every Nth live probe (and the
    # last), plus the original model's as step 0; their time counts towards probe_budget. 0 = off
    probe_samples_every: int = 2
    max_new_tokens: int = 32
    out_dir: str | None = None
    save_model: bool = True  # when out_dir is set: write model/ (full) or adapter/ (LoRA)
    scorecard: bool = True  # end-of-run scorecard (TOFU utility sets, truth ratio, Min-K%++) before and after
    autocast: str = "auto"  # auto | bf16 | off: bfloat16 autocast for training forwards
    keep_original: bool = False  # full fine-tuning: keep a frozen copy for spot-checks even if the method needs none
    # Two-sided stop rule, checked at the live probes (core.train.watch): stop once forget Prob < X and
    # retain Prob > Y, and keep the best probe step's weights. None = off.
    stop_forget_below: float | None = None
    stop_retain_above: float | None = None
    alarm_retain_drop: float = 1.0  # collapse alarm: retain log-prob/token this many nats below its start (0 = off)


# The desktop app's run settings where they differ from a headless run's. A person watching the
# window wants curves and answers that move while the run goes: probes every 2 steps with up to
# 20% of the run's time, and the probe answers at every probe, so the live chart of the demo run
# gets a point every few seconds. A headless run (CLI, cluster) is judged by its throughput: the
# dataclass defaults above keep probes at 3% of the time. Both are the same engine.
INTERACTIVE = {"probe_every": 2, "probe_budget": 0.2, "probe_samples_every": 1}
PROFILES = {"headless": {}, "interactive": INTERACTIVE}


def defaults(profile: str = "headless") -> dict:
    """The default of every setting that has one (method presets aside: those are ``None`` here
    and come from the method), by field name, for the ``profile`` ("headless": the dataclasses'
    defaults; "interactive": the desktop app's, :data:`INTERACTIVE`). The GUI's widgets show
    these, so the app and a ``RunConfig()`` cannot silently disagree."""
    out = {}
    for obj in (MethodConfig(), DataConfig(), RunConfig()):
        out.update({f.name: getattr(obj, f.name) for f in fields(obj)
                    if isinstance(getattr(obj, f.name), (int, float)) or getattr(obj, f.name) is None})
    out = {k: v for k, v in out.items() if k not in _NOT_SETTINGS}
    out.update(PROFILES[profile])
    return out


_NOT_SETTINGS = {"forget", "retain", "probes", "forget_rows", "retain_rows", "probe_rows", "out_dir"}


class ConfigError(ValueError):
    """A configuration problem; ``problems`` lists (field, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))


def validate(cfg: RunConfig) -> list[tuple[str, str]]:
    """Return every problem as (field, message); empty when the config can run."""
    from .methods import REGISTRY

    p: list[tuple[str, str]] = []
    m = cfg.method
    if m.name not in REGISTRY:
        p.append(("method.name", f"unknown method {m.name!r}; choose one of {', '.join(REGISTRY)}"))
    checks = [
        ("method.lr", m.lr, lambda v: 0 < v <= 100, "must be in (0, 100]"),
        ("method.steps", m.steps, lambda v: v >= 1, "must be at least 1"),
        ("method.batch_size", m.batch_size, lambda v: v >= 1, "must be at least 1"),
        ("method.beta", m.beta, lambda v: v > 0, "must be positive"),
        ("method.gamma", m.gamma, lambda v: v >= 0, "must be >= 0"),
        ("method.alpha", m.alpha, lambda v: v >= 0, "must be >= 0"),
        ("method.topk", m.topk, lambda v: v >= 1, "must be at least 1"),
        ("method.lam", m.lam, lambda v: v >= 0, "must be >= 0"),
        ("method.grad_accum", m.grad_accum, lambda v: v >= 1, "must be at least 1"),
        ("method.warmup_steps", m.warmup_steps, lambda v: v >= 0, "must be >= 0"),
        ("method.max_grad_norm", m.max_grad_norm, lambda v: v >= 0, "must be >= 0 (0 = no clipping)"),
        ("method.lora_r", m.lora_r, lambda v: v >= 1, "must be at least 1"),
        ("data.max_length", cfg.data.max_length, lambda v: v >= 8, "must be at least 8 tokens"),
        ("max_new_tokens", cfg.max_new_tokens, lambda v: v >= 1, "must be at least 1"),
        ("log_every", cfg.log_every, lambda v: v >= 1, "must be at least 1"),
        ("probe_every", cfg.probe_every, lambda v: v >= 0, "must be >= 0"),
        ("probe_budget", cfg.probe_budget, lambda v: 0 <= v <= 1, "must be between 0 and 1 (0 = no cap)"),
        ("probe_samples_every", cfg.probe_samples_every, lambda v: v >= 0, "must be >= 0"),
    ]
    for name, value, ok, msg in checks:
        if value is not None and not ok(value):
            p.append((name, f"{msg} (got {value})"))
    p += _stop_rule_problems(cfg)
    if cfg.autocast not in ("auto", "bf16", "off"):
        p.append(("autocast", f"must be auto, bf16 or off (got {cfg.autocast!r})"))
    if m.retain_loss not in (None, "nll", "kl", "none"):
        p.append(("method.retain_loss", f"must be nll, kl or none (got {m.retain_loss!r})"))
    if m.reduction not in (None, "sum", "mean"):
        p.append(("method.reduction", f"must be sum or mean (got {m.reduction!r})"))
    if cfg.model.device not in ("auto", "cpu", "cuda", "mps") and not cfg.model.device.startswith("cuda:"):
        p.append(("model.device", f"must be auto, cpu, cuda or mps (got {cfg.model.device!r})"))
    if cfg.model.dtype not in ("auto", "float32", "bfloat16", "float16"):
        p.append(("model.dtype", f"must be auto, float32, bfloat16 or float16 (got {cfg.model.dtype!r})"))
    d = cfg.data
    if d.forget_rows is None and not d.forget:
        p.append(("data.forget", "a forget set is required"))
    elif d.forget_rows is not None and len(d.forget_rows) == 0:
        p.append(("data.forget", "the forget set is empty"))
    for name in ("forget", "retain", "probes"):
        path = getattr(d, name)
        if path and getattr(d, f"{name[:-1] if name == 'probes' else name}_rows", None) is None:
            if not Path(path).exists():
                p.append((f"data.{name}", f"file not found: {path}"))
    if cfg.model.path != "default" and not Path(cfg.model.path).exists():
        p.append(("model.path", f"model not found: {cfg.model.path}"))
    return p


def _stop_rule_problems(cfg: RunConfig) -> list[tuple[str, str]]:
    p = []
    f, r = cfg.stop_forget_below, cfg.stop_retain_above
    if f is not None and not 0 < f <= 1:
        p.append(("stop_forget_below", f"must be a probability in (0, 1] (got {f})"))
    if r is not None and not 0 <= r < 1:
        p.append(("stop_retain_above", f"must be a probability in [0, 1) (got {r})"))
    if r is not None and f is None:
        p.append(("stop_retain_above", "needs stop_forget_below too: a retain floor alone would stop at once"))
    if f is not None and not cfg.probe_every:
        p.append(("stop_forget_below", "the stop rule is checked at the live probes: set probe_every >= 1"))
    if not cfg.alarm_retain_drop >= 0:
        p.append(("alarm_retain_drop", f"must be >= 0 nats (0 = off) (got {cfg.alarm_retain_drop})"))
    return p


def resolve(cfg: RunConfig) -> RunConfig:
    """Fill every ``None`` method field from the method's preset; raise ConfigError if invalid."""
    problems = validate(cfg)
    if problems:
        raise ConfigError(problems)
    from .methods import REGISTRY

    preset = REGISTRY[cfg.method.name].preset
    filled = {f.name: preset[f.name] for f in fields(MethodConfig) if getattr(cfg.method, f.name) is None and f.name in preset}
    missing = [f.name for f in fields(MethodConfig) if getattr(cfg.method, f.name) is None and f.name not in preset]
    if missing:
        raise ConfigError([(f"method.{n}", "no value and no preset") for n in missing])
    d = cfg.data
    absolute = {k: str(Path(getattr(d, k)).resolve()) for k in ("forget", "retain", "probes") if getattr(d, k)}
    model = cfg.model if cfg.model.path in ("default", "") else replace(cfg.model, path=str(Path(cfg.model.path).resolve()))
    out = replace(cfg, method=replace(cfg.method, **filled), data=replace(d, **absolute), model=model)
    problems = validate(out)
    if problems:
        raise ConfigError(problems)
    return out


def to_dict(cfg: RunConfig) -> dict:
    """JSON-ready dict; in-memory rows are replaced by their counts."""
    d = asdict(cfg)
    for k in ("forget_rows", "retain_rows", "probe_rows"):
        rows = getattr(cfg.data, k)
        d["data"][k] = None if rows is None else f"<{len(rows)} rows in memory>"
    return d


def from_dict(d: dict, source: str = "config") -> RunConfig:
    """Inverse of :func:`to_dict` for files given with ``--config``; unknown keys are errors."""
    sections = {"model": ModelConfig, "data": DataConfig, "method": MethodConfig}
    kwargs = {}
    problems = []
    top = {f.name for f in fields(RunConfig)}
    for key, value in d.items():
        if key not in top:
            problems.append((f"{source}: {key}", "unknown key"))
        elif key in sections:
            cls = sections[key]
            names = {f.name for f in fields(cls)}
            bad = [k for k in value if k not in names]
            problems += [(f"{source}: {key}.{k}", "unknown key") for k in bad]
            v = {k: (tuple(x) if isinstance(x, list) else x) for k, x in value.items() if k in names and not k.endswith("_rows")}
            kwargs[key] = cls(**v)
        else:
            kwargs[key] = value
    if problems:
        raise ConfigError(problems)
    return RunConfig(**kwargs)


def load_file(path: str | Path) -> RunConfig:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError([(str(path), f"cannot read config: {e}")]) from None
    if not isinstance(data, dict):
        raise ConfigError([(str(path), "a config file must hold a JSON object")])
    return from_dict(data, source=str(path))
