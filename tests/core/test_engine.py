"""Engine behaviour through its public entry point ``engine.run``."""
import queue
import threading

import pytest
import torch

from unlearn_gui.core import config as C
from unlearn_gui.core import engine
from unlearn_gui.core import events as E
from unlearn_gui.core.cancel import CancelToken


def make_cfg(model_dir, files, **method):
    m = dict(name="dipo", steps=4, batch_size=2, lr=1e-2)
    m.update(method)
    return C.RunConfig(model=C.ModelConfig(path=str(model_dir)),
                       data=C.DataConfig(forget=str(files["forget"]), retain=str(files["retain"]), probes=str(files["probes"])),
                       method=C.MethodConfig(**m), max_new_tokens=3, probe_every=2)


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
    assert k.index("RunStarted") < k.index("Samples") < k.index("StepMetrics")
    samples = [e for e in ev if isinstance(e, E.Samples)]
    assert [s.stage for s in samples] == ["before", "after"]
    assert {g.source for g in samples[0].rows} == {"forget", "retain", "probe"}
    evals = [e.step for e in ev if isinstance(e, E.EvalResult)]
    assert evals == [0, 2, 4]
    fin = ev[-1]
    assert fin.status == "completed" and fin.steps_done == 4
    assert set(fin.summary["metrics"]["before"]) >= {"forget_logprob", "retain_logprob"}


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
    after = [e for e in more if isinstance(e, E.Samples)]
    assert len(after) == 1 and after[0].stage == "after" and res.metrics_after


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


def test_nan_loss_stops_and_says_why(tiny_model_dir, qa_files):
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

    from unlearn_gui.core.runs import load_run_folder

    cfg = make_cfg(tiny_model_dir, qa_files, steps=2)
    res = engine.run(C.RunConfig(**{**cfg.__dict__, "out_dir": str(tmp_path / "run")}), lambda e: None)
    assert res.status == "completed"
    run = load_run_folder(tmp_path / "run")
    assert [r["step"] for r in run["metrics"]] == [1, 2]
    assert {"step", "loss", "forget_loss", "retain_loss", "lr", "grad_norm", "elapsed_s"} <= set(run["metrics"][0])
    s = run["summary"]
    assert s["status"] == "completed" and s["method"] == "dipo" and s["steps"] == 2
    assert {"prompt", "split", "reference", "before", "after"} <= set(s["generations"][0])
    assert run["config"]["method"]["beta"] == 0.1  # resolved from the preset
    assert (tmp_path / "run" / "adapter" / "adapter_config.json").is_file()
    json.loads((tmp_path / "run" / "config.json").read_text())
