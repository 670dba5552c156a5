"""The watch in the engine (tiny model): the stop rule stops early or restores the kept step's
weights, and a collapsing run raises the retain alarm, in the events and in the run folder."""
import json

import pytest
import torch

from unlearn_gui.core import config as C
from unlearn_gui.core.train import engine
from unlearn_gui.core.common import events as E
from unlearn_gui.core.train import watch as W


def make_cfg(model_dir, files, out=None, top=None, **method):
    m = dict(name="dipo", steps=4, batch_size=2, lr=1e-2)
    m.update(method)
    return C.RunConfig(model=C.ModelConfig(path=str(model_dir), device="cpu"),
                       data=C.DataConfig(forget=str(files["forget"]), retain=str(files["retain"])),
                       method=C.MethodConfig(**m), max_new_tokens=3, probe_every=1, probe_budget=0.0,
                       scorecard=False, out_dir=None if out is None else str(out), **(top or {}))


def test_stop_rule_met_stops_early_and_keeps_that_step(tiny_model_dir, qa_files, tmp_path):
    ev = []
    # the tiny model's forget Prob is ~0.002: "< 0.999 and retain > 0" holds at the first probe
    cfg = make_cfg(tiny_model_dir, qa_files, out=tmp_path / "run", steps=6,
                   top=dict(stop_forget_below=0.999, stop_retain_above=0.0))
    res = engine.run(cfg, ev.append)
    assert res.status == "completed", res.traceback
    assert [e.step for e in ev if isinstance(e, E.StepMetrics)] == [1]
    assert ev[-1].steps_done == 1
    assert any(isinstance(e, E.LogMessage) and "stop rule met at step 1" in e.message for e in ev)
    # answers still come (the live probe's handful at step 0 aside)
    assert [s.stage for s in ev if isinstance(s, E.Samples) and s.stage not in ("probe", "rows")] == ["before", "after"]
    rule = json.loads((tmp_path / "run" / "summary.json").read_text())["stop_rule"]
    assert rule == {"forget_below": 0.999, "retain_above": 0.0, "met_at": 1, "kept_step": 1, "restored": False}


@pytest.mark.parametrize("lora", [True, False])
def test_stop_rule_never_met_restores_the_best_steps_weights(tiny_model_dir, qa_files, tmp_path, monkeypatch, lora):
    """The margin is forced to favour step 1 (never met): after 4 steps the model holds step 1's
    trainable weights (LoRA: adapters; full fine-tuning: every weight), also in the saved adapter."""
    monkeypatch.setattr(W.StopRule, "margin", lambda self, ev: -float(ev.step))
    states = {}
    real_probe = W.Watch.probe

    def recording_probe(self, ev, model, emit):
        states[ev.step] = W.trainable_state(model)
        return real_probe(self, ev, model, emit)

    monkeypatch.setattr(W.Watch, "probe", recording_probe)
    out = tmp_path / "run"
    res = engine.run(make_cfg(tiny_model_dir, qa_files, out=out, lora=lora, name="ga", lr=5e-2,
                              top=dict(stop_forget_below=0.5)), lambda e: None)
    assert res.status == "completed", res.traceback
    assert res.steps_done == 4 and sorted(states) == [1, 2, 3, 4]
    assert res.watch.kept_step == 1 and res.watch.restored
    now = W.trainable_state(res.model)
    assert set(now) == set(states[1]) and (all("lora_" in n for n in now) if lora else len(now) > 10)
    assert all(torch.equal(now[n], states[1][n]) for n in now)
    assert any(not torch.equal(now[n], states[4][n]) for n in now)  # step 4 really differed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stop_rule"]["kept_step"] == 1 and summary["stop_rule"]["restored"] is True
    if lora:
        from safetensors.torch import load_file

        saved = load_file(out / "adapter" / "adapter_model.safetensors")
        kept = {n.replace(".default", ""): t for n, t in states[1].items()}
        assert set(saved) == set(kept) and all(torch.equal(saved[n], kept[n]) for n in saved)


def test_huge_learning_rate_raises_the_retain_alarm(tiny_model_dir, qa_files, tmp_path):
    """Gradient ascent on every weight at lr 0.05 wrecks the tiny model: retain log-prob falls by
    about 3 nats (from -6.0), past the 1-nat default."""
    ev = []
    out = tmp_path / "run"
    res = engine.run(make_cfg(tiny_model_dir, qa_files, out=out, name="ga", lr=5e-2, lora=False), ev.append)
    assert res.status == "completed", res.traceback
    alarms = [e for e in ev if isinstance(e, E.Alarm) and e.kind == "retain_drop"]
    assert len(alarms) == 1 and "nats below its start" in alarms[0].message
    probe = next(e for e in ev if isinstance(e, E.EvalResult) and e.step == alarms[0].step)
    assert ev.index(probe) < ev.index(alarms[0])  # the alarm follows the probe that raised it
    summary = json.loads((out / "summary.json").read_text())
    assert "retain_drop" in [a["kind"] for a in summary["alarms"]]
    logged = [json.loads(x) for x in (out / "alarms.jsonl").read_text().splitlines()]
    assert "retain_drop" in [a["kind"] for a in logged]


def test_gentle_run_raises_no_retain_alarm(tiny_model_dir, qa_files):
    ev = []
    engine.run(make_cfg(tiny_model_dir, qa_files, steps=2, lr=1e-4), ev.append)
    assert not [e for e in ev if isinstance(e, E.Alarm) and e.kind == "retain_drop"]


def test_report_names_the_alarms_and_the_stop_rule(tmp_path):
    from unlearn_gui.core.runs.report import write_report
    from unlearn_gui.core.runs.folder import write_run_folder

    summary = {"status": "completed", "method": "ga", "steps": 4, "planned_steps": 4, "generations": [],
               "alarms": [{"step": 3, "kind": "retain_drop", "message": "retain answers are collapsing"}],
               "stop_rule": {"forget_below": 0.1, "retain_above": 0.5, "met_at": None, "kept_step": 2,
                             "restored": True}}
    write_run_folder(tmp_path, {"seed": 0, "method": {"name": "ga"}}, [], summary)
    html = write_report(tmp_path).read_text()
    assert "Collapse alarms during the run (1)" in html
    assert "collapse alarm at step 3: retain answers are collapsing" in html
    assert "never met; kept step 2, the closest to it (its weights were restored)" in html
