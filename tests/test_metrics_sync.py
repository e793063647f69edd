"""The sync protocols: the SyncNet reference computation, known shifts, lag metrics, R-precision."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from babelface.errors import WeightsError
from babelface.metrics import sync


def shifted_pair(shift: int, n: int = 60, d: int = 16, seed: int = 0):
    """Audio and video window embeddings where the video lags the audio by ``shift`` frames."""
    z = np.random.default_rng(seed).normal(size=(n + 2 * sync.VSHIFT, d))
    audio = z[sync.VSHIFT:sync.VSHIFT + n]
    video = z[sync.VSHIFT - shift:sync.VSHIFT - shift + n]       # v_t = a_{t - shift}
    return audio, video


def reference_calc_pdist(feat1: np.ndarray, feat2: np.ndarray, vshift: int) -> np.ndarray:
    """syncnet_python's calc_pdist, in torch, for comparison."""
    f1, f2 = torch.from_numpy(feat1).double(), torch.from_numpy(feat2).double()
    win = vshift * 2 + 1
    f2p = torch.nn.functional.pad(f2, (0, 0, vshift, vshift))
    return torch.stack([torch.nn.functional.pairwise_distance(f1[[i], :].repeat(win, 1), f2p[i:i + win, :])
                        for i in range(len(f1))]).numpy()


def test_distance_curves_match_the_reference_code():
    rng = np.random.default_rng(0)
    v, a = rng.normal(size=(300, 32)), rng.normal(size=(300, 32))     # > one block of 128
    np.testing.assert_allclose(sync.distance_curves(v, a, 15), reference_calc_pdist(v, a, 15), rtol=1e-12)
    np.testing.assert_allclose(sync.distance_curves(v[:7], a[:7], 3), reference_calc_pdist(v[:7], a[:7], 3))


def test_scores_follow_the_reference_formulas():
    rng = np.random.default_rng(1)
    v, a = rng.normal(size=(40, 8)), rng.normal(size=(40, 8))
    s = sync.sync_scores(v, a)
    mdist = reference_calc_pdist(v, a, 15).mean(0)
    minidx = int(np.argmin(mdist))
    assert s.av_offset == 15 - minidx
    assert s.sync_d == pytest.approx(mdist.min())
    assert s.sync_c == pytest.approx(float(torch.median(torch.from_numpy(mdist))) - mdist.min())
    assert s.curve.shape == (31,) and s.framewise_conf.shape == (40,) and s.n_windows == 40
    assert list(s.offsets[[0, 15, 30]]) == [15, 0, -15]


@pytest.mark.parametrize("shift", [-15, -10, -5, -2, 0, 1, 2, 5, 10, 15])
def test_known_shift_is_recovered_exactly(shift):
    audio, video = shifted_pair(shift)
    s = sync.sync_scores(video, audio)
    assert s.av_offset == shift                                    # positive: video lags audio
    assert s.curve[15 - shift] == s.sync_d and s.sync_c > 0
    assert sync.estimate_lag(audio, video) == shift
    lags, curve = sync.lag_curve(audio, video)
    assert curve[list(lags).index(shift)] == pytest.approx(0.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(-15, 15), st.integers(20, 80), st.integers(2, 24), st.integers(0, 10_000),
       st.sampled_from(["l2", "cosine"]))
def test_random_shifts_are_recovered(shift, n, d, seed, distance):
    audio, video = shifted_pair(shift, n, d, seed)
    assert sync.estimate_lag(audio, video, distance=distance) == shift
    assert sync.sync_scores(video, audio).av_offset == shift


def test_window_count_follows_the_reference():
    assert sync.usable_frames(200, 200 * 640) == 200
    assert sync.usable_frames(200, 150 * 640 + 639) == 150
    assert sync.n_windows(200, 200 * 640) == 195          # lastframe = min_length - 5
    assert sync.n_windows(4, 10 ** 6) == 0


class SignalEmbedding:
    """A toy embedding: the audio carries a per-frame level, landmark 0's x the same level (delayed)."""

    name = "toy"
    window = 5
    needs_frames = False

    def embed_audio(self, audio):
        levels = audio[: len(audio) // 640 * 640].reshape(-1, 640).mean(1)
        return np.lib.stride_tricks.sliding_window_view(levels, 5)

    def embed_video(self, frames, landmarks):
        return np.lib.stride_tricks.sliding_window_view(landmarks[:, 0, 0], 5)


@pytest.mark.parametrize("shift", [-4, 0, 3])
def test_evaluate_sync_end_to_end(shift):
    rng = np.random.default_rng(2)
    level = rng.normal(size=120 + 40)
    audio = np.repeat(level[20:140], 640).astype(np.float32)
    landmarks = np.zeros((120, 478, 3), np.float32)
    landmarks[:, 0, 0] = level[20 - shift:140 - shift]             # the mouth follows `shift` frames late
    s = sync.evaluate_sync(SignalEmbedding(), audio, landmarks)
    assert s.av_offset == shift and s.n_windows == 115
    with pytest.raises(ValueError, match="no complete"):
        sync.evaluate_sync(SignalEmbedding(), audio[:640 * 5], landmarks[:5])


def test_lag_metrics():
    m = sync.lag_metrics([0, 2, -7, 20], [0, 0, 0, 0])
    assert m == {"offset": 7.25, "acc@1": 0.25, "acc@5": 0.5, "acc@15": 0.75}


def test_r_precision_perfect_and_chance():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(200, 64))
    perfect = sync.r_precision(a, a + 1e-3 * rng.normal(size=a.shape))
    assert perfect == {"r@1": 1.0, "r@2": 1.0, "r@3": 1.0}
    chance = sync.r_precision(a, rng.normal(size=(200, 64)))
    for k in (1, 2, 3):
        assert abs(chance[f"r@{k}"] - k / 32) < 0.06
    assert sync.r_precision(a, a.copy()) == {"r@1": 1.0, "r@2": 1.0, "r@3": 1.0}
    same = np.ones((10, 4))
    assert sync.r_precision(same, same)["r@3"] == 0.0           # ties count against the match


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 60), st.integers(1, 5), st.integers(0, 100))
def test_r_precision_is_monotone_in_k(b, k, seed):
    rng = np.random.default_rng(seed)
    r = sync.r_precision(rng.normal(size=(b, 3)), rng.normal(size=(b, 3)), ks=range(1, k + 2))
    vals = list(r.values())
    assert all(0.0 <= x <= 1.0 for x in vals) and vals == sorted(vals)


# --- embedding lookup ----------------------------------------------------------------------------

def toy_factory():
    return SignalEmbedding()


def test_no_embedding_gives_a_reason(monkeypatch):
    monkeypatch.setattr(sync, "DEFAULT_ORDER", ("sync_expert",))
    monkeypatch.setitem(sync.EMBEDDINGS, "sync_expert", "babelface.models.no_such_module:sync_embedding")
    emb, why = sync.resolve_embedding(None)
    assert emb is None and "--syncnet" in why and "not installed" in why


def test_registered_default_is_used(monkeypatch):
    monkeypatch.setattr(sync, "EMBEDDINGS", dict(sync.EMBEDDINGS))
    sync.register_embedding("toy", f"{__name__}:toy_factory")
    monkeypatch.setattr(sync, "DEFAULT_ORDER", ("toy",))
    emb, why = sync.resolve_embedding(None)
    assert isinstance(emb, sync.SyncEmbedding) and why == "toy"
    with pytest.raises(ValueError):
        sync.register_embedding("bad", "no colon")


def test_named_syncnet_weights_that_do_not_exist(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        sync.resolve_embedding(str(tmp_path / "syncnet_v2.model"))


def test_fixed_support_removes_the_zero_padding_bias_of_unit_norm_embeddings():
    """Unit-norm tokens sit at distance 1 from the reference's zero padding and ~√2 from unrelated
    tokens, so with a weak signal (15 % of frames related, as speech in a real clip) the padded
    curve's minimum drifts to an edge; the fixed support recovers the shift."""
    from babelface.metrics.sync import sync_scores
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)   # noqa: E731
    n, dim, lag = 200, 64, 3                                   # the video lags the audio by 3 frames
    padded, fixed = [], []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        a = rng.standard_normal((n + lag, dim))
        speech = rng.random(n) < 0.15
        v = rng.standard_normal((n, dim))
        v[speech] = a[:n][speech] + 4.0 * rng.standard_normal((int(speech.sum()), dim))
        a, v = unit(a[lag:]), unit(v)                            # video frame t ↔ audio frame t − lag
        padded.append(sync_scores(v, a).av_offset)
        f = sync_scores(v, a, support="fixed")
        fixed.append(f.av_offset)
        assert f.n_windows == n - 2 * 15
    assert sum(abs(o) >= 12 for o in padded) >= 4               # the bias: edge offsets win
    assert sum(o == lag for o in fixed) >= 7
    short = sync_scores(v[:40], a[:40], support="fixed")         # too short: falls back to padded
    assert short.n_windows == 40
    with pytest.raises(ValueError, match="support"):
        sync_scores(v, a, support="nope")


def test_one_shift_curve_behind_the_tool_the_loss_and_the_metric():
    """Issue 12: babelface.sync's S(Δ), the sync loss's batched S(Δ) and SyncLipMAE §5's D(τ)
    (cosine distance) are one implementation (metrics.sync.shift_sums): 1 − S(Δ) = D(Δ)."""
    import torch
    from babelface.models.sync_loss import offset_scores
    from babelface.sync import offset_curve
    rng = np.random.default_rng(4)
    a = rng.standard_normal((40, 8))
    v = np.roll(a, 3, axis=0) + 0.3 * rng.standard_normal((40, 8))       # the video lags by 3
    a, v = a / np.linalg.norm(a, axis=1, keepdims=True), v / np.linalg.norm(v, axis=1, keepdims=True)
    tool = offset_curve(a, v, 5, support="overlap")
    loss = offset_scores(torch.from_numpy(a)[None], torch.from_numpy(v)[None], 5)[0].numpy()
    lags, dist = sync.lag_curve(a, v, 5, distance="cosine")
    np.testing.assert_allclose(tool, loss, atol=1e-12)
    np.testing.assert_allclose(1 - tool, dist, atol=1e-12)
    assert lags[np.argmax(tool)] == 3 and sync.estimate_lag(a, v, 5, "cosine") == 3
