"""Scorecard: hand-checked headline rules and verdict, then measure() on the tiny model."""
from __future__ import annotations

import json
import math

import pytest
import torch

from unlearn_gui.core import config as C
from unlearn_gui.core.evaluate import metrics as M
from unlearn_gui.core.evaluate import scorecard as sc
from unlearn_gui.core.train import session as S
from unlearn_gui.core.data.tokenize import collate
from unlearn_gui.core.common.records import Record
from unlearn_gui.core.evaluate.verdict import CAVEAT, RETAIN_TOLERANCE

FORGET = [
    {"question": "Which school does Harry Potter attend?", "answer": "Hogwarts School.", "keys": "hogwarts",
     "paraphrased_answer": "He attends Hogwarts.", "perturbed_answer": ["Durmstrang.", "Beauxbatons."]},
    {"question": "Who wrote the books?", "answer": "J.K. Rowling wrote them.", "keys": "rowling",
     "perturbed_answer": ["Tolkien.", "Lewis.", "Dahl."]},
    {"question": "What is Harry's owl called?", "answer": "Hedwig.", "keys": "hedwig"},
]
RETAIN = [
    {"question": "What is the capital of France?", "answer": "Paris.", "keys": "paris"},
    {"question": "What is the capital of Japan?", "answer": "Tokyo.", "keys": "tokyo",
     "perturbed_answer": ["Kyoto.", "Osaka."]},
]
HOLDOUT = [Record(prompt="What is water?", answer="Water is H2O."), Record(prompt="Capital?", answer="I don't know.")]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def make_session(tmp, md, *, lora=True, method="dipo"):
    cfg = C.resolve(C.RunConfig(
        model=C.ModelConfig(path=str(md), device="cpu"),
        data=C.DataConfig(forget=_write(tmp / "f.jsonl", FORGET), retain=_write(tmp / "r.jsonl", RETAIN)),
        method=C.MethodConfig(name=method, steps=3, lora=lora), max_new_tokens=4))
    return S.prepare(cfg, lambda e: None)


@pytest.fixture(scope="module")
def lora_session(tmp_path_factory, tiny_model_dir):
    return make_session(tmp_path_factory.mktemp("sc"), tiny_model_dir)


# ---------------------------------------------------------------- headline rows (hand-checked)
def card(fh, fp, rp, mu=None, auc=None, f_items=None, r_items=None):
    return {"forget": {"hit_rate": fh, "prob": fp, "hit_items": f_items}, "retain": {"prob": rp, "hit_items": r_items},
            "model_utility": mu, "membership": None if auc is None else {"auc": auc}}


def test_compare_goals_arrows_and_tolerance():
    rows = {r["key"]: r for r in sc.compare(card(0.9, 0.60, 0.50, 0.40, 0.80), card(0.1, 0.60, 0.46, 0.30, 0.55))}
    f = rows["forget.hit_rate"]
    assert (f["delta"], f["arrow"], f["good"]) == (pytest.approx(-0.8), "↓", True)
    assert rows["forget.prob"]["arrow"] == "→" and rows["forget.prob"]["good"] is False  # no drop = not good
    r = rows["retain.prob"]  # -0.04 is inside the 0.05 tolerance
    assert (r["arrow"], r["good"]) == ("↓", True) and RETAIN_TOLERANCE == 0.05
    assert rows["model_utility"]["good"] is False  # -0.10 is beyond it
    assert rows["membership.auc"]["good"] is True  # 0.80 -> 0.55 moved towards 0.5
    assert "forget.em" not in rows  # absent on both sides -> no row


def test_compare_edge_cases():
    rows = {r["key"]: r for r in sc.compare(card(0.0, 0.5, None), card(0.0, None, 0.5))}
    assert rows["forget.hit_rate"]["good"] is None  # nothing to forget
    assert rows["forget.prob"]["delta"] is None and rows["forget.prob"]["good"] is None
    assert rows["retain.prob"]["before"] is None
    up = {r["key"]: r for r in sc.compare({"forget_quality": 0.01}, {"forget_quality": 0.3})}
    assert up["forget_quality"]["good"] is True and up["forget_quality"]["arrow"] == "↑"
    nan = sc.compare({"forget": {"prob": math.nan}}, {"forget": {"prob": 0.1}})
    assert nan[0]["before"] is None


def test_verdict_counts_facts_and_ends_with_caveat():
    fb = [True] * 9 + [False]
    fa = [False] * 8 + [True, False]  # item 9 still named; 8 of the 9 are gone
    rb = [True] * 18
    ra = [True] * 17 + [False]
    text = sc.verdict(card(0.9, 0.6, 0.5, 0.4, None, fb, rb), card(0.1, 0.05, 0.49, 0.39, None, fa, ra))
    assert "no longer names 8 of the 9 forget facts" in text
    assert "hit rate 90% → 10%" in text
    assert "still names 17 of the 18 retain facts" in text
    assert "steady" in text and "Overall: on these items the forget knowledge went down" in text
    assert text.endswith(CAVEAT) and "approximate" in CAVEAT
    bad = sc.verdict(card(0.9, 0.6, 0.5, 0.4), card(0.9, 0.6, 0.2, 0.1))
    assert "did not go down and retained knowledge fell" in bad and bad.endswith(CAVEAT)


def test_from_summary_counts_hits():
    summary = {"metrics": {"before": {"forget_prob": 0.5, "forget_hit_rate": 1.0}, "after": {"forget_prob": 0.1}},
               "generations": [
                   {"split": "forget", "keys": "paris|lyon", "before": "Lyon", "after": "no idea"},
                   {"split": "forget", "keys": "", "before": "x", "after": "y"},  # unkeyed: skipped
                   {"split": "retain", "keys": "tokyo", "before": "Tokyo", "after": "Tokyo!"}]}
    b, a = sc.from_summary(summary, "before"), sc.from_summary(summary, "after")
    assert b["forget"]["hit_items"] == [True] and a["forget"]["hit_items"] == [False]
    assert (b["forget"]["prob"], a["forget"]["prob"], a["forget"]["hit_rate"]) == (0.5, 0.1, None)
    assert a["retain"]["hits"] == 1 and a["retain"]["n_keyed"] == 1


# ---------------------------------------------------------------- measure() on the tiny model
def _finite_numbers(d, path=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _finite_numbers(v, f"{path}{k}.")
        elif isinstance(v, float):
            yield f"{path}{k}", v


def test_measure_keys_finite_and_repeatable(lora_session):
    s = lora_session
    a = sc.measure(s, original=False, holdout=HOLDOUT, oracle_model=s.model)
    for side in ("forget", "retain"):
        assert {"n", "prob", "rougeL", "em", "hit_rate", "truth_ratio", "hits", "n_keyed"} <= set(a[side])
    assert set(a["utility"]) == {"world_facts", "real_authors"}
    assert a["utility"]["world_facts"]["n"] == 40 and a["utility"]["real_authors"]["n"] == 40
    for name, v in _finite_numbers(a):
        assert math.isfinite(v), name
    assert a["forget"]["n_truth_ratio"] == 2 and a["retain"]["n_truth_ratio"] == 1
    assert 0.0 <= a["membership"]["auc"] <= 1.0 and a["membership"]["n_holdout"] == 2
    assert a["forget_quality"] == 1.0  # oracle == the model itself: identical truth ratios, D = 0
    assert isinstance(getattr(s, sc.CACHE_ATTR), dict)
    b = sc.measure(s, original=False, holdout=HOLDOUT)  # nothing trained in between
    for side in ("forget", "retain"):
        for k in ("prob", "em", "rougeL", "hit_rate", "truth_ratio"):
            assert b[side][k] == pytest.approx(a[side][k], abs=1e-6)
    assert b["model_utility"] == pytest.approx(a["model_utility"], abs=1e-6)
    assert b["forget_quality"] is None  # no oracle given


def test_original_equals_current_on_fresh_lora(lora_session):
    a = sc.measure(lora_session, original=True, utility_items=8)
    b = sc.measure(lora_session, original=False, utility_items=8)
    for side in ("forget", "retain"):
        for k in ("prob", "em", "rougeL", "hit_rate", "truth_ratio"):
            assert a[side][k] == pytest.approx(b[side][k], abs=1e-6)
    for name in a["utility"]:
        assert a["utility"][name]["prob"] == pytest.approx(b["utility"][name]["prob"], abs=1e-6)
    assert (a["model"], b["model"]) == ("original", "current")


def _nll_one(model, tkz, pad, record, answer=None):
    """Independent reference: one example, no batching, no padding."""
    ex = tkz.example(record, answer)
    b = collate([ex], pad)
    with torch.no_grad():
        logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
    return float(M.token_stats(logits, b["labels"])["nll_mean"][0])


def test_measure_matches_unbatched_hand_computation(lora_session):
    s = lora_session
    s.model.eval()
    nll = lambda rec, ans=None: _nll_one(s.model, s.tkz, s.tokenizer.pad_token_id, rec, ans)  # noqa: E731
    out = sc.measure(s, original=False, utility_items=3)
    recs = [e.record for e in s.forget]
    prob = sum(math.exp(-nll(r)) for r in recs) / len(recs)
    assert out["forget"]["prob"] == pytest.approx(prob, rel=1e-4)
    # truth ratio: item 0 uses its paraphrase, item 1 the answer itself (no paraphrase); item 2 has none
    tr0 = math.exp(nll(recs[0], recs[0].paraphrased_answer) - sum(nll(recs[0], p) for p in recs[0].perturbed_answers) / 2)
    tr1 = math.exp(nll(recs[1]) - sum(nll(recs[1], p) for p in recs[1].perturbed_answers) / 3)
    assert out["forget"]["truth_ratio"] == pytest.approx((min(tr0, 1 / tr0) + min(tr1, 1 / tr1)) / 2, rel=1e-4)
    from unlearn_gui.core.common.paths import resource
    from unlearn_gui.core.data.readers import read_records
    wf = read_records(resource("tofu", "world_facts_perturbed.json"))[:3]
    onp = []
    for r in wf:
        ps = [math.exp(-nll(r))] + [math.exp(-nll(r, p)) for p in r.perturbed_answers]
        onp.append(ps[0] / sum(ps))
    assert out["utility"]["world_facts"]["prob"] == pytest.approx(sum(onp) / 3, rel=1e-4)


def test_texts_are_used_and_checked(lora_session):
    s = lora_session
    texts = [("Hogwarts" if g.split == "forget" else "Paris") for g in s.compare]
    out = sc.measure(s, original=False, texts=texts, utility_items=0)
    assert out["forget"]["hit_rate"] == pytest.approx(1 / 3)  # only the hogwarts item hits
    assert out["retain"]["hits"] == 1 and out["utility"] == {}
    with pytest.raises(ValueError, match="compare rows"):
        sc.measure(s, original=False, texts=["x"], utility_items=0)


def test_full_finetuning_without_reference_raises(tmp_path, tiny_model_dir):
    s = make_session(tmp_path, tiny_model_dir, lora=False, method="graddiff")
    assert s.ref_model is None and not s.lora
    with pytest.raises(RuntimeError, match="original=False"):
        sc.measure(s, original=True)
    assert sc.measure(s, original=False, utility_items=2)["forget"]["n"] == 3


# ---------------------------------------------------------------- packed (prefix-shared) scoring
def _ex(ids, n_prompt):
    from unlearn_gui.core.data.tokenize import Example

    return Example(tuple(ids), tuple([-100] * n_prompt + list(ids[n_prompt:])), n_prompt, None)


def test_pack_builds_a_trie_by_hand():
    from unlearn_gui.core.evaluate import packed_scoring as packed

    (c,) = packed.pack([_ex([1, 2, 3, 4], 2), _ex([1, 2, 5, 6], 2)])
    assert c.ids.tolist() == [[1, 2, 3, 4, 5, 6]]  # the prompt 1, 2 is stored once
    assert c.pos.tolist() == [[0, 1, 2, 3, 2, 3]]  # position = depth, so 5 sits where 3 does
    assert c.visible[4].tolist() == [True, True, False, False, True, False]  # 5 sees 1, 2 and itself
    assert c.visible[5].tolist() == [True, True, False, False, True, True]
    assert c.keep.tolist() == [1, 2, 4]  # logits only where an answer token is predicted
    got = sorted(zip(c.example.tolist(), c.keep[c.row].tolist(), c.target.tolist()))
    assert got == [(0, 1, 3), (0, 2, 4), (1, 1, 5), (1, 4, 6)]
    small = packed.pack([_ex([1, 2, 3, 4], 2), _ex([1, 2, 5, 6], 2)], max_nodes=5)
    assert [x.ids.shape[1] for x in small] == [4, 4]  # a second chunk instead of 6 > 5 nodes


def test_packed_scores_equal_plain_scores(lora_session):
    from unlearn_gui.core.evaluate import packed_scoring as packed

    s = lora_session
    items = sc._utility_items(s, "real_authors", 6)
    s.model.eval()
    got = packed.score(s.model, packed.pack(items.examples, max_nodes=96), items.n, mink=True)
    ref = sc._score_plain(s.model, items.examples, s.tokenizer.pad_token_id, True, None)
    for k in ("nll", "em", "mink"):
        assert got[k] == pytest.approx(ref[k], rel=1e-4, abs=1e-5), k
    assert packed.works_with(s.model, items.examples[:2])

    class IgnoresMask(torch.nn.Module):  # an attention that drops custom masks must be detected
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask=None, **kw):
            return self.inner(input_ids=input_ids, logits_to_keep=kw.get("logits_to_keep", 0))

    sample = [items.examples[0], items.examples[items.pert[0][0]]]
    assert not packed.works_with(IgnoresMask(s.model), sample)
