"""core.train.watch on hand-made event sequences: collapse alarms and the two-sided stop rule."""
import math

import pytest
import torch

from unlearn_gui.core import config as C
from unlearn_gui.core.train import watch as W
from unlearn_gui.core.common.events import Alarm, EvalResult, Generation, LogMessage, Samples


def ev(step, retain_lp=-1.0, forget_prob=0.5, retain_prob=0.5):
    return EvalResult(step=step, forget_logprob=-1.0, retain_logprob=retain_lp, forget_prob=forget_prob,
                      retain_prob=retain_prob, forget_em=0.0, retain_em=0.0)


def samples(stage, step, texts, split="retain"):
    return Samples(stage, step, tuple(Generation(f"q{i}", split, "retain", "ref", t) for i, t in enumerate(texts)))


@pytest.mark.parametrize("text, kind", [
    ("", "empty"), ("   \n", "empty"),
    ("Paris Paris Paris Paris Paris Paris", "repetition"),
    ("It is a school. It is a school. It is a school. It is a school.", "repetition"),
    ("!" * 30, "repetition"),
    ("The capital of France is Paris.", None),
    ("Hogwarts School of Witchcraft", None),
    ("Ok", None),
])
def test_degenerate(text, kind):
    assert W.degenerate(text) == kind


def test_repeated_fraction_hand_computed():
    assert W.repeated_fraction([("a", "a", "a")] * 4) == pytest.approx(0.75)
    assert W.repeated_fraction([1, 2, 3, 1]) == pytest.approx(0.25)
    assert W.repeated_fraction([]) == 0.0


def test_retain_drop_alarm_fires_once_past_the_threshold():
    w = W.Watch(retain_drop=1.0)
    seq = [ev(0, -1.0), ev(2, -1.5), ev(4, -1.99), ev(6, -2.3), ev(8, -5.0)]
    out = [w.feed(e) for e in seq]
    assert [len(a) for a in out] == [0, 0, 0, 1, 0]  # 1.3 nats > 1.0 at step 6; once per run
    a = out[3][0]
    assert a.kind == "retain_drop" and a.step == 6 and "1.30 nats" in a.message
    assert w.summary()["alarms"] == [a.to_row()]


def test_retain_drop_off_and_rising_retain_never_alarm():
    assert not any(W.Watch(retain_drop=0).feed(e) for e in [ev(0, -1.0), ev(2, -9.0)])
    assert not any(W.Watch().feed(e) for e in [ev(0, -1.0), ev(2, -0.5), ev(4, math.nan)])


def test_step_zero_is_the_baseline_even_when_it_comes_late():
    w = W.Watch(retain_drop=1.0)
    assert not w.feed(ev(2, -3.0))  # provisional start
    assert not w.feed(ev(0, -1.0))  # the untouched model measured later: the real start
    assert w.feed(ev(4, -2.5))[0].kind == "retain_drop"


def test_repetition_and_empty_alarms_compare_with_before():
    w = W.Watch()
    fine = ["The capital of France is Paris.", "Water is H2O.", "Tokyo is in Japan.", "Rowling wrote it."]
    assert w.feed(samples("before", 0, fine)) == []
    assert w.feed(samples("step", 2, fine)) == []
    rep = w.feed(samples("step", 4, ["Paris Paris Paris Paris Paris Paris"] * 3 + fine[:1]))
    assert [a.kind for a in rep] == ["repetition"] and "75%" in rep[0].message and "step 4" in rep[0].message
    empty = w.feed(samples("after", 10, ["", "", "Water is H2O.", ""]))
    assert [a.kind for a in empty] == ["empty"] and "after training" in empty[0].message
    assert w.feed(samples("after", 10, ["", "", "", ""])) == []  # each kind once


def test_no_alarm_when_the_model_already_rambled_before():
    w = W.Watch()
    junk = ["a a a a a a a"] * 4
    w.feed(samples("before", 0, junk))
    assert w.feed(samples("after", 5, junk)) == []


def test_forget_rows_going_silent_is_the_goal_not_an_alarm():
    w = W.Watch()
    rows = lambda texts_f, texts_r: Samples("after", 5, tuple(
        [Generation("f", "forget", "forget", "r", t) for t in texts_f] +
        [Generation("r", "retain", "retain", "r", t) for t in texts_r]))
    w.feed(Samples("before", 0, rows(["Hogwarts."] * 3, ["Paris is the capital."] * 2).rows))
    assert w.feed(rows(["", "", ""], ["Paris is the capital."] * 2)) == []


def test_step_samples_before_the_before_answers_are_not_judged():
    w = W.Watch()
    assert w.feed(samples("step", 1, [""] * 4)) == []


def test_tap_forwards_then_emits_alarms_and_logs_them():
    class Log:
        def __init__(self):
            self.rows = []

        def alarm(self, a):
            self.rows.append(a)

    got, log = [], Log()
    w = W.Watch(log=log)
    sink = w.tap(got.append)
    for e in [ev(0, -1.0), ev(1, -3.0)]:
        sink(e)
    assert [type(e).__name__ for e in got] == ["EvalResult", "EvalResult", "Alarm"]
    assert log.rows == [got[-1]]


# ---------------------------------------------------------------- stop rule
class Lin(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(3))
        self.frozen = torch.nn.Parameter(torch.ones(2), requires_grad=False)


def run_rule(w, model, seq):
    """Feed (forget Prob, retain Prob) probes at steps 1, 2, ...; weights = step number."""
    msgs = []
    for step, (f, r) in enumerate(seq, 1):
        with torch.no_grad():
            model.w.fill_(step)
        if w.probe(ev(step, forget_prob=f, retain_prob=r), model, msgs.append):
            return step, msgs
    return len(seq), msgs


def test_margin_hand_computed():
    rule = W.StopRule(0.1, 0.5)
    assert rule.margin(ev(1, forget_prob=0.05, retain_prob=0.8)) == pytest.approx(0.05)
    assert rule.margin(ev(1, forget_prob=0.3, retain_prob=0.8)) == pytest.approx(-0.2)
    assert rule.margin(ev(1, forget_prob=0.05, retain_prob=0.4)) == pytest.approx(-0.1)
    assert W.StopRule(0.1).margin(ev(1, forget_prob=0.02, retain_prob=0.0)) == pytest.approx(0.08)
    assert W.StopRule(0.1, 0.5).margin(ev(1, forget_prob=0.02, retain_prob=math.nan)) == -math.inf


def test_rule_met_stops_and_keeps_that_step():
    w, m = W.Watch(stop_forget_below=0.1, stop_retain_above=0.5), Lin()
    stopped, msgs = run_rule(w, m, [(0.3, 0.8), (0.2, 0.8), (0.05, 0.7), (0.01, 0.6)])
    assert stopped == 3 and w.met_at == 3
    assert w.finish(m, msgs.append, 3) == 3 and not w.restored
    assert torch.equal(m.w, torch.full((3,), 3.0))
    assert "stop rule met at step 3" in msgs[0].message
    assert w.summary()["stop_rule"] == {"forget_below": 0.1, "retain_above": 0.5, "met_at": 3, "kept_step": 3,
                                        "restored": False}


def test_rule_never_met_restores_the_closest_step():
    w, m = W.Watch(stop_forget_below=0.05, stop_retain_above=0.5), Lin()
    # forget falls, retain collapses: margins -0.25, -0.05, -0.2, -0.45 -> step 2 is closest
    stopped, msgs = run_rule(w, m, [(0.3, 0.9), (0.1, 0.6), (0.04, 0.3), (0.01, 0.05)])
    assert stopped == 4 and w.met_at is None
    assert w.finish(m, msgs.append, 4) == 2 and w.restored
    assert torch.equal(m.w, torch.full((3,), 2.0)) and torch.equal(m.frozen, torch.ones(2))
    assert isinstance(msgs[-1], LogMessage) and "restored the weights of step 2" in msgs[-1].message


def test_rule_never_met_and_last_step_best_keeps_it():
    w, m = W.Watch(stop_forget_below=0.01), Lin()
    run_rule(w, m, [(0.3, 0.9), (0.2, 0.9), (0.1, 0.9)])
    assert w.finish(m, lambda e: None, 3) == 3 and not w.restored
    assert torch.equal(m.w, torch.full((3,), 3.0))


def test_snapshot_holds_only_trainable_parameters():
    m = Lin()
    snap = W.trainable_state(m)
    assert list(snap) == ["w"] and snap["w"].device.type == "cpu"
    with torch.no_grad():
        m.w.fill_(7)
    assert torch.equal(snap["w"], torch.zeros(3))  # a copy, not a view


def test_no_rule_no_restore():
    w = W.Watch()
    assert w.probe(ev(1, forget_prob=0.0), Lin(), lambda e: None) is False
    assert w.finish(Lin(), lambda e: None, 1) is None and w.summary()["stop_rule"] is None


@pytest.mark.parametrize("kw, field", [
    (dict(stop_forget_below=0.0), "stop_forget_below"),
    (dict(stop_forget_below=1.5), "stop_forget_below"),
    (dict(stop_forget_below=0.1, stop_retain_above=1.0), "stop_retain_above"),
    (dict(stop_retain_above=0.5), "stop_retain_above"),
    (dict(stop_forget_below=0.1, probe_every=0), "stop_forget_below"),
    (dict(alarm_retain_drop=-1.0), "alarm_retain_drop"),
])
def test_config_validation(kw, field):
    cfg = C.RunConfig(data=C.DataConfig(forget_rows=()), **kw)
    assert field in [f for f, _ in C.validate(cfg)]


def test_config_round_trip():
    cfg = C.RunConfig(stop_forget_below=0.1, stop_retain_above=0.4, alarm_retain_drop=2.0)
    back = C.from_dict(C.to_dict(cfg))
    assert (back.stop_forget_below, back.stop_retain_above, back.alarm_retain_drop) == (0.1, 0.4, 2.0)
    assert isinstance(Alarm(1, "x", "y").to_row(), dict)


def test_live_probe_answers_alarm_only_when_every_fluent_one_went_bad():
    """The handful answered with the live probe (2 retain rows here) is judged against its own
    step-0 answers; one answer flipping is not a collapse, all of them from none is."""
    from unlearn_gui.core.common.events import Generation, Samples

    def rows(*texts):
        return tuple(Generation(f"q{i}", "retain", "probe", "ref", t) for i, t in enumerate(texts))

    fine, loop = "Paris is the capital of France.", "the the the the the the the the the the"
    w = W.Watch(retain_drop=1.0)
    assert w.feed(Samples("probe", 0, rows(fine, loop))) == []
    assert w.feed(Samples("probe", 4, rows(loop, loop))) == []  # one was already bad at step 0
    w = W.Watch(retain_drop=1.0)
    w.feed(Samples("probe", 0, rows(fine, fine)))
    assert w.feed(Samples("probe", 2, rows(fine, loop))) == []  # one of two: not yet
    alarms = w.feed(Samples("probe", 4, rows(loop, loop)))
    assert [a.kind for a in alarms] == ["repetition"] and alarms[0].step == 4
