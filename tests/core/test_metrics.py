"""Hand-computed checks for unlearn_gui.core.evaluate.metrics: tiny inputs, values worked out here."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from unlearn_gui.core.evaluate import metrics as M


# ---------------------------------------------------------------- ROUGE-L recall
def test_rouge_l_recall_lcs_by_hand():
    # reference: the cat sat on the mat (6 tokens); prediction: the cat on a mat
    # LCS = the, cat, on, mat = 4  -> recall 4/6
    assert M.rouge_l_recall("the cat on a mat", "the cat sat on the mat") == pytest.approx(4 / 6)
    # recall is w.r.t. the reference: extra predicted words do not lower it
    assert M.rouge_l_recall("well the cat sat on the mat indeed", "the cat sat on the mat") == 1.0
    # order matters (LCS, not bag of words): "mat the" vs "the mat" -> LCS 1 of 2
    assert M.rouge_l_recall("mat the", "the mat") == pytest.approx(0.5)


def test_rouge_l_recall_stemming_case_punctuation_and_empty():
    assert M.rouge_l_recall("He RUNS.", "he running") == 1.0  # porter: runs/running -> run
    assert M.rouge_l_recall("", "Paris") == 0.0
    assert M.rouge_l_recall("London", "Paris") == 0.0


# ---------------------------------------------------------------- keywords
def test_keyword_hit():
    assert M.keyword_hit("The capital is PARIS.", ["paris"])
    assert M.keyword_hit("born in 1921", ["1920", "1921"])
    assert M.keyword_hit("Born in Lyon", ["Lyon"])  # keys lowercased too
    assert not M.keyword_hit("The capital is Rome", ["paris"])
    assert not M.keyword_hit("anything", [])
    assert not M.keyword_hit("anything", [""])  # an empty key must not match everything
    assert M.keyword_hit("it was lyon", "paris|lyon")  # raw "a|b" form


def test_hit_rate_skips_unkeyed_items():
    texts = ["paris", "rome", "no keys here", "Paris again"]
    keys = [["paris"], ["paris"], [], ["paris", "france"]]
    assert M.hit_rate(texts, keys) == pytest.approx(2 / 3)
    assert M.hit_rate(["a", "b"], [[], []]) is None
    assert M.hit_rate([], []) is None
    with pytest.raises(ValueError):
        M.hit_rate(["a"], [["a"], ["b"]])


# ---------------------------------------------------------------- truth ratio & friends
def test_truth_ratio_by_hand():
    # L_para = 1.0, perturbed 2.0 and 4.0 -> mean 3.0 -> TR = exp(1 - 3) = e^-2
    assert M.truth_ratio(1.0, [2.0, 4.0]) == pytest.approx(math.exp(-2.0))
    # definition form: exp(-mean L_j) / exp(-L_para)
    assert M.truth_ratio(0.5, [0.25]) == pytest.approx(math.exp(-0.25) / math.exp(-0.5))
    assert M.truth_ratio(2.0, [2.0, 2.0]) == pytest.approx(1.0)
    assert M.truth_ratio(1000.0, [0.0]) == math.inf
    with pytest.raises(ValueError):
        M.truth_ratio(1.0, [])


def test_truth_ratio_aggregates():
    trs = [0.5, 2.0, 1.0, 0.25]
    # min(TR, 1/TR): 0.5, 0.5, 1, 0.25 -> mean 2.25/4
    assert M.truth_ratio_forget_score(trs) == pytest.approx(2.25 / 4)
    # max(0, 1-TR): 0.5, 0, 0, 0.75 -> mean 1.25/4
    assert M.truth_ratio_retain_score(trs) == pytest.approx(1.25 / 4)
    assert M.truth_ratio_forget_score([0.0, math.inf]) == 0.0  # no division error
    assert M.truth_ratio_forget_score([0.5, None, float("nan")]) == pytest.approx(0.5)
    assert math.isnan(M.truth_ratio_retain_score([]))


def test_option_normalised_prob():
    # P = exp(-L): correct e^-1, perturbed e^-2 and e^-3
    pc, p1, p2 = math.exp(-1), math.exp(-2), math.exp(-3)
    assert M.option_normalised_prob(1.0, [2.0, 3.0]) == pytest.approx(pc / (pc + p1 + p2))
    assert M.option_normalised_prob(1.0, [1.0]) == pytest.approx(0.5)
    assert M.option_normalised_prob(1.0, []) == 1.0
    # huge NLLs would underflow exp(-L) to 0/0 without log-sum-exp
    assert M.option_normalised_prob(800.0, [800.0, 800.0]) == pytest.approx(1 / 3)


def test_harmonic_mean_and_prob():
    assert M.harmonic_mean([1.0, 0.5]) == pytest.approx(2 / (1 + 2))
    assert M.harmonic_mean([0.2, 0.4, 0.8]) == pytest.approx(3 / (5 + 2.5 + 1.25))
    assert M.harmonic_mean([0.9, 0.0, 0.7]) == 0.0
    assert M.harmonic_mean([0.5, None]) == pytest.approx(0.5)
    assert math.isnan(M.harmonic_mean([None]))
    assert M.prob_from_nll(0.0) == 1.0
    assert M.prob_from_nll(math.log(4)) == pytest.approx(0.25)


def test_summarize():
    s = M.summarize([1.0, None, 3.0, float("nan"), 2.0])
    assert s == {"mean": pytest.approx(2.0), "min": 1.0, "max": 3.0, "n": 3}
    assert M.summarize(torch.tensor([1.0, float("nan")]))["n"] == 1
    assert M.summarize(np.array([4.0, 6.0]))["mean"] == pytest.approx(5.0)
    assert M.summarize([]) == {"mean": None, "min": None, "max": None, "n": 0}


# ---------------------------------------------------------------- text quality / diff
def test_unique_token_ratio_and_degenerate():
    assert M.unique_token_ratio("a b a b") == 0.5
    assert M.unique_token_ratio("") == 0.0
    assert M.is_degenerate("")
    assert M.is_degenerate("   \n ")
    assert M.is_degenerate("the the")  # a single token repeated
    assert M.is_degenerate("a b a b a b a b a b")  # 2/10 = 0.2 < 0.3 with >= 6 tokens
    assert not M.is_degenerate("Paris")
    assert not M.is_degenerate("a b a b a")  # ratio 0.4 and only 5 tokens anyway
    assert not M.is_degenerate("The capital of France is Paris.")
    assert not M.is_degenerate("a b a b a b a b a b", min_ratio=0.1)


def test_changed_words():
    assert M.changed_words("the cat sat", "the dog sat") == [
        ("equal", "the"), ("delete", "cat"), ("insert", "dog"), ("equal", "sat")]
    assert M.changed_words("a b", "a b c d") == [("equal", "a b"), ("insert", "c d")]
    assert M.changed_words("x y z", "x") == [("equal", "x"), ("delete", "y z")]
    assert M.changed_words("", "") == []
    assert M.changed_words("same  words", "same words") == [("equal", "same words")]


# ---------------------------------------------------------------- AUC
def test_roc_auc_with_ties_by_hand():
    # pos 1 beats {0}, ties none ->1; pos 2 beats {0}, ties {2,2} ->2; pos 3 beats all ->3: 6/9
    assert M.roc_auc([1, 2, 3], [2, 2, 0]) == pytest.approx(6 / 9)
    assert M.roc_auc([5, 6], [1, 2]) == 1.0
    assert M.roc_auc([1, 2], [5, 6]) == 0.0
    assert M.roc_auc([1, 1], [1, 1, 1]) == 0.5
    assert math.isnan(M.roc_auc([], [1.0]))


def test_auc_forget_vs_holdout_orientation():
    # Min-K%++ / NLL: larger = less likely member. Forget items remembered -> low scores.
    forget, holdout = [0.1, 0.2, 0.3], [1.0, 2.0, 3.0]
    assert M.auc_forget_vs_holdout(forget, holdout) == 1.0
    assert M.auc_forget_vs_holdout(holdout, forget) == 0.0
    assert M.auc_forget_vs_holdout([1.0, 2.0], [2.0, 1.0]) == 0.5


# ---------------------------------------------------------------- KS test
def _ks_d(a, b) -> float:
    """Reference D statistic from the definition, with plain loops."""
    pts = sorted(set(a) | set(b))
    return max(abs(sum(x <= t for x in a) / len(a) - sum(x <= t for x in b) / len(b)) for t in pts)


def _ks_bruteforce(a, b) -> float:
    """Exact permutation p-value: share of all C(n1+n2, n1) relabellings with D >= observed."""
    pooled, n1 = list(a) + list(b), len(a)
    d_obs, hit, total = _ks_d(a, b), 0, 0
    for idx in itertools.combinations(range(len(pooled)), n1):
        s = set(idx)
        aa = [pooled[i] for i in idx]
        bb = [pooled[i] for i in range(len(pooled)) if i not in s]
        hit += _ks_d(aa, bb) >= d_obs - 1e-12
        total += 1
    return hit / total


def test_ks_identical_samples_is_one():
    assert M.ks_test_pvalue([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0
    assert M.ks_test_pvalue([0.5] * 4, [0.5] * 7) == 1.0


def test_ks_fully_separated_10_vs_10_matches_scipy():
    # scipy.stats.ks_2samp(range(10), range(10, 20)).pvalue == 1.0825088224469026e-05
    # (scipy not installed here; the exact value is 2 / C(20, 10)).
    p = M.ks_test_pvalue(list(range(10)), list(range(10, 20)))
    assert p == pytest.approx(1.0825088224469026e-05, rel=1e-12)
    assert p == pytest.approx(2 / math.comb(20, 10), rel=1e-12)


def test_ks_unequal_fully_separated_keeps_tiny_tail():
    # Only the two extreme paths reach D = 1: p = 2 / C(70, 30) ~ 3.6e-20 (not rounded to 0).
    p = M.ks_test_pvalue(list(range(30)), list(range(30, 70)))
    assert p == pytest.approx(2 / math.comb(70, 30), rel=1e-9)


@pytest.mark.parametrize("a,b", [
    ([0, 2, 4, 6, 8], [1, 3, 5, 7, 9]),
    ([0, 1, 2, 9, 10], [3, 4, 5, 6, 7]),
    ([0, 1, 2, 6, 7, 8], [3, 4, 5, 9, 10, 11]),  # D = 3/6: two reflection terms
    ([0, 1, 2, 3], [4, 5, 6, 7, 8, 9]),
    ([0, 5, 6, 9], [1, 2, 3, 4, 7, 8]),
    ([0, 3, 6], [1, 2, 4, 5, 7, 8, 9]),
    ([2, 4, 5, 7, 8, 11], [0, 1, 3, 6, 9, 10, 12]),
])
def test_ks_exact_matches_bruteforce_permutations(a, b):
    expected = _ks_bruteforce(a, b)
    assert M.ks_test_pvalue(a, b) == pytest.approx(expected, rel=1e-9)
    assert M.ks_test_pvalue(b, a) == pytest.approx(expected, rel=1e-9)  # symmetric


def test_ks_asymptotic_branch():
    # Kolmogorov limit: P(K > 1) = 0.2699996716773546 (theta-function branch), and the 5% point
    # of the Kolmogorov distribution is 1.3580986 (alternating-series branch).
    assert M._kolmogorov_sf(1.0) == pytest.approx(0.2699996716773546, rel=1e-9)
    assert M._kolmogorov_sf(1.3580986) == pytest.approx(0.05, abs=1e-6)
    assert M._kolmogorov_sf(0.0) == 1.0
    assert M._kolmogorov_sf(0.5) == pytest.approx(1 - 0.03605, abs=1e-4)  # table: K(0.5) = 0.0361
    assert M._kolmogorov_sf(0.02) == 1.0  # a truncated alternating series is off here
    # n > 10000 uses the asymptotic formula; it agrees with the exact tail to a few percent
    a = np.arange(12000, dtype=float)
    p_asym = M.ks_test_pvalue(a, a + 300)  # D = 300/12000
    assert p_asym == pytest.approx(M._ks_exact(12000, 12000, 300), rel=0.05)
    assert 1e-4 < p_asym < 1e-2


def test_ks_ignores_nan_and_rejects_empty():
    assert M.ks_test_pvalue([0, 1, float("nan")], [0, 1]) == 1.0
    with pytest.raises(ValueError):
        M.ks_test_pvalue([], [1.0])


# ---------------------------------------------------------------- Min-K%++
def _z_by_hand(row: list[float], y: int) -> float:
    m = max(row)
    lse = m + math.log(sum(math.exp(x - m) for x in row))
    logp = [x - lse for x in row]
    p = [math.exp(v) for v in logp]
    mu = sum(pi * li for pi, li in zip(p, logp))
    sigma = math.sqrt(sum(pi * li * li for pi, li in zip(p, logp)) - mu * mu)
    return (logp[y] - mu) / sigma


def test_min_k_plus_plus_by_hand():
    rows = [[2.0, 0.0, -1.0], [0.0, 1.0, 0.5], [1.0, 1.0, 3.0]]
    ys = [0, 2, 1]
    z = sorted(_z_by_hand(r, y) for r, y in zip(rows, ys))
    logits, labels = torch.tensor(rows), torch.tensor(ys)
    # k = 0.4, T = 3 -> ceil(1.2) = 2 lowest z values
    assert M.min_k_plus_plus(logits, labels, k=0.4) == pytest.approx(-(z[0] + z[1]) / 2, rel=1e-5)
    assert M.min_k_plus_plus(logits, labels, k=1.0) == pytest.approx(-sum(z) / 3, rel=1e-5)
    assert M.min_k_plus_plus(logits, labels, k=0.01) == pytest.approx(-z[0], rel=1e-5)  # >= 1


def test_min_k_plus_plus_sign_masking_and_edge_cases():
    logits = torch.tensor([[3.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
    member = M.min_k_plus_plus(logits, torch.tensor([0, 1]))  # labels are the likely tokens
    nonmember = M.min_k_plus_plus(logits, torch.tensor([2, 2]))
    assert member < nonmember  # larger score = less likely a member
    masked = M.min_k_plus_plus(torch.cat([logits, logits]), torch.tensor([0, 1, -100, -100]))
    assert masked == pytest.approx(member, rel=1e-6)
    assert math.isnan(M.min_k_plus_plus(logits, torch.tensor([-100, -100])))
    flat = M.min_k_plus_plus(torch.zeros(2, 3), torch.tensor([0, 1]))  # sigma = 0: finite, ~0
    assert math.isfinite(flat) and abs(flat) < 0.05
    bf16 = M.min_k_plus_plus(logits.bfloat16(), torch.tensor([0, 1]))
    assert bf16 == pytest.approx(member, rel=1e-2)
    inf = torch.tensor([[3.0, 0.0, float("-inf")], [0.0, 3.0, 0.0]])  # masked vocab entry
    assert math.isfinite(M.min_k_plus_plus(inf, torch.tensor([0, 1])))


# ---------------------------------------------------------------- token_stats / per_token_probs
def _log_softmax(row: list[float]) -> list[float]:
    m = max(row)
    lse = m + math.log(sum(math.exp(x - m) for x in row))
    return [x - lse for x in row]


def test_token_stats_against_manual_log_softmax():
    logits = torch.tensor([
        [[1.0, 2.0, 0.0], [0.5, 0.5, 3.0], [2.0, 0.0, 1.0], [9.0, 9.0, 9.0]],
        [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 4.0, 1.0], [7.0, 7.0, 7.0]],
        [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [3.0, 3.0, 3.0], [4.0, 4.0, 4.0]],
    ])
    labels = torch.tensor([
        [-100, 1, 2, 2],        # answer tokens 1,2,2 predicted by positions 0,1,2
        [-100, -100, 0, -100],  # prompt masked; one answer token 0 predicted by position 1
        [-100, -100, -100, -100],  # no answer tokens
    ])
    lp00 = _log_softmax([1.0, 2.0, 0.0])[1]  # argmax 1 == 1 -> hit
    lp01 = _log_softmax([0.5, 0.5, 3.0])[2]  # argmax 2 == 2 -> hit
    lp02 = _log_softmax([2.0, 0.0, 1.0])[2]  # argmax 0 != 2 -> miss
    lp11 = _log_softmax([1.0, 0.0, 0.0])[0]  # argmax 0 == 0 -> hit
    st = M.token_stats(logits, labels)
    assert st["n_tokens"].tolist() == [3, 1, 0]
    assert st["sum_logprob"][0].item() == pytest.approx(lp00 + lp01 + lp02, rel=1e-6)
    assert st["sum_logprob"][1].item() == pytest.approx(lp11, rel=1e-6)
    assert st["sum_logprob"][2].item() == 0.0
    assert st["mean_logprob"][0].item() == pytest.approx((lp00 + lp01 + lp02) / 3, rel=1e-6)
    assert st["nll_mean"][1].item() == pytest.approx(-lp11, rel=1e-6)
    assert st["em"][:2].tolist() == pytest.approx([2 / 3, 1.0])
    for key in ("mean_logprob", "nll_mean", "em"):
        assert st[key].shape == (3,)
        assert math.isnan(st[key][2].item())
    assert st["mean_logprob"].dtype == torch.float32


def test_token_stats_bf16_and_all_masked_batch():
    logits = torch.randn(2, 5, 7, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([[-100, 1, 2, 3, 4], [-100, -100, -100, 5, 6]])
    ref = M.token_stats(logits, labels)
    low = M.token_stats(logits.bfloat16(), labels)
    assert torch.allclose(low["nll_mean"], ref["nll_mean"], rtol=2e-2)
    manual = torch.log_softmax(logits[0, :-1], -1)[torch.arange(4), labels[0, 1:]].mean()
    assert ref["mean_logprob"][0].item() == pytest.approx(manual.item(), rel=1e-5)
    none = M.token_stats(logits, torch.full((2, 5), -100))
    assert none["n_tokens"].tolist() == [0, 0]
    assert torch.isnan(none["nll_mean"]).all()


def test_per_token_probs():
    logits = torch.tensor([[1.0, 2.0, 0.0], [0.5, 0.5, 3.0], [0.0, 0.0, 0.0]])
    labels = torch.tensor([-100, 1, 2])
    expected = [math.exp(_log_softmax([1.0, 2.0, 0.0])[1]),
                math.exp(_log_softmax([0.5, 0.5, 3.0])[2])]
    assert M.per_token_probs(logits, labels) == pytest.approx(expected, rel=1e-6)
    assert M.per_token_probs(logits, torch.tensor([-100, -100, -100])) == []


# ---------------------------------------------------------------- answer-position logits
def _probe_batch():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 50, (3, 12), generator=g)
    am = torch.ones(3, 12, dtype=torch.long)
    am[2, 9:] = 0  # right padding
    lab = ids.clone()
    lab[:, :5] = -100  # prompt
    lab[2, 9:] = -100
    lab[1, :] = -100  # a row without answer tokens
    return {"input_ids": ids, "attention_mask": am, "labels": lab}


def test_answer_only_logits_match_the_full_forward(tiny_model_dir):
    """The live probe projects only the answer positions onto the vocabulary; the statistics must
    equal those of the full logits, for the plain model, with LoRA, and with adapters disabled."""
    from unlearn_gui.core.evaluate import probes as evaluate
    from unlearn_gui.core.model import models

    model = models.load_model(tiny_model_dir)
    b = _probe_batch()

    def both(m):
        with torch.no_grad():
            full = M.token_stats(m(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits, b["labels"])
            sel = evaluate._answer_logits(m, b)
            assert sel is not None and sel.shape[0] == int((b["labels"][:, 1:] != -100).sum())
            return full, M.token_stats_selected(sel, b["labels"])

    base_full, base_sel = both(model)
    lora = models.attach_lora(model, 4, 8, 0.0, ("q_proj", "v_proj"))
    for n, p in lora.named_parameters():
        if "lora_B" in n:
            torch.nn.init.normal_(p, std=0.5)  # make the adapters matter
    lora_full, lora_sel = both(lora)
    with lora.disable_adapter():
        off_full, off_sel = both(lora)
    for full, sel in ((base_full, base_sel), (lora_full, lora_sel), (off_full, off_sel)):
        for k in ("sum_logprob", "n_tokens", "em"):
            torch.testing.assert_close(sel[k], full[k], equal_nan=True, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(lora_full["sum_logprob"], base_full["sum_logprob"])  # adapters were live
    torch.testing.assert_close(off_full["sum_logprob"], base_full["sum_logprob"])
