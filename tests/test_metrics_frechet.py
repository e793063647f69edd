"""Fréchet distance: known answers, stability, the FID/FVD front-ends with a stand-in network."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from babelface.metrics import frechet as fr


def random_cov(rng, d: int, rank: int | None = None) -> np.ndarray:
    a = rng.normal(size=(d, rank or d))
    return a @ a.T / (rank or d)


@pytest.mark.parametrize("method", ["eig", "sqrtm"])
def test_gaussian_with_itself_is_zero(method):
    rng = np.random.default_rng(0)
    mu, s = rng.normal(size=8), random_cov(rng, 8)
    assert fr.frechet_distance(mu, s, mu, s, method) == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize("method", ["eig", "sqrtm"])
def test_diagonal_closed_form(method):
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    v1, v2 = rng.uniform(0.1, 3, 6), rng.uniform(0.1, 3, 6)
    closed = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum()
    assert fr.frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2), method) == pytest.approx(closed, rel=1e-9)


def test_one_dimensional_is_the_w2_distance():
    assert fr.frechet_distance([0.0], [[4.0]], [3.0], [[1.0]]) == pytest.approx(9 + (2 - 1) ** 2)


def test_methods_agree_and_eig_survives_singular_covariances():
    rng = np.random.default_rng(2)
    s1, s2 = random_cov(rng, 20), random_cov(rng, 20)
    mu1, mu2 = rng.normal(size=20), rng.normal(size=20)
    assert fr.frechet_distance(mu1, s1, mu2, s2, "eig") == pytest.approx(
        fr.frechet_distance(mu1, s1, mu2, s2, "sqrtm"), rel=1e-6)
    # fewer samples than dimensions: rank-deficient covariances (the usual FVD-on-few-clips case)
    a, b = rng.normal(size=(10, 64)), rng.normal(size=(12, 64)) + 0.5
    d = fr.frechet_from_features(a, b)
    assert np.isfinite(d) and d > 0
    assert d == pytest.approx(fr.frechet_from_features(a, b, "sqrtm"), rel=1e-4)


def test_fit_gaussian_needs_two_samples():
    with pytest.raises(ValueError, match="two feature vectors"):
        fr.fit_gaussian(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="shape mismatch"):
        fr.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 12), st.integers(0, 10_000))
def test_symmetric_nonnegative_and_zero_on_identity(d, seed):
    rng = np.random.default_rng(seed)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = random_cov(rng, d, rank=max(1, d // 2)), random_cov(rng, d)
    ab = fr.frechet_distance(mu1, s1, mu2, s2)
    assert ab >= 0 and ab == pytest.approx(fr.frechet_distance(mu2, s2, mu1, s1), rel=1e-6, abs=1e-8)
    assert fr.frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-7)


def mean_colour(batch: np.ndarray) -> np.ndarray:
    """A stand-in feature network: per-sample mean colour and its temporal/spatial spread."""
    x = batch.astype(np.float64).reshape(len(batch), -1, 3)
    return np.concatenate([x.mean(1), x.std(1)], axis=1)


def test_video_clips_follow_the_protocol():
    frames = np.zeros((50, 8, 8, 3), np.uint8)
    assert fr.video_clips(frames).shape == (3, 16, 8, 8, 3)
    assert fr.video_clips(frames[:15]).shape[0] == 0
    one = fr.FVDProtocol(max_clips_per_video=1)
    assert fr.video_clips(frames, one).shape[0] == 1
    assert "clip_frames=16" in fr.FVD_PROTOCOL.describe()


def test_fvd_and_fid_front_ends():
    rng = np.random.default_rng(3)
    videos = [rng.integers(0, 255, (48, 8, 8, 3), dtype=np.uint8) for _ in range(4)]
    darker = [(v * 0.5).astype(np.uint8) for v in videos]
    assert fr.fvd(videos, videos, mean_colour) == pytest.approx(0.0, abs=1e-8)
    assert fr.fvd(videos, darker, mean_colour) > 100
    assert fr.fid([v[::8] for v in videos], [v[::8] for v in videos], mean_colour) == pytest.approx(0.0, abs=1e-8)
    with pytest.raises(ValueError, match="no input"):
        fr.fvd([v[:5] for v in videos], videos, mean_colour)
