"""Every hyperparameter the method panel shows: label, widget kind, range and a one-sentence help.

The tooltip adds the paper's value (``Method.paper``) and the shipped preset (``Method.preset``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QSpinBox, QWidget


@dataclass(frozen=True)
class ParamSpec:
    name: str
    label: str
    kind: str  # float | sci | int | choice
    help: str
    lo: float = 0.0
    hi: float = 1e9
    step: float = 1.0
    decimals: int = 3
    choices: tuple[str, ...] = ()


_S = ParamSpec
SPECS: dict[str, ParamSpec] = {s.name: s for s in (
    _S("topk", "Top-k (k)", "int", "DiPO: how many of the original model's most likely tokens (plus the true one) "
       "count as memorised at each answer position.", 1, 1000),
    _S("lam", "Logit shift (λ)", "float", "DiPO: how far the memorised logits are raised for the memory "
       "distribution and lowered for the forgetting distribution.", 0, 100, 0.5, 2),
    _S("beta", "Beta (β)", "float", "Inverse temperature of the preference loss: larger values saturate sooner "
       "and keep the model closer to the original.", 0.001, 100, 0.05, 3),
    _S("reduction", "Reduction", "choice", "DiPO: sum the per-token margins over the answer (TDPO-style) or "
       "average them, which changes what beta means.", choices=("sum", "mean")),
    _S("delta", "Margin (δ)", "float", "SimNPO: reward margin subtracted inside the sigmoid (0 disables it).",
       -100, 100, 0.1, 2),
    _S("gamma", "Forget weight (γ)", "float", "Weight of the forget term in the total loss.", 0, 100, 0.125, 3),
    _S("alpha", "Retain weight (α)", "float", "Weight of the retain term, which keeps answers on the retain set "
       "intact.", 0, 100, 0.25, 3),
    _S("retain_loss", "Retain loss", "choice", "How the retain set is protected: nll trains on its answers, kl "
       "keeps the output close to the original model's, none switches it off.", choices=("nll", "kl", "none")),
    _S("lr", "Learning rate", "sci", "AdamW step size: too high collapses the model, too low changes nothing.",
       1e-8, 0.5, 1e-5),
    _S("steps", "Steps", "int", "Optimizer steps; each sees batch size × accumulation forget examples.", 1, 100000),
    _S("batch_size", "Batch size", "int", "Forget examples per micro-batch, each paired with a random retain "
       "example.", 1, 1024),
    _S("grad_accum", "Grad. accumulation", "int", "Micro-batches whose gradients are added up before each "
       "optimizer step.", 1, 1024),
    _S("warmup_steps", "Warmup steps", "int", "Steps over which the learning rate ramps up from zero.", 0, 100000),
    _S("weight_decay", "Weight decay", "sci", "AdamW weight decay on the trained parameters.", 0, 1, 0.01),
    _S("max_grad_norm", "Gradient clipping", "float", "Gradients are rescaled to at most this norm (0 = no "
       "clipping).", 0, 1000, 0.5, 2),
    _S("lora_r", "LoRA rank", "int", "Rank of the LoRA adapters: more capacity, more memory.", 1, 1024),
    _S("lora_alpha", "LoRA alpha", "int", "LoRA scaling: the adapter update is multiplied by alpha / rank.",
       1, 4096),
    _S("lora_dropout", "LoRA dropout", "float", "Dropout on the LoRA branch during training.", 0, 0.9, 0.05, 2),
    _S("max_length", "Max length", "int", "Prompt plus answer is cut to this many tokens.", 8, 32768, 16),
    _S("seed", "Seed", "int", "Random seed for batching and adapter initialisation, so a run can be repeated "
       "exactly.", 0, 2**31 - 1),
    _S("probe_every", "Probe every", "int", "Measure the forget and retain answer log-prob on the probe items every "
       "N steps and at the last step (0 = only before the first step).", 0, 100000),
    _S("probe_budget", "Probe time share", "float", "Most of the training time the live probes may use (0.2 = "
       "20%): a due probe waits until it fits, so the curve gets fewer points on slow machines; 0 = no cap.",
       0, 1, 0.05, 2),
    _S("probe_samples_every", "Probe answers", "int", "Generate answers for a handful of probe prompts (2 forget, "
       "2 retain) at every Nth live probe; they show in the comparison while training (0 = off).", 0, 1000),
    _S("sample_every", "Answers every", "int", "Regenerate the comparison answers every N steps (0 = only before "
       "and after; each costs about as much as a few steps).", 0, 100000),
    _S("max_new_tokens", "Answer length", "int", "Maximum new tokens of generated answers (comparison and "
       "spot-checks).", 1, 4096),
    _S("stop_forget_below", "Stop when forget Prob <", "float", "Stop rule: stop at the first live probe where the "
       "forget answer probability is below this (and retain above the next value) and keep that step; if it is "
       "never met, the probe step that came closest is kept. Off = train all steps.", 0, 1, 0.01, 3),
    _S("stop_retain_above", "… and retain Prob >", "float", "Stop rule: the retain answer probability must stay "
       "above this for the rule to stop the run (off = only the forget condition).", 0, 0.999, 0.05, 3),
)}


def fmt_value(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def tooltip(spec: ParamSpec, paper: dict, preset: dict) -> str:
    parts = [f"<b>{spec.label}</b>: {spec.help}"]
    bits = []
    if spec.name in paper:
        bits.append(f"paper: <b>{fmt_value(paper[spec.name])}</b>")
    if spec.name in preset:
        bits.append(f"preset: {fmt_value(preset[spec.name])}")
    if bits:
        parts.append(" · ".join(bits))
    return "<br>".join(parts)


class SciSpinBox(QDoubleSpinBox):
    """A spin box that shows and accepts scientific notation (1e-4), stepping by factors of ~2."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDecimals(12)

    def textFromValue(self, value: float) -> str:  # noqa: N802
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        try:
            float(text)
            return QValidator.State.Acceptable, text, pos
        except ValueError:
            ok = all(c in "0123456789.eE-+" for c in text)
            return (QValidator.State.Intermediate if ok else QValidator.State.Invalid), text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802
        v = self.value() or self.minimum() or 1e-6
        self.setValue(v * (2.0 ** steps) if v > 0 else math.copysign(1e-6, steps))


def make_widget(spec: ParamSpec) -> QWidget:
    if spec.kind == "choice":
        w = QComboBox()
        w.addItems(list(spec.choices))
    elif spec.kind == "int":
        w = QSpinBox()
        w.setRange(int(spec.lo), int(min(spec.hi, 2**31 - 1)))
        w.setSingleStep(int(spec.step))
    else:
        w = SciSpinBox() if spec.kind == "sci" else QDoubleSpinBox()
        if spec.kind != "sci":
            w.setDecimals(spec.decimals)
            w.setSingleStep(spec.step)
        w.setRange(spec.lo, spec.hi)
    w.setObjectName(spec.name)
    return w


def get_value(w: QWidget):
    if isinstance(w, QComboBox):
        return w.currentText()
    return w.value()


def set_value(w: QWidget, value) -> None:
    if isinstance(w, QComboBox):
        i = w.findText(str(value))
        if i >= 0:
            w.setCurrentIndex(i)
    elif isinstance(w, QSpinBox):
        w.setValue(int(value))
    else:
        w.setValue(float(value))


def changed_signal(w: QWidget):
    return w.currentIndexChanged if isinstance(w, QComboBox) else w.valueChanged
