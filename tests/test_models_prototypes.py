"""Prototypes (MuEx §3.2, App. B): assignments, K-means++ with restarts, balancing, eq. 10-11."""

from __future__ import annotations

import math

import pytest
import torch

from babelface.models import prototypes as P
from babelface.models.prototypes import (PrototypeConfig, Prototypes, balance, kmeans, kmeans_pp_init,
                                         lloyd, match_to, squared_distances)

CENTRES = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])


def blobs(n_per=50, seed=0, sizes=None):
    g = torch.Generator().manual_seed(seed)
    sizes = sizes or [n_per] * len(CENTRES)
    x = torch.cat([c + 0.3 * torch.randn(n, 2, generator=g) for c, n in zip(CENTRES, sizes)])
    return x, torch.cat([torch.full((n,), i) for i, n in enumerate(sizes)])


def test_squared_distances_match_brute_force():
    z, c = torch.randn(7, 5), torch.randn(3, 5)
    brute = ((z[:, None] - c[None]) ** 2).sum(-1)
    assert torch.allclose(squared_distances(z, c), brute, atol=1e-5)


def test_soft_assignment_is_eq3_and_hard_code_is_argmin():
    proto = Prototypes(4, 3, PrototypeConfig(tau=0.5))
    z = torch.randn(2, 6, 3)
    d = ((z[..., None, :] - proto.centroids) ** 2).sum(-1)
    v = proto.soft(z)
    assert v.shape == (2, 6, 4)
    assert torch.allclose(v, torch.softmax(-d / 0.25, -1), atol=1e-5)
    assert torch.allclose(v.sum(-1), torch.ones(2, 6))
    assert torch.equal(proto.codes(z), d.argmin(-1))


def test_one_hot_codes_are_hard_forward_with_soft_gradient():
    proto = Prototypes(4, 3, PrototypeConfig(straight_through=True))
    z = torch.randn(5, 3, requires_grad=True)
    q = proto.one_hot(z)
    assert torch.allclose(q, torch.nn.functional.one_hot(proto.codes(z), 4).float())
    (q * torch.arange(4.0)).sum().backward()
    assert z.grad.abs().sum() > 0
    hard = Prototypes(4, 3, PrototypeConfig(straight_through=False)).one_hot(z)
    assert not hard.requires_grad


def test_variance_regulariser_is_eq11_on_the_unit_sphere():
    proto = Prototypes(3, 2, PrototypeConfig())
    with torch.no_grad():
        proto.centroids.copy_(CENTRES)
    unit = torch.nn.functional.normalize(CENTRES, dim=-1)
    expected = -((unit - unit.mean(0)) ** 2).sum(-1).mean()
    assert proto.variance_loss().item() == pytest.approx(float(expected))
    with torch.no_grad():
        proto.centroids.mul_(2)                        # scaling the parameter moves no prototype
    assert proto.variance_loss().item() == pytest.approx(float(expected))
    # bounded below: K unit vectors spread at most to −(1 − ‖c̄‖²) ≥ −1, so Adam cannot run away
    opt = torch.optim.Adam(proto.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        proto.variance_loss().backward()
        opt.step()
    assert -1.0 - 1e-6 <= proto.variance_loss().item() < float(expected)


def test_kmeans_finds_the_blobs():
    x, truth = blobs()
    result = kmeans(x, 3, restarts=3, iters=50, generator=torch.Generator().manual_seed(1))
    found = sorted(result.centroids.tolist())
    for f, c in zip(found, sorted(CENTRES.tolist())):
        assert math.dist(f, c) < 0.2
    assert result.distortion == pytest.approx(float(squared_distances(x, result.centroids).min(1).values.mean()),
                                              rel=1e-5)
    assert len(result.restart_distortions) == 3


def test_kmeans_pp_seeds_are_data_points_and_spread():
    x, _ = blobs()
    seeds = kmeans_pp_init(x, 3, torch.Generator().manual_seed(0))
    assert all(any(torch.equal(s, p) for p in x) for s in seeds)
    # D² seeding nearly always puts one seed in each well-separated blob
    owners = squared_distances(seeds, CENTRES).argmin(1)
    assert len(set(owners.tolist())) == 3


def test_kmeans_keeps_the_restart_with_lowest_distortion(monkeypatch):
    x, _ = blobs()
    bad = torch.tensor([[0.0, 0.1], [0.0, -0.1], [5.0, 5.0]])   # two seeds in one blob
    good = CENTRES.clone()
    inits = iter([bad, good, bad])
    monkeypatch.setattr(P, "kmeans_pp_init", lambda x, k, g: next(inits))
    result = kmeans(x, 3, restarts=3, iters=1)
    assert result.distortion == min(result.restart_distortions)
    assert result.restart_distortions[1] < result.restart_distortions[0]
    assert torch.allclose(result.centroids, lloyd(x, good, 1)[0])


def test_lloyd_reseeds_an_empty_cluster():
    x, _ = blobs()
    c = torch.tensor([[0.0, 0.0], [10.0, 0.0], [100.0, 100.0]])     # the third owns nothing
    centroids, labels, _ = lloyd(x, c, iters=10)
    assert torch.bincount(labels, minlength=3).min() > 0


def test_balance_caps_full_clusters_and_oversamples_thin_ones():
    x, labels = blobs(sizes=[100, 40, 5])
    centroids = torch.stack([x[labels == j].mean(0) for j in range(3)])
    xb, lb = balance(x, centroids, labels, s_thr=30, s_min=12, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(lb, minlength=3).tolist()
    assert counts == [30, 30, 12]
    # the capped cluster keeps exactly its 30 samples nearest to the centroid
    d = ((x[labels == 0] - centroids[0]) ** 2).sum(-1)
    kept = ((xb[lb == 0] - centroids[0]) ** 2).sum(-1)
    assert torch.allclose(torch.sort(kept).values, torch.sort(d).values[:30])
    # the thin cluster keeps its 5 members and gains 7 points on member–centroid segments (eq. 10)
    thin, members = xb[lb == 2], x[labels == 2]
    assert all(any(torch.equal(m, t) for t in thin) for m in members)
    for new in thin[5:]:
        on_segment = False
        for m in members:
            a = m - centroids[2]
            alpha = float((new - centroids[2]) @ a / (a @ a))
            if 0 <= alpha <= 1 and torch.allclose(centroids[2] + alpha * a, new, atol=1e-5):
                on_segment = True
        assert on_segment


def test_refresh_places_prototypes_and_keeps_their_identity():
    # features live on the unit sphere (z is L2-normalised): three tight clusters of directions
    g = torch.Generator().manual_seed(0)
    axes = torch.eye(3)
    x = torch.nn.functional.normalize(torch.cat([a + 0.05 * torch.randn(50, 3, generator=g) for a in axes]), dim=-1)
    proto = Prototypes(3, 3, PrototypeConfig(k=3, restarts=3))
    proto.refresh(x, torch.Generator().manual_seed(0))
    assert int(proto.refreshed) == 1
    first = proto.points().detach().clone()
    assert torch.allclose(first.norm(dim=-1), torch.ones(3), atol=1e-5)          # spherical K-means
    assert sorted(squared_distances(first, axes).argmin(1).tolist()) == [0, 1, 2]
    moved = torch.nn.functional.normalize(x + 0.02, dim=-1)                      # same clusters, moved
    proto.refresh(moved, torch.Generator().manual_seed(5))                       # other seeds
    assert torch.allclose(proto.points().detach(), first, atol=0.05)            # identities kept


def test_match_to_recovers_a_permutation():
    old = torch.randn(6, 4)
    perm = torch.randperm(6)
    assert torch.equal(old[perm][match_to(old, old[perm])], old)


def test_kmeans_refuses_too_few_points():
    with pytest.raises(ValueError, match="gather more frames"):
        kmeans(torch.randn(2, 3), 5)
