"""What a run leaves behind: status, numbers, texts, and the live model for comparing and saving."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from . import config as config_mod
from .cancel import CancelToken
from .evaluate import known_fact_retention
from .runs import RunLog, write_run_folder


@dataclass
class RunResult:
    status: str
    config: config_mod.RunConfig
    session: object = None  # core.session.Session once the model is loaded
    log: RunLog | None = None
    steps_done: int = 0
    wall_s: float = 0.0
    error: str = ""
    traceback: str = ""
    before_texts: list[str] = field(default_factory=list)
    after_texts: list[str] = field(default_factory=list)
    metrics_before: dict = field(default_factory=dict)
    metrics_after: dict = field(default_factory=dict)
    known_facts: dict = field(default_factory=dict)
    local_rows: int = 0  # forget rows this process trained on in its last micro-batch (its shard)

    @property
    def model(self):
        return None if self.session is None else self.session.model

    @property
    def tokenizer(self):
        return None if self.session is None else self.session.tokenizer

    def finish_after(self, on_event, cancel: CancelToken | None = None) -> None:
        """Generate the "after" answers and numbers (the engine calls it; the GUI calls it again in a
        worker after a Stop, so a cancelled run can still be compared)."""
        s = self.session
        self.after_texts = s.generations(on_event, "after", self.steps_done, cancel)
        self.metrics_after = s.measure(self.after_texts)
        self.known_facts = known_fact_retention(s.compare, self.before_texts, self.after_texts)
        if self.log is not None:
            self.log.close()

    def spot_check(self, prompt: str, cancel: CancelToken | None = None) -> tuple[str, str]:
        """(original model's answer, current model's answer) for any prompt, greedy."""
        s = self.session
        return s.answer([prompt], original=True, cancel=cancel)[0], s.answer([prompt], original=False, cancel=cancel)[0]

    def summary(self) -> dict:
        cfg = self.config
        gens = []
        if self.session is not None:
            for i, g in enumerate(self.session.compare):
                gens.append({"prompt": g.prompt, "split": g.split, "source": g.source, "reference": g.reference,
                             "before": self.before_texts[i] if i < len(self.before_texts) else None,
                             "after": self.after_texts[i] if i < len(self.after_texts) else None,
                             "keys": "|".join(g.keys)})
        return {
            "status": self.status, "method": cfg.method.name, "steps": self.steps_done,
            "planned_steps": cfg.method.steps, "wall_s": round(self.wall_s, 3),
            "model": None if self.session is None else self.session.model_name,
            "lora": cfg.method.lora, "seed": cfg.seed, "error": self.error,
            "metrics": {"before": self.metrics_before, "after": self.metrics_after},
            "known_facts": self.known_facts,
            "generations": gens,
            "notes": [] if self.session is None else list(self.session.notes),
        }

    def save_model(self, out: str | Path, *, merged: bool = False) -> Path:
        from .models import save_model

        return save_model(self.model, self.tokenizer, Path(out), merged=merged)

    def save_run_folder(self, out: str | Path, *, wall_s: float | None = None, save_model: bool = True) -> Path:
        """Write the same layout as the headless run (config, metrics, summary, model/adapter)."""
        if wall_s is not None:
            self.wall_s = wall_s
        if self.log is not None:
            self.log.close()
        rows = [] if self.log is None else self.log.rows
        out = write_run_folder(out, config_mod.to_dict(self.config), rows, self.summary())
        if save_model and self.model is not None:
            lora = hasattr(self.model, "peft_config")
            self.save_model(out / ("adapter" if lora else "model"), merged=False)
        return out


def fmt(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"
