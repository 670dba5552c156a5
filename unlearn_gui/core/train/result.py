"""What a run leaves behind: status, numbers, texts, and the live model for comparing and saving."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from .. import config as config_mod
from ..common.cancel import CancelToken
from ..evaluate.probes import known_fact_retention
from ..runs.folder import RunLog, write_run_folder


@dataclass
class RunResult:
    status: str
    config: config_mod.RunConfig
    session: object = None  # core.train.session.Session once the model is loaded
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
    scorecard: dict = field(default_factory=dict)  # {"before": ..., "after": ...} (core.evaluate.scorecard.measure)
    tokenview: list = field(default_factory=list)  # token probabilities for a few forget items
    _tv_before: list = field(default_factory=list, repr=False)
    before_done: bool = False
    watch: object = None  # core.train.watch.Watch: collapse alarms and the stop rule's kept step

    @property
    def model(self):
        return None if self.session is None else self.session.model

    @property
    def local_rows(self) -> int:
        """Forget rows this process trains on per micro-batch: its shard of the global batch
        (``Dist.shard`` of ``PairSampler``'s ``min(batch_size, forget rows)``)."""
        s = self.session
        if s is None:
            return 0
        return len(s.dist.shard(list(range(min(self.config.method.batch_size, len(s.forget))))))

    @property
    def tokenizer(self):
        return None if self.session is None else self.session.tokenizer

    def measure_before(self, on_event, cancel: CancelToken | None = None) -> None:
        """The "before" answers, numbers and scorecard, once. Before training they come from the
        model itself; after any step from the original weights (LoRA adapters disabled, or the
        frozen copy), which is what lets the engine start training at once (first step in seconds
        instead of after minutes of generation on a CPU)."""
        if self.before_done:
            return
        s = self.session
        original = self.steps_done > 0
        self.before_texts = s.generations(on_event, "before", 0, cancel, original=original)
        self.metrics_before = s.measure(self.before_texts, original=original)
        if self.config.scorecard and s.dist.is_main:
            self.measure_scorecard("before", on_event, cancel, original=original)
        self.before_done = True

    def finish_after(self, on_event, cancel: CancelToken | None = None) -> None:
        """Generate the "after" answers and numbers (the engine calls it; the GUI calls it again in a
        worker after a Stop, so a cancelled run can still be compared). The "before" side is
        measured first if training started before it."""
        s = self.session
        self.measure_before(on_event, cancel)
        self.after_texts = s.generations(on_event, "after", self.steps_done, cancel)
        self.metrics_after = s.measure(self.after_texts)
        self.known_facts = known_fact_retention(s.compare, self.before_texts, self.after_texts)
        if self.config.scorecard and s.dist.is_main:
            self.measure_scorecard("after", on_event, cancel)
        if self.log is not None:
            self.log.close()

    # token view saved with the run: the probe-set size, so a reopened demo run shows every forget
    # fact (16 items cost ~5-7 s per side on the built-in model on one CPU thread; the GUI measures
    # any other row on demand while the model is in memory)
    TOKENVIEW_ITEMS = 16

    def measure_scorecard(self, stage: str, on_event, cancel: CancelToken | None = None,
                          original: bool = False) -> None:
        """TOFU/MUSE-style scorecard of the current model, or of the original weights
        (``original=True``, for a "before" measured after training); the "before" stage also
        records the token view's "before" side."""
        from ..evaluate import scorecard, tokenview
        from ..common.events import LogMessage

        s = self.session
        texts = self.before_texts if stage == "before" else self.after_texts
        self.scorecard[stage] = scorecard.measure(s, original=original, texts=texts, cancel=cancel)
        records = [e.record for e in s.forget[: self.TOKENVIEW_ITEMS]]
        if stage == "before":
            self._tv_before = tokenview.token_probabilities_many(s, records, original=original)
        else:
            self.tokenview = tokenview.rows(s, records, before=self._tv_before or None)
        on_event(LogMessage("info", f"scorecard ({stage}) measured in {self.scorecard[stage].get('seconds', 0):.1f}s"))

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
            "versions": _versions(),
            "generations": gens,
            "notes": [] if self.session is None else list(self.session.notes),
            **(self.watch.summary() if self.watch is not None else {"alarms": [], "stop_rule": None}),
        }

    def save_model(self, out: str | Path, *, merged: bool = False) -> Path:
        from ..model.models import save_model

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
        from ..runs import report
        from ..evaluate import tokenview

        if self.scorecard.get("before") and self.scorecard.get("after"):
            report.write_scorecard(out, self.scorecard["before"], self.scorecard["after"])
        if self.tokenview:
            tokenview.write_tokenview(out, self.tokenview)
        report.write_report(out)
        return out


def _versions() -> dict:
    from ..runs.report import library_versions

    return library_versions()


def fmt(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"
