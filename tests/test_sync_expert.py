"""The sync expert model: shapes, token geometry, time equivariance, checkpoints, shipped weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from babelface.errors import WeightsError
from babelface.media.features import mel_features
from babelface.models.sync_expert import (SyncExpert, SyncExpertConfig, default_weights_path,
                                          load_sync_expert, normalize_motion)

TINY = SyncExpertConfig(dim=16, audio_channels=24, visual_channels=24, dropout=0.0)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return SyncExpert(TINY).eval()


def test_one_unit_token_per_video_frame(tiny):
    mel = torch.randn(2, 4 * 30, 80)
    motion = torch.randn(2, 30, 111, 3) * 0.05
    a, v = tiny(mel, motion)
    assert a.shape == v.shape == (2, 30, 16)
    np.testing.assert_allclose(a.norm(dim=-1).detach().numpy(), 1.0, atol=1e-5)
    np.testing.assert_allclose(v.norm(dim=-1).detach().numpy(), 1.0, atol=1e-5)


def test_tokens_shift_with_the_input(tiny):
    """No absolute-position leak: a circularly rolled input gives rolled tokens away from the edges
    (the per-clip normalisations see the same frames), so S(Δ) measures content, not position."""
    torch.manual_seed(1)
    mel, motion, s = torch.randn(1, 4 * 60, 80), torch.randn(1, 60, 111, 3) * 0.05, 7
    a, v = tiny(mel, motion)
    a2, v2 = tiny(torch.roll(mel, 4 * s, dims=1), torch.roll(motion, s, dims=1))
    inner = slice(15, 40)
    rf = TINY.receptive_field
    assert rf == 11
    np.testing.assert_allclose(a2[0, s + 15:s + 40].detach(), a[0, inner].detach(), atol=1e-4)
    np.testing.assert_allclose(v2[0, s + 15:s + 40].detach(), v[0, inner].detach(), atol=1e-4)


def test_motion_normalisation_removes_offset_and_scale():
    torch.manual_seed(2)
    m = torch.randn(1, 40, 61, 3) * 0.03
    ref = normalize_motion(m)
    np.testing.assert_allclose(normalize_motion(3 * m + 0.2), ref, atol=1e-5)
    assert abs(float(ref.pow(2).mean()) - 1.0) < 1e-4
    still = normalize_motion(torch.full((1, 40, 61, 3), 0.5) + 1e-4 * torch.randn(1, 40, 61, 3))
    assert float(still.abs().max()) < 0.1          # a still face is not blown up to unit scale


def test_missing_face_frames_do_not_poison_the_clip(tiny):
    torch.manual_seed(3)
    motion = torch.randn(1, 30, 111, 3) * 0.05
    bad = motion.clone()
    bad[0, 10:13] = float("nan")
    valid = torch.isfinite(bad).all(-1).all(-1)
    v = tiny.encode_motion(torch.nan_to_num(bad), valid)
    assert torch.isfinite(v).all()


def test_mel_features_four_frames_per_video_frame():
    audio = np.random.default_rng(0).standard_normal(16000 + 100).astype(np.float32) * 0.1
    mel = mel_features(audio, normalized=False, pad="silence")
    assert mel.shape == (4 * 26, 80)              # ceil(16100 / 640) = 26 video frames
    assert mel.dtype == np.float32 and np.isfinite(mel).all()


def test_checkpoint_round_trip_keeps_config_and_outputs(tiny, tmp_path):
    path = tiny.save_pretrained(tmp_path / "e.safetensors", note="x")
    back = SyncExpert.from_pretrained(path)
    assert back.cfg == TINY and back.checkpoint_meta["note"] == "x"
    mel, motion = torch.randn(1, 80, 80), torch.randn(1, 20, 111, 3) * 0.05
    for x, y in zip(tiny(mel, motion), back(mel, motion)):
        np.testing.assert_allclose(x.detach(), y.detach(), atol=1e-6)


def test_bad_checkpoints_give_weights_errors(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        SyncExpert.from_pretrained(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file at all")
    with pytest.raises(WeightsError, match="cannot read"):
        SyncExpert.from_pretrained(junk)
    from safetensors.torch import save_file
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other), metadata={"format": "something.else"})
    with pytest.raises(WeightsError, match="not a babelface sync expert"):
        SyncExpert.from_pretrained(other)


def test_shipped_weights_are_small_and_load():
    path = default_weights_path()
    if not path.exists():
        pytest.fail("the shipped sync expert is missing: `make model-sync` rebuilds it")
    assert path.stat().st_size < 5_000_000
    model = load_sync_expert()
    assert model is load_sync_expert()             # cached
    assert not model.training
    assert model.cfg.audio_encoder == "mel"
