"""Everything a run holds in memory: model, reference, tokenised data, probe sets.

Built once per run by :func:`prepare`; kept in the ``RunResult`` afterwards so the GUI can
spot-check, compare and save without reloading anything.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import gc
import os
import random
from dataclasses import dataclass, field

import torch

from ..model import models
from ..data import readers
from ..model.answer_logits import compact_logits, head_parts
from ..common.cancel import CancelToken
from ..config import RunConfig
from ..data.tokenize import Example, Tokenizing
from .distributed import Dist
from ..evaluate.probes import ItemSet, generation_metrics, probe_metrics
from ..common.events import Generation, LoadProgress, LogMessage, Samples
from ..model.generate import generate
from ..methods import REGISTRY
from ..common.paths import IDK_FILE, resource
from ..common.records import Record

PROBE_ITEMS = 16  # per side; EVALUATION.md asks for ~10-20 frozen probe items


@dataclass
class Session:
    cfg: RunConfig
    model: torch.nn.Module
    tokenizer: object
    tkz: Tokenizing
    device: str
    model_name: str
    ref_model: torch.nn.Module | None
    forget: list[Example]
    retain: list[Example]
    idk: list[Example]
    compare: list[Generation]  # rows to generate before/after (text empty here)
    compare_prompts: list[list[int]]
    probe_forget: ItemSet
    probe_retain: ItemSet
    eval_forget: ItemSet
    eval_retain: ItemSet
    notes: list[str] = field(default_factory=list)
    autocast_dtype: torch.dtype | None = None
    holdout: list[Record] = field(default_factory=list)  # never trained: Min-K%++ membership baseline
    dist: Dist = field(default_factory=Dist)

    @property
    def dtype_label(self) -> str:
        base = str(next(self.model.parameters()).dtype).replace("torch.", "")
        return base + (" + bf16 autocast" if self.autocast_dtype is not None else "")

    @property
    def lora(self) -> bool:
        return hasattr(self.model, "disable_adapter")

    @functools.cached_property
    def compact_parts(self):
        """(decoder, head) when training may project only the answer positions onto the vocabulary
        (core.model.answer_logits), else None. The engine uses it only while the model is not wrapped by
        DDP/FSDP, which need their own forward call."""
        if os.environ.get("UNLEARN_GUI_FULL_LOGITS"):  # escape hatch for comparisons (benchmarks/)
            return None
        return head_parts(self.model)

    NO_ORIGINAL = ("measure(original=True) needs the original weights, but this full fine-tuning run kept no "
                   "reference copy; measure before training with original=False instead")

    @contextlib.contextmanager
    def model_for(self, original: bool):
        """The one place that picks "the model as it was" or "the model as it is now": the current
        model, or the original one, i.e. the same model with its LoRA adapters disabled (no copy)
        or the frozen reference copy kept for full fine-tuning. Raises when the original is asked
        for but was not kept (full fine-tuning with no reference copy)."""
        if not original:
            yield self.model
        elif self.lora:
            with self.model.disable_adapter():
                yield self.model
        elif self.ref_model is not None:
            yield self.ref_model
        else:
            raise RuntimeError(self.NO_ORIGINAL)

    @torch.no_grad()
    def ref_logits(self, batch: dict) -> torch.Tensor:
        """pi_ref, the original model's logits; compact (answer positions only) when the batch
        carries ``answer_idx``."""
        with self.model_for(original=True) as model:
            return self._logits(model, batch)

    @staticmethod
    def _logits(model, batch: dict) -> torch.Tensor:
        if "answer_idx" in batch:
            return compact_logits(model, batch)
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits

    def generations(self, emit, stage: str, step: int, cancel: CancelToken | None, original: bool = False) -> list[str]:
        """Greedy answers for every compare row, emitted as one ``Samples`` event."""
        texts = self.generate_ids(self.compare_prompts, original=original, cancel=cancel)
        emit(Samples(stage, step, tuple(Generation(g.prompt, g.split, g.source, g.reference, t, g.keys)
                                        for g, t in zip(self.compare, texts))))
        return texts

    @property
    def original_kept(self) -> bool:
        """Whether the original model can still be run after training (LoRA with its adapters
        disabled, or a frozen reference copy), so "before" measurements may wait until then."""
        return self.lora or self.ref_model is not None

    PROBE_SAMPLE_ROWS = 2  # per side

    @functools.cached_property
    def probe_sample_rows(self) -> list[int]:
        """Indices into ``compare`` of the handful answered with the live probe: per side (forget,
        retain) up to two rows, held-out probe rows first (they were never trained on, so they show
        generalisation), then the set's own rows."""
        out = []
        for side in ("forget", "retain"):
            rows = [i for i, g in enumerate(self.compare) if g.split == side]
            rows.sort(key=lambda i: self.compare[i].source != "probe")
            out += rows[:self.PROBE_SAMPLE_ROWS]
        return sorted(out)

    def probe_samples(self, emit, step: int, cancel: CancelToken | None, original: bool = False) -> None:
        """Greedy answers for :attr:`probe_sample_rows` as ``Samples("probe")``: of the current
        model, or (``original=True``, reported as step 0) of the original weights."""
        idx = self.probe_sample_rows
        if not idx:
            return
        texts = self.generate_ids([self.compare_prompts[i] for i in idx], original=original, cancel=cancel)
        rows = tuple(Generation(g.prompt, g.split, g.source, g.reference, t, g.keys)
                     for g, t in zip((self.compare[i] for i in idx), texts))
        emit(Samples("probe", step, rows))

    def measure(self, texts: list[str], original: bool = False) -> dict:
        """Before/after numbers on the whole (capped) forget and retain sets plus generation metrics,
        of the current model or (``original=True``) of the original one."""
        with self.model_for(original) as model:
            m = probe_metrics(model, self.eval_forget, self.eval_retain, self.autocast_dtype)
        m.update(generation_metrics(self.compare, texts))
        return m

    def answer(self, prompts: list[str], *, original: bool, cancel: CancelToken | None = None) -> list[str]:
        """Greedy answers of the current model, or of the original one (``original=True``)."""
        ids = [self.tkz.prompt_ids(Record(prompt=p, answer="")) for p in prompts]
        return self.generate_ids(ids, original=original, cancel=cancel)

    def generate_ids(self, ids, *, original: bool, cancel: CancelToken | None = None) -> list[str]:
        if original and not self.original_kept:
            return ["(original model not kept in memory)"] * len(ids)
        with self.model_for(original) as model:
            return generate(model, self.tokenizer, ids, max_new_tokens=self.cfg.max_new_tokens,
                            stop_ids=self.tkz.stop_ids, cancel=cancel)


def load_rows(cfg: RunConfig) -> tuple[list[Record], list[Record], list[Record]]:
    d = cfg.data
    forget = list(d.forget_rows) if d.forget_rows is not None else readers.read_records(d.forget, default_role="forget")
    retain = list(d.retain_rows) if d.retain_rows is not None else (
        readers.read_records(d.retain, default_role="retain") if d.retain else [])
    probes = list(d.probe_rows) if d.probe_rows is not None else (
        readers.read_records(d.probes) if d.probes else [])
    return forget, retain, probes


def _compare_rows(forget, retain, probes, limit: int) -> list[Generation]:
    rows = []
    for source, recs in (("forget", forget), ("retain", retain), ("probe", probes)):
        for r in recs[:limit] if limit else recs:
            if r.kind == "text":
                continue
            split = source if source != "probe" else (r.role if r.role in ("forget", "retain") else "other")
            rows.append(Generation(prompt=r.prompt, split=split, source=source, reference=r.answer, text="",
                                   keys=r.keys))
    return rows


def prepare(cfg: RunConfig, emit, compare_limit: int = 256, dist: Dist | None = None) -> Session:
    """Load data and model, attach LoRA or keep a reference copy, tokenise once.

    The cyclic garbage collector is paused while loading and the survivors frozen afterwards: a
    full collection over the ~450k objects that loading creates holds the GIL for ~250 ms, which
    froze the GUI thread (benchmarks/: longest GUI stall 229 -> 87 ms with this change)."""
    gc.disable()
    try:
        return _prepare(cfg, emit, compare_limit, dist)
    finally:
        gc.freeze()
        gc.enable()


def _prepare(cfg: RunConfig, emit, compare_limit: int, dist: Dist | None) -> Session:
    method = REGISTRY[cfg.method.name]
    emit(LoadProgress("data", "Reading data", 0.0))
    forget_r, retain_r, probe_r = load_rows(cfg)
    holdout = [r for r in forget_r + retain_r if r.role == "holdout"]
    forget_r = [r for r in forget_r if r.role not in ("ignore", "holdout")]
    retain_r = [r for r in retain_r if r.role not in ("ignore", "holdout")]
    if not forget_r:
        raise ValueError("the forget set is empty")
    emit(LoadProgress("model", "Locating model", 0.05))
    model_dir = models.resolve_model_dir(cfg.model.path, lambda s, m, f: emit(LoadProgress(s, m, f)))
    dist = dist or Dist()
    device = dist.device or models.pick_device(cfg.model.device)
    dtype = models.pick_dtype(cfg.model.dtype, device)
    emit(LoadProgress("model", f"Loading {model_dir.name} on {device}", 0.9))
    if cfg.model.trust_remote_code:
        emit(LogMessage("warning", "trust_remote_code is ON: Python code shipped with this model folder will run; "
                                   "only enable it for models you trust"))
    tok = models.load_tokenizer(model_dir, cfg.model.trust_remote_code)
    model = models.load_model(model_dir, device=device, dtype=dtype, trust_remote_code=cfg.model.trust_remote_code)
    m = cfg.method
    ref_model = None
    if m.lora:
        model = models.attach_lora(model, m.lora_r, m.lora_alpha, m.lora_dropout, m.lora_targets)
    elif method.uses_reference(m.retain_loss) or cfg.keep_original:
        ref_model = copy.deepcopy(model).eval().requires_grad_(False)
    model.train()
    tkz = Tokenizing(tok, cfg.data.max_length)
    notes = [] if tkz.chat else ["the tokenizer has no chat template: using the 'Question:/Answer:' format"]
    forget, skipped = tkz.examples(forget_r)
    retain, skipped_r = tkz.examples(retain_r)
    for r, why in skipped + skipped_r:
        notes.append(f"skipped {r.source or repr(r.prompt[:40])}: {why}")
    if not forget:
        raise ValueError("no forget example has answer tokens left after tokenisation")
    idk = []
    if method.needs_idk:
        refusals = readers.read_refusals(resource(*IDK_FILE))
        rng = random.Random(cfg.seed)
        idk, _ = tkz.examples([e.record for e in forget], [rng.choice(refusals) for _ in forget])
    compare = _compare_rows([e.record for e in forget], [e.record for e in retain], probe_r, compare_limit)
    compare_prompts = [tkz.prompt_ids(Record(prompt=g.prompt, answer="")) for g in compare]
    pad = tok.pad_token_id
    for note in notes:
        emit(LogMessage("warning", note))
    return Session(
        cfg=cfg, model=model, tokenizer=tok, tkz=tkz, device=device,
        model_name=models.BUILTIN_NAME if cfg.model.path in ("default", "") else model_dir.name,
        ref_model=ref_model, forget=forget, retain=retain, idk=idk, compare=compare,
        compare_prompts=compare_prompts,
        probe_forget=ItemSet.build(forget[:PROBE_ITEMS], pad, device),
        probe_retain=ItemSet.build(retain[:PROBE_ITEMS], pad, device),
        eval_forget=ItemSet.build(forget[:compare_limit], pad, device),
        eval_retain=ItemSet.build(retain[:compare_limit], pad, device), notes=notes,
        dist=dist, holdout=holdout, autocast_dtype=models.autocast_dtype(cfg.autocast, device) if dtype == torch.float32 else None,
    )
