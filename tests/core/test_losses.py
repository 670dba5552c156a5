"""Loss maths on hand-made tensors (METHODS.md): start values, signs, gradients, masking."""
import math
from types import SimpleNamespace

import pytest
import torch

from unlearn_gui.core.methods import REGISTRY, LossInputs, kl_ref_theta, nll_mean, seq_logprob
from unlearn_gui.core.methods.dipo import preference_margin

V = 7


def batch(seed=0, b=3, L=6):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, L, V, generator=g)
    ids = torch.randint(0, V, (b, L), generator=g)
    labels = ids.clone()
    labels[:, :2] = -100  # prompt
    if b > 2:
        labels[2, 4:] = -100  # padding on the last row
    return logits, {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}


def hp(**kw):
    base = dict(beta=0.1, gamma=1.0, alpha=1.0, retain_loss="nll", delta=0.0, topk=2, lam=3.0, reduction="sum")
    base.update(kw)
    return SimpleNamespace(**base)


def inputs(logits, b, ref_logits=None, **kw):
    ref = logits.detach().clone() if ref_logits is None else ref_logits
    x = LossInputs(model=None, forget=b, hp=hp(**kw), ref_logits=lambda _: ref, idk=b)
    x.cache[id(b)] = logits
    return x


def manual_token_logprobs(logits, labels):
    out = []
    for i in range(logits.shape[0]):
        row = []
        for t in range(logits.shape[1] - 1):
            y = labels[i, t + 1].item()
            if y != -100:
                row.append(torch.log_softmax(logits[i, t], -1)[y].item())
        out.append(row)
    return out


def test_seq_logprob_matches_manual_sum_and_masks_prompt_and_padding():
    logits, b = batch()
    lp, n = seq_logprob(logits, b["labels"])
    manual = manual_token_logprobs(logits, b["labels"])
    assert n.tolist() == [len(r) for r in manual] == [4, 4, 2]
    assert lp.tolist() == pytest.approx([sum(r) for r in manual], abs=1e-5)


def test_ga_is_minus_token_mean_nll():
    logits, b = batch(1)
    manual = [x for r in manual_token_logprobs(logits, b["labels"]) for x in r]
    loss = REGISTRY["ga"].forget_loss(inputs(logits, b))
    assert loss.item() == pytest.approx(sum(manual) / len(manual), abs=1e-5)  # -NLL = mean log-prob
    assert nll_mean(logits, b["labels"]).item() == pytest.approx(-loss.item(), abs=1e-6)


@pytest.mark.parametrize("name", ["npo", "dipo", "idkdpo"])
@pytest.mark.parametrize("beta", [0.1, 0.5, 2.0])
def test_reference_losses_start_at_two_over_beta_ln2(name, beta):
    logits, b = batch(2)
    loss = REGISTRY[name].forget_loss(inputs(logits, b, beta=beta))
    assert loss.item() == pytest.approx(2 / beta * math.log(2), rel=1e-5)


def test_npo_bounded_below_by_zero_and_falls_as_policy_forgets():
    logits, b = batch(3)
    ref = logits.clone()
    start = REGISTRY["npo"].forget_loss(inputs(logits, b, ref_logits=ref)).item()
    forgot = logits.clone()
    lab = b["labels"][:, 1:]
    forgot[:, :-1] -= 20 * torch.nn.functional.one_hot(lab.clamp(min=0), V) * (lab != -100)[..., None]
    after = REGISTRY["npo"].forget_loss(inputs(forgot, b, ref_logits=ref)).item()
    assert 0 <= after < start


def test_npo_uses_log_softmax_not_raw_logits():
    logits, b = batch(4)
    shifted = logits + 5.0  # adding a constant to every logit leaves probabilities unchanged
    loss = REGISTRY["npo"].forget_loss(inputs(shifted, b, ref_logits=logits)).item()
    assert loss == pytest.approx(2 / 0.1 * math.log(2), rel=1e-5)


def test_simnpo_matches_formula():
    logits, b = batch(5)
    lp, n = seq_logprob(logits, b["labels"])
    beta, delta = 4.5, 0.3
    want = -(2 / beta) * torch.nn.functional.logsigmoid(-(beta / n) * lp - beta * delta).mean()
    got = REGISTRY["simnpo"].forget_loss(inputs(logits, b, beta=beta, delta=delta))
    assert got.item() == pytest.approx(want.item(), rel=1e-6)


def test_kl_of_a_model_to_itself_is_zero_and_positive_otherwise():
    logits, b = batch(6)
    assert kl_ref_theta(logits, logits.clone(), b["labels"]).item() == pytest.approx(0.0, abs=1e-6)
    assert kl_ref_theta(logits, logits + torch.randn_like(logits), b["labels"]).item() > 0


def test_dipo_gradient_is_proportional_to_p_mem_minus_p_fgt():
    logits, b = batch(7, b=1, L=4)
    ref = logits.clone()
    theta = logits.clone().requires_grad_(True)
    k, lam, beta = 2, 3.0, 0.1
    loss = REGISTRY["dipo"].forget_loss(inputs(theta, b, ref_logits=ref, topk=k, lam=lam, beta=beta))
    loss.backward()
    labels = b["labels"][0]
    for t in range(logits.shape[1] - 1):
        y = labels[t + 1].item()
        g = theta.grad[0, t]
        if y == -100:
            assert torch.allclose(g, torch.zeros(V))
            continue
        l = ref[0, t]
        m = torch.zeros(V)
        m[l.topk(k).indices] = 1
        m[y] = 1
        p_mem, p_fgt = torch.softmax(l + lam * m, -1), torch.softmax(l - lam * m, -1)
        # at the start D = 0, so dL/dlogits = 2 * sigmoid(0) * (p_mem - p_fgt) = p_mem - p_fgt
        assert torch.allclose(g, p_mem - p_fgt, atol=1e-5)
        amplified = m.bool()
        assert (g[amplified] > 0).all()  # descent lowers the amplified (memorised) tokens


def test_dipo_margin_reductions_and_lower_bound():
    logits, b = batch(8)
    ref = logits + torch.randn_like(logits)
    d_sum = preference_margin(logits, ref, b["labels"], 2, 3.0, "sum")
    d_mean = preference_margin(logits, ref, b["labels"], 2, 3.0, "mean")
    _, n = seq_logprob(logits, b["labels"])
    assert torch.allclose(d_mean, d_sum / n, atol=1e-5)
    for scale in (1.0, 50.0, -50.0):
        loss = REGISTRY["dipo"].forget_loss(inputs(logits * scale, b, ref_logits=ref))
        assert loss.item() >= 0


def test_idknll_is_nll_of_refusal_batch():
    logits, b = batch(9)
    x = inputs(logits, b)
    assert REGISTRY["idknll"].forget_loss(x).item() == pytest.approx(nll_mean(logits, b["labels"]).item())


def test_registry_lists_seven_methods_dipo_first_with_presets():
    assert list(REGISTRY)[0] == "dipo"
    assert set(REGISTRY) == {"ga", "graddiff", "npo", "simnpo", "idknll", "idkdpo", "dipo"}
    for m in REGISTRY.values():
        assert {"lr", "steps", "batch_size", "beta", "gamma", "alpha", "retain_loss"} <= set(m.preset)
        assert m.citation


# ---------------------------------------------------------------- answer-position logits
def test_answer_index_by_hand():
    from unlearn_gui.core.model.answer_logits import answer_index

    # row 0: answer labels at 3, 4 (predicted from positions 2, 3); row 1: at 1, 2, 3; row 2: none
    labels = torch.tensor([[-100, -100, -100, 7, 8],
                           [-100, 5, 6, 9, -100],
                           [-100, -100, -100, -100, -100]])
    idx, lab = answer_index(labels)
    assert idx.tolist() == [[2, 3, 0], [0, 1, 2], [0, 0, 0]]
    assert lab.tolist() == [[-100, 7, 8, -100], [-100, 5, 6, 9], [-100, -100, -100, -100]]


def test_compact_logits_give_every_loss_unchanged():
    """Losses on compact logits/labels equal those on the full tensors (random [B, L, V])."""
    from unlearn_gui.core.model.answer_logits import answer_index

    g = torch.Generator().manual_seed(3)
    logits = torch.randn(3, 7, 11, generator=g)
    ref = torch.randn(3, 7, 11, generator=g)
    labels = torch.randint(0, 11, (3, 7), generator=g)
    labels[:, :3] = -100
    labels[1, 5:] = -100
    idx, lab = answer_index(labels)

    def compact(t):
        sel = t.gather(1, idx[:, :, None].expand(-1, -1, t.shape[-1]))
        return torch.cat([sel, torch.zeros(3, 1, 11)], 1)

    cl, cr = compact(logits), compact(ref)
    torch.testing.assert_close(seq_logprob(cl, lab)[0], seq_logprob(logits, labels)[0])
    torch.testing.assert_close(nll_mean(cl, lab), nll_mean(logits, labels))
    torch.testing.assert_close(kl_ref_theta(cl, cr, lab), kl_ref_theta(logits, ref, labels))
    for red in ("sum", "mean"):
        torch.testing.assert_close(preference_margin(cl, cr, lab, 3, 2.0, red),
                                   preference_margin(logits, ref, labels, 3, 2.0, red))
