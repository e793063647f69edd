"""PV-Align (MuEx eq. 1-2, App. C): discriminator, JS estimator, negative sampling, the two steps."""

from __future__ import annotations

import math

import pytest
import torch

from babelface.models.mi import (CHANCE, NEGATIVE_KINDS, Discriminator, MIConfig, PVAlign,
                                 discriminator_loss, frozen, js_mi, sample_pairs)


def test_discriminator_is_eq12_with_the_c5_c8_stabilisers():
    d = Discriminator(6, 4, d_h=512, dropout=0.1)
    assert d(torch.randn(10, 6), torch.randn(10, 4)).shape == (10,)
    assert d.w1.weight.shape == (512, 10) and d.w2.weight.shape == (512, 512) and d.w3.weight.shape == (1, 512)
    for layer in (d.w1, d.w2):                       # spectral norm on W1 and W2 only
        assert hasattr(layer, "parametrizations") and "weight" in layer.parametrizations
    assert not hasattr(d.w3, "parametrizations")
    assert d.norm_x.normalized_shape == (6,) and d.norm_y.normalized_shape == (4,)
    assert d.drop.p == 0.1
    for _ in range(20):                               # power iterations run in training mode
        d(torch.randn(4, 6), torch.randn(4, 4))
    d.eval()
    with torch.no_grad():                             # spectral norm: top singular value ≈ 1
        assert float(torch.linalg.matrix_norm(d.w2.weight, ord=2)) == pytest.approx(1.0, abs=0.05)


def test_js_estimator_endpoints():
    big = torch.full((100,), 30.0)
    assert float(js_mi(big, -big)) == pytest.approx(0.0, abs=1e-6)            # perfect critic
    zero = torch.zeros(100)
    assert float(js_mi(zero, zero)) == pytest.approx(CHANCE) == -2 * math.log(2)
    pos, neg = torch.randn(50), torch.randn(150)
    assert float(discriminator_loss(pos, neg, 0.0)) == pytest.approx(-float(js_mi(pos, neg)), rel=1e-6)
    # label smoothing: the best constant logit for positives is log((1-ε)/ε), not +∞
    eps = 0.05
    logits = torch.linspace(0, 6, 601)
    losses = [float(discriminator_loss(l.reshape(1), -l.reshape(1), eps)) for l in logits]
    assert float(logits[int(torch.tensor(losses).argmin())]) == pytest.approx(math.log((1 - eps) / eps), abs=0.02)


def test_negative_pairs_follow_c3_and_the_1_to_3_ratio():
    mask = torch.zeros(4, 10, dtype=torch.bool)
    for b, n in enumerate([10, 7, 10, 4]):
        mask[b, :n] = True
    speaker = torch.tensor([0, 0, 1, 2])
    pairs = sample_pairs(mask, speaker, generator=torch.Generator().manual_seed(0))
    n_pos = int(mask.sum())
    assert len(pairs.pos) == n_pos
    assert torch.bincount(pairs.neg_kind, minlength=3).tolist() == [n_pos] * 3       # 1:3
    for idx in (pairs.pos, pairs.neg_x, pairs.neg_y):
        assert mask[idx[:, 0], idx[:, 1]].all()                                    # never padding
    kind = {k: pairs.neg_kind == i for i, k in enumerate(NEGATIVE_KINDS)}
    x, y = pairs.neg_x, pairs.neg_y
    t = kind["temporal"]
    assert torch.equal(x[t, 0], y[t, 0]) and (x[t, 1] != y[t, 1]).all()
    u = kind["utterance"]
    assert (x[u, 0] != y[u, 0]).all()
    s = kind["speaker"]
    assert (speaker[x[s, 0]] != speaker[y[s, 0]]).all()


def test_without_speaker_labels_the_ratio_is_1_to_2():
    mask = torch.ones(3, 5, dtype=torch.bool)
    for speaker in (None, torch.tensor([-1, -1, -1]), torch.tensor([4, 4, 4])):
        pairs = sample_pairs(mask, speaker)
        assert len(pairs.neg_x) == 2 * 15
    one = sample_pairs(torch.ones(1, 1, dtype=torch.bool), None)                  # nothing to shuffle
    assert len(one.pos) == 1 and len(one.neg_x) == 0


def test_max_pairs_subsamples_positives():
    pairs = sample_pairs(torch.ones(4, 50, dtype=torch.bool), torch.arange(4), max_pairs=32)
    assert len(pairs.pos) == 32 and len(pairs.neg_x) == 96


def test_estimator_separates_dependent_from_independent_pairs():
    g = torch.Generator().manual_seed(0)
    b, t, d = 8, 16, 4
    mask = torch.ones(b, t, dtype=torch.bool)

    def draw(dependent: bool):
        x = torch.randn(b, t, d, generator=g)
        y = x + 0.1 * torch.randn(b, t, d, generator=g) if dependent else torch.randn(b, t, d, generator=g)
        pairs = sample_pairs(mask, None, ("utterance",), generator=g)
        return x, y, pairs

    def logits(disc, x, y, pairs):
        pos = disc(x[pairs.pos[:, 0], pairs.pos[:, 1]], y[pairs.pos[:, 0], pairs.pos[:, 1]])
        return pos, disc(x[pairs.neg_x[:, 0], pairs.neg_x[:, 1]], y[pairs.neg_y[:, 0], pairs.neg_y[:, 1]])

    estimates = {}
    for dependent in (True, False):
        torch.manual_seed(0)
        disc = Discriminator(d, d, d_h=64, dropout=0.0)
        opt = torch.optim.Adam(disc.parameters(), 3e-3)
        for _ in range(150):                                   # fresh samples every step
            loss = discriminator_loss(*logits(disc, *draw(dependent)), 0.0)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():                                  # estimated on held-out samples
            estimates[dependent] = float(js_mi(*logits(disc.eval(), *draw(dependent))))
    assert estimates[True] > CHANCE + 0.8
    assert abs(estimates[False] - CHANCE) < 0.1


def test_mi_step_trains_only_the_critic_and_model_step_only_the_features():
    cfg = MIConfig(d_hidden=32)
    critic = PVAlign(k=5, d_z=3, cfg=cfg)
    mask = torch.ones(2, 6, dtype=torch.bool)
    q_p, q_v = torch.rand(2, 6, 5, requires_grad=True), torch.rand(2, 6, 5, requires_grad=True)
    z_p, z_v = torch.randn(2, 6, 3, requires_grad=True), torch.randn(2, 6, 3, requires_grad=True)
    pairs = sample_pairs(mask, torch.tensor([0, 1]))
    loss, i_q, i_z = critic(q_p, q_v, z_p, z_v, pairs)
    loss.backward()
    assert all(p.grad is not None for p in critic.parameters())
    assert q_p.grad is None and z_p.grad is None                   # detached: features untouched
    critic.zero_grad()
    with frozen(critic):
        align, i_q, i_z = critic.align_loss(q_p, q_v, z_p, z_v, pairs)
        assert not critic.training
    align.backward()
    assert all(p.grad is None for p in critic.parameters())        # ψ frozen
    assert q_p.grad.abs().sum() > 0 and z_v.grad.abs().sum() > 0
    assert critic.training and all(p.requires_grad for p in critic.parameters())
    with frozen(critic):
        a2, iq2, iz2 = critic.align_loss(q_p, q_v, z_p, z_v, pairs)
    assert a2.item() == pytest.approx(-iq2.item() + cfg.lambda_neg * iz2.item(), rel=1e-5)   # eq. 1
