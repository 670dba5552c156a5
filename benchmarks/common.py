"""Shared benchmark pieces: the demo setup, a bare PyTorch training loop, and small statistics.

The bare loop is the yardstick for the engine: plain PyTorch doing the engine's forward, backward
and optimizer maths on the same batches (``core.data.collate`` over ``PairSampler`` indices, the
method's own ``forget_loss`` through ``LossInputs``), with nothing else around it: no events, no
probes, no logging. It loads the model the same way and in the same RNG order as
``session.prepare`` after ``engine.seed_everything``, so its LoRA initialisation, batches and
losses match the engine's step for step (the benchmark checks that).
"""
from __future__ import annotations

import copy
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch

from unlearn_gui.core import config as C
from unlearn_gui.core.model import answer_logits as answer_logits_mod
from unlearn_gui.core.train import engine
from unlearn_gui.core.model import models
from unlearn_gui.core.data.tokenize import PairSampler, Tokenizing, collate
from unlearn_gui.core.methods import REGISTRY, LossInputs, kl_ref_theta, nll_mean
from unlearn_gui.core.common.paths import DEMO_FORGET, DEMO_PROBES, DEMO_RETAIN, resource
from unlearn_gui.core.train.session import load_rows

ROOT = Path(__file__).resolve().parents[1]


def demo_config(model: str = "default", method: str = "dipo", lora: bool = True, **top) -> C.RunConfig:
    """The GUI's demo: built-in data, the method's preset (batch 4, max_length 256), resolved."""
    cfg = C.RunConfig(
        model=C.ModelConfig(path=model),
        data=C.DataConfig(forget=str(resource(*DEMO_FORGET)), retain=str(resource(*DEMO_RETAIN)),
                          probes=str(resource(*DEMO_PROBES))),
        method=C.MethodConfig(name=method, lora=lora), **top)
    return C.resolve(cfg)


def with_method(cfg: C.RunConfig, **method) -> C.RunConfig:
    return replace(cfg, method=replace(cfg.method, **method))


class Bare:
    """Plain-PyTorch unlearning steps with the engine's maths (methods without IdK targets)."""

    def __init__(self, cfg: C.RunConfig, train: bool = True, answer_logits: bool = True):
        """``train=False`` loads the plain model only: no adapter and no reference copy.
        ``answer_logits``: project only answer positions onto the vocabulary, as the engine does
        (``core.model.answer_logits``); False = the plain ``model(...).logits`` forward."""
        self.cfg, self.hp = cfg, cfg.method
        self.method = REGISTRY[cfg.method.name]
        if self.method.needs_idk:
            raise ValueError("the bare loop covers methods without IdK targets")
        engine.seed_everything(cfg.seed)  # same RNG order as engine.run -> identical LoRA init
        forget_r, retain_r, _ = load_rows(cfg)
        forget_r = [r for r in forget_r if r.role not in ("ignore", "holdout")]
        model_dir = models.resolve_model_dir(cfg.model.path)
        self.device = models.pick_device(cfg.model.device)
        dtype = models.pick_dtype(cfg.model.dtype, self.device)
        self.tok = models.load_tokenizer(model_dir)
        model = models.load_model(model_dir, device=self.device, dtype=dtype)
        self.ref = None
        if train and self.hp.lora:
            model = models.attach_lora(model, self.hp.lora_r, self.hp.lora_alpha, self.hp.lora_dropout,
                                       self.hp.lora_targets)
        elif train and self.method.uses_reference(self.hp.retain_loss):
            self.ref = copy.deepcopy(model).eval().requires_grad_(False)
        self.model = model.train()
        self.parts = answer_logits_mod.head_parts(model) if answer_logits else None
        tkz = Tokenizing(self.tok, cfg.data.max_length)
        self.forget, _ = tkz.examples(forget_r)
        self.retain, _ = tkz.examples(retain_r)
        self.amp = models.autocast_dtype(cfg.autocast, self.device) if dtype == torch.float32 else None
        self.params = [p for p in model.parameters() if p.requires_grad]
        fused = self.device.split(":")[0] in ("cpu", "cuda")  # as engine.train builds its optimizer
        self.opt = torch.optim.AdamW(self.params, lr=self.hp.lr, weight_decay=self.hp.weight_decay, fused=fused or None)
        self.sampler = PairSampler(len(self.forget), len(self.retain), self.hp.batch_size, cfg.seed)
        self.use_retain = self.hp.retain_loss != "none" and self.hp.alpha > 0

    def _logits(self, model, batch: dict) -> torch.Tensor:
        if "answer_idx" in batch:
            return answer_logits_mod.compact_logits(model, batch)
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits

    @torch.no_grad()
    def ref_logits(self, batch: dict) -> torch.Tensor:
        if self.ref is None:
            with self.model.disable_adapter():
                return self._logits(self.model, batch)
        return self._logits(self.ref, batch)

    def next_batch(self) -> tuple[dict, int]:
        """The engine's micro-batch: forget rows then retain rows, one padded batch."""
        fidx, ridx = self.sampler.next()
        rows = [self.forget[i] for i in fidx] + ([self.retain[i] for i in ridx] if self.use_retain and ridx else [])
        return {k: v.to(self.device) for k, v in collate(rows, self.tok.pad_token_id).items()}, len(fidx)

    def loss(self, batch: dict, nf: int) -> torch.Tensor:
        hp = self.hp
        if self.parts is not None:
            batch = answer_logits_mod.compact_batch(batch)
            self.proj_tokens = batch["answer_idx"].numel()
        else:
            self.proj_tokens = batch["input_ids"].numel()
        logits = self._logits(self.model, batch)
        forget = {k: v[:nf] for k, v in batch.items()}
        x = LossInputs(model=self.model, forget=forget, hp=hp, ref_logits=self.ref_logits)
        x.cache[id(forget)] = logits[:nf]
        total = hp.gamma * self.method.forget_loss(x)
        if batch["input_ids"].shape[0] > nf:
            labels = batch["labels"][nf:]
            total = total + hp.alpha * (nll_mean(logits[nf:], labels) if hp.retain_loss == "nll" else
                                        kl_ref_theta(logits[nf:], self.ref_logits({k: v[nf:] for k, v in batch.items()}),
                                                     labels))
        return total

    def step(self) -> tuple[float, float, int]:
        """One optimizer step; returns (seconds, loss, tokens in the trained forward)."""
        t0 = time.perf_counter()
        batch, nf = self.next_batch()
        self.opt.zero_grad(set_to_none=True)
        with torch.autocast(self.device.split(":")[0], dtype=self.amp or torch.bfloat16, enabled=self.amp is not None):
            loss = self.loss(batch, nf)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, self.hp.max_grad_norm if self.hp.max_grad_norm > 0 else float("inf"))
        self.opt.step()
        value = loss.item()  # also synchronises an accelerator before the clock stops
        return time.perf_counter() - t0, value, batch["input_ids"].numel()

    @torch.no_grad()
    def forward_only(self) -> float:
        """The same batch through the model without gradients or an optimizer (the memory baseline)."""
        t0 = time.perf_counter()
        batch, _ = self.next_batch()
        with torch.autocast(self.device.split(":")[0], dtype=self.amp or torch.bfloat16, enabled=self.amp is not None):
            self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float().sum().item()
        return time.perf_counter() - t0

    def n_params(self) -> int:
        """Parameters of the model itself (LoRA adapters excluded)."""
        return sum(p.numel() for n, p in self.model.named_parameters() if "lora_" not in n)

    def n_head_params(self) -> int:
        """Parameters of the vocabulary projection (tied to the embedding in SmolLM2)."""
        base = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
        return base.get_output_embeddings().weight.numel()

    def close(self) -> None:
        self.model = self.ref = self.opt = None


def steps_per_s(times: list[float]) -> float:
    return len(times) / sum(times) if times and sum(times) > 0 else float("nan")


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def max_rel_diff(a: list[float], b: list[float]) -> float:
    pairs = list(zip(a, b))
    return max((abs(x - y) / max(abs(x), abs(y), 1e-12) for x, y in pairs), default=float("nan"))


def rnd(x, n: int = 3):
    return round(float(x), n) if x is not None else None
