"""PG-MoE (MuEx §3.3, App. D): scores, top-S weights, eq. 4 and 14-16, sparse expert dispatch."""

from __future__ import annotations

import pytest
import torch

from babelface.models.router import (PGMoE, Router, RouterConfig, anneal, route_loss, selection_entropy,
                                     utilisation_loss)


def router(beta=0.5, m=4, s=2, k=6, d=8, **kw) -> Router:
    torch.manual_seed(0)
    return Router(d, k, RouterConfig(n_experts=m, top_s=s, beta=beta, **kw))


def test_temperature_schedule_is_eq16():
    assert anneal(0, 5.0, 0.5, 50_000) == 5.0
    assert anneal(25_000, 5.0, 0.5, 50_000) == pytest.approx(2.75)
    assert anneal(50_000, 5.0, 0.5, 50_000) == 0.5
    assert anneal(80_000, 5.0, 0.5, 50_000) == 0.5


def test_top_s_weights_are_a_softmax_over_the_selected_scores():
    r = router().eval()                                  # inference: the deterministic top-S
    h, v = torch.randn(20, 8), torch.softmax(torch.randn(20, 6), -1)
    out = r(h, v, tau_r=2.0, tau_s=1.0)
    scores = r.scores(h, v)
    assert out.indices.shape == out.weights.shape == (20, 2)
    assert torch.allclose(out.weights.sum(-1), torch.ones(20))
    assert torch.equal(torch.sort(out.indices, -1).values, torch.sort(scores.topk(2).indices, -1).values)
    top = scores.gather(1, out.indices)
    assert torch.allclose(out.weights, torch.softmax(top / 2.0, -1))
    assert torch.allclose(out.probs, torch.softmax(scores / 2.0, -1))


def test_beta_balances_phoneme_and_content_gating():
    h, v = torch.randn(5, 8), torch.softmax(torch.randn(5, 6), -1)
    phon_only, cont_only = router(beta=1.0), router(beta=0.0)
    assert torch.allclose(phon_only.scores(h, v), phon_only.scores(torch.randn(5, 8), v))
    assert torch.allclose(cont_only.scores(h, v), cont_only.scores(h, torch.rand(5, 6)))
    half = router(beta=0.5)
    assert torch.allclose(half.scores(h, v), 0.5 * half.g_phon(v) + 0.5 * half.g_cont(h))


def test_mapping_is_nonnegative_and_target_is_eq15():
    r = router()
    with torch.no_grad():
        r.r_raw.copy_(torch.randn(4, 6) * 3)
    R = r.mapping()
    assert (R >= 0).all() and torch.allclose(R, torch.nn.functional.softplus(r.r_raw))
    v = torch.softmax(torch.randn(3, 6), -1)
    out = r(torch.randn(3, 8), v, tau_r=1.0, tau_s=0.7)
    assert torch.allclose(out.target, torch.softmax(v @ R.t() / 0.7, -1))


def test_route_loss_is_masked_to_the_selected_experts():
    target = torch.tensor([[0.7, 0.1, 0.1, 0.1]])
    log_p = torch.log(torch.tensor([[0.4, 0.3, 0.2, 0.1]]))
    sel = torch.tensor([[0, 2]])
    expected = -(0.7 * torch.log(torch.tensor(0.4)) + 0.1 * torch.log(torch.tensor(0.2)))
    assert float(route_loss(target, log_p, sel)) == pytest.approx(float(expected))


def test_utilisation_loss_is_minimal_at_uniform_usage():
    m = 4
    uniform = torch.full((10, m), 1 / m)
    collapsed = torch.zeros(10, m)
    collapsed[:, 0] = 1
    assert float(utilisation_loss(uniform, torch.full((m,), 1 / m))) == pytest.approx(1.0)
    assert float(utilisation_loss(collapsed, torch.tensor([1.0, 0, 0, 0]))) == pytest.approx(m)
    # the gradient lowers the probability of the over-used expert
    logits = torch.zeros(10, m, requires_grad=True)
    utilisation_loss(torch.softmax(logits, -1), torch.tensor([0.7, 0.1, 0.1, 0.1])).backward()
    assert logits.grad[:, 0].sum() > 0 and (logits.grad[:, 1:].sum(0) < 0).all()


def test_training_explores_experts_at_high_temperature_and_inference_is_greedy():
    torch.manual_seed(0)
    r = router(m=4, s=2)
    with torch.no_grad():                                # every frame prefers experts 0 and 1
        r.g_cont.weight.zero_()
        r.g_phon.weight.zero_()
        r.g_cont.bias.copy_(torch.tensor([1.0, 0.5, 0.0, -0.5]))
        r.g_phon.bias.copy_(torch.tensor([1.0, 0.5, 0.0, -0.5]))
    h, v = torch.randn(2000, 8), torch.softmax(torch.randn(2000, 6), -1)
    hot = r(h, v, tau_r=5.0, tau_s=1.0).usage            # D.2: exploration at τ_r = 5
    assert float(hot.min()) > 0.15
    cold = r(h, v, tau_r=0.05, tau_s=1.0).usage          # sharp: nearly greedy
    assert float(cold[:2].sum()) > 0.95
    greedy = r.eval()(h, v, tau_r=5.0, tau_s=1.0).usage
    assert torch.allclose(greedy, torch.tensor([0.5, 0.5, 0.0, 0.0]))


def test_selection_entropy_and_the_sign_of_eq4():
    assert float(selection_entropy(torch.tensor([[0.5, 0.5]]))) == pytest.approx(0.6931, abs=1e-4)
    assert float(selection_entropy(torch.tensor([[1.0, 0.0]]))) == pytest.approx(0.0, abs=1e-6)
    r = router(lambda_route=1.0, lambda_util=0.05, lambda_ent=0.05)
    out = r(torch.randn(7, 8), torch.softmax(torch.randn(7, 6), -1), 1.0, 1.0)
    expected = out.route + 0.05 * out.util + 0.05 * out.entropy      # −λ_ent Σ w log w = +λ_ent H
    assert out.loss.item() == pytest.approx(expected.item())


def test_usage_counts_the_selections():
    out = router(m=4, s=2)(torch.randn(50, 8), torch.softmax(torch.randn(50, 6), -1), 1.0, 1.0)
    assert float(out.usage.sum()) == pytest.approx(1.0)
    assert torch.allclose(out.usage, torch.bincount(out.indices.flatten(), minlength=4) / 100.0)


def test_moe_output_is_the_weighted_sum_of_the_selected_experts():
    torch.manual_seed(0)
    moe = PGMoE(8, 6, RouterConfig(n_experts=3, top_s=2, expert_hidden=16, dropout=0.0))
    h, v = torch.randn(2, 5, 8), torch.softmax(torch.randn(2, 5, 6), -1)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[1, 3:] = False
    y, out = moe(h, v, mask, 1.0, 1.0)
    assert y.shape == (2, 5, 8)
    assert torch.equal(y[1, 3:], torch.zeros(2, 8))                 # padding is not routed
    real = h[mask]
    expected = torch.stack([sum(out.weights[n, j] * moe.experts[int(out.indices[n, j])](real[n])
                                for j in range(2)) for n in range(len(real))])
    assert torch.allclose(y[mask], expected, atol=1e-5)
    assert len(out.indices) == int(mask.sum())


def test_top_s_must_fit_the_experts():
    with pytest.raises(ValueError, match="top_s"):
        Router(8, 6, RouterConfig(n_experts=2, top_s=3))
