"""SyncLipMAE's multi-positive InfoNCE, the offset curve, and the sync loss for MuEx."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from babelface.models.sync_expert import SyncExpert, SyncExpertConfig
from babelface.models.sync_loss import (ContrastiveConfig, SyncLoss, audio_descriptors,
                                        contrastive_loss, multi_positive_infonce, offset_scores,
                                        positive_mask, shift_curve_loss)


def _tokens(b=2, t=40, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(b, t, d, generator=g), dim=-1)


def test_positive_mask_neighbours_and_self_similarity():
    p = positive_mask(2, 5, k=1)
    assert p.shape == (10, 10) and torch.equal(p, p.T)
    assert p[2, 1] and p[2, 3] and not p[2, 4]
    assert not p[4, 5]                                   # frame 4 of clip 0 vs frame 0 of clip 1
    desc = torch.zeros(2, 5, 3)
    desc[..., 0] = 1.0                                   # every frame sounds the same …
    desc[0, 4] = torch.tensor([0.0, 1.0, 0.0])           # … but one
    q = positive_mask(2, 5, k=1, descriptors=desc, threshold=0.9, cross_clip=False)
    assert q[0, 3] and not q[0, 4] and not q[0, 7]       # same sound ⇒ positive, within the clip
    r = positive_mask(2, 5, k=1, descriptors=desc, threshold=0.9, cross_clip=True)
    assert r[0, 7]


def test_positive_mask_stays_on_the_descriptors_device():
    """On a GPU the within-clip mask was built on the CPU beside CUDA similarities (found by
    benchmarks/gpu_train.py); the meta device stands in for CUDA here."""
    desc = torch.zeros(2, 5, 3, device="meta")
    q = positive_mask(2, 5, k=1, descriptors=desc, threshold=0.9, cross_clip=False)
    assert q.device.type == "meta" and q.shape == (10, 10)


def test_infonce_matches_the_formula_on_a_tiny_case():
    """One clip, T = 3, k = 0: L = −½ Σ_t/T [log p_{t→t} + log p_{t→t}^{video}]."""
    a = F.normalize(torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]]), dim=-1)
    v = F.normalize(torch.tensor([[[1.0, 0.2], [0.1, 1.0], [1.0, 0.8]]]), dim=-1)
    tau = 0.5
    logits = (a[0] @ v[0].T) / tau
    expected = -0.5 * (torch.log_softmax(logits, 1).diag().mean() + torch.log_softmax(logits, 0).diag().mean())
    got = multi_positive_infonce(a, v, positive_mask(1, 3, k=0), tau=tau)
    assert math.isclose(float(got), float(expected), rel_tol=1e-5)
    # cross-clip candidates change nothing for a single clip
    got2 = multi_positive_infonce(a, v, positive_mask(1, 3, k=0), tau=tau, cross_clip=True)
    assert math.isclose(float(got2), float(expected), rel_tol=1e-5)


def test_infonce_prefers_aligned_streams_and_ignores_invalid_frames():
    a = _tokens()
    pos = positive_mask(2, 40, k=1)
    aligned = multi_positive_infonce(a, a, pos)
    shifted = multi_positive_infonce(a, torch.roll(a, 5, dims=1), pos)
    assert float(aligned) < 0.5 * float(shifted)
    valid = torch.ones(2, 40, dtype=torch.bool)
    valid[:, 30:] = False
    junk = a.clone()
    junk[:, 30:] = _tokens(seed=9)[:, 30:]
    assert math.isclose(float(multi_positive_infonce(a, junk, pos, valid)),
                        float(multi_positive_infonce(a, a, pos, valid)), rel_tol=1e-5)


def test_offset_scores_find_a_known_shift_with_the_papers_sign():
    """Video lagging audio by 4 frames: v_{t+4} = A_t ⇒ S(Δ) peaks at Δ = +4."""
    a = _tokens(1, 60)
    v = torch.roll(a, 4, dims=1)
    s = offset_scores(a, v, 15)
    assert s.shape == (1, 31)
    assert int(s.argmax()) - 15 == 4
    assert math.isclose(float(s[0, 15 + 4]), 1.0, rel_tol=1e-5)


def test_shift_curve_loss_is_low_only_when_aligned():
    a = _tokens(2, 50)
    assert float(shift_curve_loss(a, a)) < 0.01
    assert float(shift_curve_loss(a, torch.roll(a, 3, dims=1))) > 5.0


def test_contrastive_loss_reports_both_terms():
    a = _tokens(2, 40)
    mel = torch.randn(2, 160, 80)
    loss, logs = contrastive_loss(a, a, ContrastiveConfig(), descriptors=audio_descriptors(mel))
    assert set(logs) == {"l_cl", "l_shift"} and torch.isfinite(loss)
    _, logs0 = contrastive_loss(a, a, ContrastiveConfig(shift_weight=0.0))
    assert set(logs0) == {"l_cl"}


@pytest.fixture(scope="module")
def tiny_expert():
    torch.manual_seed(0)
    return SyncExpert(SyncExpertConfig(dim=16, audio_channels=24, visual_channels=24, dropout=0.0))


@pytest.mark.parametrize("mode", ["infonce", "cosine"])
def test_sync_loss_trains_the_motion_not_the_expert(tiny_expert, mode):
    loss_fn = SyncLoss(tiny_expert, mode=mode)
    torch.manual_seed(1)
    mel = torch.randn(2, 4 * 30, 80)
    motion = (0.05 * torch.randn(2, 30, 111, 3)).requires_grad_()
    before = [p.clone() for p in tiny_expert.parameters()]
    loss = loss_fn(mel, motion)
    loss.backward()
    assert motion.grad is not None and float(motion.grad.abs().sum()) > 0
    assert all(p.grad is None for p in tiny_expert.parameters())
    # a few steps on the motion alone lower the loss; the expert is untouched
    opt = torch.optim.Adam([motion], lr=1e-2)
    first = float(loss.detach())
    for _ in range(20):
        opt.zero_grad()
        loss_fn(mel, motion).backward()
        opt.step()
    assert float(loss_fn(mel, motion).detach()) < first
    assert all(torch.equal(p, q) for p, q in zip(before, tiny_expert.parameters()))
    loss_fn.train()
    assert not loss_fn.expert.training


def test_sync_loss_rejects_unknown_modes(tiny_expert):
    with pytest.raises(ValueError, match="mode"):
        SyncLoss(tiny_expert, mode="l2")


def test_sync_loss_from_the_shipped_expert():
    from babelface.models.sync_expert import default_weights_path
    if not default_weights_path().exists():
        pytest.fail("the shipped sync expert is missing: `make model-sync` rebuilds it")
    loss_fn = SyncLoss()
    mel = torch.randn(1, 4 * 40, 80)
    motion = (0.05 * torch.randn(1, 40, 111, 3)).requires_grad_()
    loss_fn(mel, motion).backward()
    assert np.isfinite(motion.grad.numpy()).all()
