"""GRFSQ (VQTalker Alg. 1): codes, straight-through gradient, bitrate, residual refinement."""

import math

import pytest
import torch

from babelface.models.grfsq import FSQ, GRFSQ, GRFSQConfig, code_usage


def test_paper_bitrate_is_about_11_kbps():
    cfg = GRFSQConfig()                     # G = 12, R = 4, 5·5·5·5 = 625 codes, 25 fps
    assert cfg.codebook_size == 625
    assert cfg.bits_per_second() == pytest.approx(4 * 12 * math.log2(625) * 25)
    assert 11_100 < cfg.bits_per_second() < 11_200


def test_codes_shape_and_range():
    q = GRFSQ(GRFSQConfig(groups=3, residuals=2))
    out = q(torch.randn(2, 7, 12) * 3)
    assert out.codes.shape == (2, 3, 2, 7)
    assert out.codes.dtype == torch.int64
    assert int(out.codes.min()) >= 0 and int(out.codes.max()) < 625
    assert out.x.shape == (2, 7, 12)
    assert out.bandwidth == pytest.approx(2 * 3 * math.log2(625) * 25)
    assert out.usage.shape == (3,)


def test_even_levels_index_round_trip():
    fsq = FSQ((4, 6, 3))
    q, idx = fsq(torch.randn(500, 3) * 4)
    assert int(idx.max()) < 72 and len(torch.unique(idx)) > 40
    assert torch.allclose(fsq.from_indices(idx), q)


def test_decode_of_codes_equals_the_quantized_vector():
    q = GRFSQ(GRFSQConfig(groups=2, residuals=3))
    x = torch.randn(1, 50, 8)
    out = q(x)
    assert torch.allclose(q.decode(out.codes), out.x, atol=1e-6)


def test_straight_through_gradient_reaches_the_input():
    q = GRFSQ(GRFSQConfig(groups=2, residuals=4))
    x = (torch.rand(1, 20, 8) - 0.5).requires_grad_()
    q(x).x.sum().backward()
    # rounding has zero derivative; the straight-through estimator passes ≈ 1 near the centre
    assert x.grad is not None and bool((x.grad > 0.5).all()) and bool((x.grad < 1.5).all())


def test_each_residual_layer_reduces_the_error():
    torch.manual_seed(0)
    q = GRFSQ(GRFSQConfig(groups=4, residuals=4))
    x = torch.randn(4, 100, 16)
    target = q.bound(x)
    errors = [float((q(x, layers=r).x - target).abs().mean()) for r in range(1, 5)]
    assert all(b < 0.5 * a for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 0.01


def test_code_usage_counts_distinct_codes():
    codes = torch.tensor([0, 1, 2, 2, 3]).view(1, 1, 1, 5).expand(2, 2, 1, 5)
    usage = code_usage(codes, codebook_size=8)
    assert usage.shape == (2, 1)
    assert torch.allclose(usage, torch.full((2, 1), 0.5))


def test_wrong_width_is_refused():
    with pytest.raises(ValueError, match="48 channels"):
        GRFSQ(GRFSQConfig())(torch.zeros(1, 3, 47))
