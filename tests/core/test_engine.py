"""Engine behaviour through its public entry point ``engine.run``."""
import queue
import threading

import pytest
import torch

from unlearn_gui.core import config as C
from unlearn_gui.core.train import engine
from unlearn_gui.core.common import events as E
from unlearn_gui.core.common.cancel import CancelToken


def make_cfg(model_dir, files, **method):
    m = dict(name="dipo", steps=4, batch_size=2, lr=1e-2)
    m.update(method)
    return C.RunConfig(model=C.ModelConfig(path=str(model_dir)),
                       data=C.DataConfig(forget=str(files["forget"]), retain=str(files["retain"]), probes=str(files["probes"])),
                       method=C.MethodConfig(**m), max_new_tokens=3, probe_every=2, probe_budget=0)


def kinds(events):
    return [type(e).__name__ for e in events]


@pytest.mark.parametrize("name", ["dipo", "npo", "simnpo", "graddiff", "ga", "idknll", "idkdpo"])
def test_every_method_completes_with_finite_losses_and_changes_weights(tiny_model_dir, qa_files, name):
    ev = []
    res = engine.run(make_cfg(tiny_model_dir, qa_files, name=name, steps=2), ev.append)
    assert res.status == "completed", res.traceback
    steps = [e for e in ev if isinstance(e, E.StepMetrics)]
    assert [s.step for s in steps] == [1, 2]
    assert all(torch.isfinite(torch.tensor([s.loss, s.forget_loss, s.retain_loss])).all() for s in steps)
    lora = [p for n, p in res.model.named_parameters() if "lora_B" in n]
    assert lora and any(p.abs().sum() > 0 for p in lora)  # LoRA B starts at zero: training moved it


def test_event_order_and_exactly_one_finish(tiny_model_dir, qa_files):
    ev = []
    engine.run(make_cfg(tiny_model_dir, qa_files), ev.append)
    k = kinds(ev)
    assert k[-1] == "RunFinished" and k.count("RunFinished") == 1
    # LoRA keeps the original weights (adapters off), so training starts first and the "before"
    # answers are generated from the original weights afterwards
    full = [i for i, e in enumerate(ev) if isinstance(e, E.Samples) and e.stage in ("before", "after")]
    assert k.index("RunStarted") < k.index("StepMetrics") < full[0]
    rows = next(e for e in ev if isinstance(e, E.Samples))  # the compare rows come first, unanswered
    assert rows.stage == "rows" and k.index("RunStarted") < k.index("Samples") and not any(g.text for g in rows.rows)
    samples = [ev[i] for i in full]
    assert [s.stage for s in samples] == ["before", "after"]
    assert {g.source for g in samples[0].rows} == {"forget", "retain", "probe"}
    evals = [e.step for e in ev if isinstance(e, E.EvalResult)]
    assert evals == [0, 2, 4]
    # a handful answered with the live probe: at step 0, then every 2nd probe (step 4, also the last)
    probe = [e for e in ev if isinstance(e, E.Samples) and e.stage == "probe"]
    assert [e.step for e in probe] == [0, 4]
    assert sorted(g.split for g in probe[0].rows) == ["forget", "forget", "retain", "retain"]
    # held-out probe rows are picked first (the data has one per side), then the sets' own rows
    assert sorted((g.split, g.source) for g in probe[0].rows if g.source == "probe") == [
        ("forget", "probe"), ("retain", "probe")]
    assert probe[-1].rows[0].text == next(r for r in samples[1].rows if r.prompt == probe[-1].rows[0].prompt).text
    # the step-0 baseline comes from the original weights (LoRA: adapters off), so it matches "before"
    before = {r.prompt: r.text for r in samples[0].rows}
    assert all(g.text == before[g.prompt] for g in probe[0].rows)
    assert ev.index(probe[0]) > k.index("StepMetrics")  # generated with the first probe answers, not before step 1
    fin = ev[-1]
    assert fin.status == "completed" and fin.steps_done == 4
    assert set(fin.summary["metrics"]["before"]) >= {"forget_logprob", "retain_logprob"}


def test_deferred_before_equals_the_original_model(tiny_model_dir, qa_files):
    """The "before" side measured after training (adapters disabled) is the untouched model's."""
    from unlearn_gui.core.model import models
    from unlearn_gui.core.evaluate.probes import probe_metrics
    from unlearn_gui.core.model.generate import generate

    ev = []
    res = engine.run(make_cfg(tiny_model_dir, qa_files, lr=5e-2), ev.append)
    assert res.status == "completed", res.traceback
    s = res.session
    fresh = models.load_model(tiny_model_dir)
    want = probe_metrics(fresh, s.eval_forget, s.eval_retain, s.autocast_dtype)
    for key in ("forget_logprob", "retain_logprob"):
        assert res.metrics_before[key] == pytest.approx(want[key], abs=1e-4)
        assert res.metrics_after[key] != pytest.approx(want[key], abs=1e-4)  # training did move it
    texts = generate(fresh, s.tokenizer, s.compare_prompts, max_new_tokens=3, stop_ids=s.tkz.stop_ids)
    assert res.before_texts == texts
    assert res.scorecard["before"]["model"] == "original"


def test_full_finetuning_without_a_copy_measures_before_first(tiny_model_dir, qa_files):
    ev = []
    res = engine.run(make_cfg(tiny_model_dir, qa_files, name="ga", lora=False, steps=2), ev.append)
    assert res.status == "completed", res.traceback
    assert res.session.ref_model is None
    k = kinds(ev)
    assert k.index("Samples") < k.index("StepMetrics")
    assert res.scorecard["before"]["model"] == "current"


def test_probe_clock_period_last_step_and_budget():
    # no budget: every 2nd step and the last one
    c, ran = engine.ProbeClock(every=2, budget=0, last=5), []
    for step in range(1, 6):
        if c.due(step, 10.0 * step):
            ran.append(step)
            c.record(1.0)
    assert ran == [2, 4, 5]
    # a probe costs 3 s, steps take 10 s, budget 10%: a due probe waits until 10% of the
    # non-probe time covers all probe time so far plus the next one
    c = engine.ProbeClock(every=1, budget=0.1, last=100, cost_s=3.0)
    ran, t = [], 0.0
    for step in range(1, 101):
        t += 10.0
        if c.due(step, t):
            ran.append(step)
            c.record(3.0)
            t += 3.0
    assert ran[0] == 3 and ran[-1] == 100  # 3 <= 0.1 * 30
    assert c.spent_s <= 0.1 * (t - c.spent_s) + 3.0  # at most one probe beyond the cap (the last)
    assert len(ran) >= 30  # and no fewer than the budget allows
    # off
    assert not engine.ProbeClock(every=0, budget=0.1, last=3).due(3, 1.0)


def test_live_probe_respects_its_budget(tiny_model_dir, qa_files):
    """With a tiny budget only the step-0 and last-step probes run; without one, every probe_every."""
    ev = []
    cfg = make_cfg(tiny_model_dir, qa_files, steps=6)
    engine.run(C.RunConfig(**{**cfg.__dict__, "probe_every": 1, "probe_budget": 1e-6, "scorecard": False}), ev.append)
    assert [e.step for e in ev if isinstance(e, E.EvalResult)] == [0, 6]


def test_full_finetuning_keeps_frozen_reference_and_moves_weights(tiny_model_dir, qa_files):
    res = engine.run(make_cfg(tiny_model_dir, qa_files, lora=False, steps=2), lambda e: None)
    assert res.status == "completed"
    s = res.session
    ref = dict(s.ref_model.named_parameters())
    moved = [n for n, p in s.model.named_parameters() if not torch.equal(p, ref[n])]
    assert moved and all(not p.requires_grad for p in s.ref_model.parameters())


def test_same_seed_same_result_different_seed_differs(tiny_model_dir, qa_files):
    def losses(seed):
        ev = []
        cfg = make_cfg(tiny_model_dir, qa_files, steps=3)
        engine.run(C.RunConfig(**{**cfg.__dict__, "seed": seed}), ev.append)
        return [e.loss for e in ev if isinstance(e, E.StepMetrics)]
    a, b = losses(1), losses(1)
    assert a == b
    assert losses(2) != a


def test_cancel_stops_within_one_step(tiny_model_dir, qa_files):
    cancel = CancelToken()
    ev = []

    def sink(e):
        ev.append(e)
        if isinstance(e, E.StepMetrics) and e.step == 2:
            cancel.cancel()
    res = engine.run(make_cfg(tiny_model_dir, qa_files, steps=50), sink, cancel)
    assert res.status == "cancelled" and ev[-1].status == "cancelled"
    assert res.steps_done == 2
    assert max(e.step for e in ev if isinstance(e, E.StepMetrics)) == 2
    # the model keeps what it learned; the after answers can still be produced on demand
    more = []
    res.finish_after(more.append)
    samples = [e for e in more if isinstance(e, E.Samples)]
    # the run was stopped before its deferred "before" work: both sides come now
    assert [e.stage for e in samples] == ["before", "after"] and res.metrics_before and res.metrics_after


def test_cancel_during_generation(tiny_model_dir, qa_files):
    cancel = CancelToken()
    cancel.cancel()
    res = engine.run(make_cfg(tiny_model_dir, qa_files), lambda e: None, cancel)
    assert res.status == "cancelled" and res.steps_done == 0


def test_failure_reports_message_and_traceback(tiny_model_dir, qa_files, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("synthetic failure")
    monkeypatch.setattr(engine, "_step_loss", boom)
    ev = []
    res = engine.run(make_cfg(tiny_model_dir, qa_files), ev.append)
    assert res.status == "failed" and "synthetic failure" in res.error
    assert "Traceback" in ev[-1].traceback and ev[-1].status == "failed"


def test_nan_loss_stops_and_says_why(tiny_model_dir, qa_files, monkeypatch):
    # A diverging run, made deterministic: from the third micro-batch on the loss is NaN. (lr 50
    # alone stopped overflowing the tiny model in fp32 with newer library versions.)
    real, calls = engine._step_loss, []

    def diverging(*a, **k):
        total, forget_term, retain_term = real(*a, **k)
        calls.append(1)
        return (total * float("nan"), forget_term, retain_term) if len(calls) >= 3 else (total, forget_term, retain_term)

    monkeypatch.setattr(engine, "_step_loss", diverging)
    ev = []
    cfg = make_cfg(tiny_model_dir, qa_files, name="npo", lr=50.0, steps=20, lora=False, max_grad_norm=0.0)
    res = engine.run(cfg, ev.append)
    assert res.status == "failed" and "the loss became nan" in res.error and "learning rate" in res.error
    assert res.steps_done < 20 and ev[-1].status == "failed"


def test_simulated_out_of_memory_is_reported_as_such(tiny_model_dir, qa_files, monkeypatch):
    def oom(*a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    monkeypatch.setattr(engine, "_step_loss", oom)
    res = engine.run(make_cfg(tiny_model_dir, qa_files), lambda e: None)
    assert res.status == "failed" and res.error.startswith("out of memory")


def test_invalid_config_fails_with_field_names(tiny_model_dir, qa_files):
    ev = []
    res = engine.run(make_cfg(tiny_model_dir, qa_files, lr=-1.0, batch_size=0), ev.append)
    assert res.status == "failed"
    assert "method.lr" in res.error and "method.batch_size" in res.error
    assert kinds(ev) == ["RunFinished"]


def test_spot_check_request_is_answered_between_steps(tiny_model_dir, qa_files):
    tasks = queue.Queue()
    tasks.put(engine.SpotCheckRequest(7, "Which school?"))
    ev = []
    res = engine.run(make_cfg(tiny_model_dir, qa_files, steps=2), ev.append, tasks=tasks)
    spots = [e for e in ev if isinstance(e, E.SpotCheckResult)]
    assert len(spots) == 1 and spots[0].request_id == 7 and spots[0].step == 0
    # before any training step the original and current model agree
    assert spots[0].original == spots[0].current
    orig, cur = res.spot_check("Which school?")
    assert isinstance(orig, str) and isinstance(cur, str)


def test_run_from_worker_thread(tiny_model_dir, qa_files):
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", engine.run(make_cfg(tiny_model_dir, qa_files, steps=1), lambda e: None)))
    t.start()
    t.join(120)
    assert out["r"].status == "completed"


def test_run_folder_layout(tiny_model_dir, qa_files, tmp_path):
    import json

    from unlearn_gui.core.runs.folder import load_run_folder

    cfg = make_cfg(tiny_model_dir, qa_files, steps=2)
    res = engine.run(C.RunConfig(**{**cfg.__dict__, "out_dir": str(tmp_path / "run")}), lambda e: None)
    assert res.status == "completed"
    run = load_run_folder(tmp_path / "run")
    assert [r["step"] for r in run["metrics"]] == [0, 1, 2]  # step 0: the probe before training
    assert {"step", "forget_logprob", "retain_logprob"} <= set(run["metrics"][0])
    assert {"step", "loss", "forget_loss", "retain_loss", "lr", "grad_norm", "elapsed_s"} <= set(run["metrics"][1])
    s = run["summary"]
    assert s["status"] == "completed" and s["method"] == "dipo" and s["steps"] == 2
    assert {"prompt", "split", "reference", "before", "after"} <= set(s["generations"][0])
    assert run["config"]["method"]["beta"] == 0.1  # resolved from the preset
    assert (tmp_path / "run" / "adapter" / "adapter_config.json").is_file()
    json.loads((tmp_path / "run" / "config.json").read_text())


@pytest.mark.parametrize("name,lora", [("dipo", False), ("npo", True)])
def test_answer_only_logits_train_exactly_like_full_logits(tiny_model_dir, qa_files, monkeypatch, name, lora):
    """Training projects only answer positions onto the vocabulary (core.model.answer_logits); the losses
    and the trained weights match the plain full-logits forward."""
    def train(full: bool):
        if full:
            monkeypatch.setenv("UNLEARN_GUI_FULL_LOGITS", "1")
        else:
            monkeypatch.delenv("UNLEARN_GUI_FULL_LOGITS", raising=False)
        ev = []
        cfg = make_cfg(tiny_model_dir, qa_files, name=name, lora=lora, steps=3, retain_loss="kl")
        res = engine.run(C.RunConfig(**{**cfg.__dict__, "scorecard": False, "probe_every": 0}), ev.append)
        assert res.status == "completed", res.traceback
        assert (res.session.compact_parts is None) == full
        losses = [x for e in ev if isinstance(e, E.StepMetrics) for x in (e.loss, e.forget_loss, e.retain_loss)]
        return losses, {n: p.detach().clone() for n, p in res.model.named_parameters() if p.requires_grad}

    (l_c, w_c), (l_f, w_f) = train(False), train(True)
    assert l_c == pytest.approx(l_f, rel=1e-4, abs=1e-6)
    for n in w_f:
        torch.testing.assert_close(w_c[n], w_f[n], atol=1e-5, rtol=1e-4)
