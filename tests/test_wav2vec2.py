"""The plain-PyTorch wav2vec 2.0 encoder against Hugging Face transformers' own outputs.

tests/data/w2v_{base,stable}: tiny random checkpoints written by transformers 4.49
(``save_pretrained(safe_serialization=True)``) with the hidden states it computed for the stored
audio (post-norm/group-norm "base" and pre-norm/layer-norm "stable" variants).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from babelface.errors import WeightsError
from babelface.models.wav2vec2 import load_wav2vec2, wav2vec2_features

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("variant", ["base", "stable"])
def test_hidden_states_match_transformers(variant):
    folder = DATA / f"w2v_{variant}"
    ref = np.load(folder / "reference.npz")
    enc = load_wav2vec2(folder)
    with torch.no_grad():
        states = enc(torch.from_numpy(ref["audio"])[None])
    got = np.stack([s[0].numpy() for s in states])
    assert got.shape == ref["hidden"].shape
    np.testing.assert_allclose(got, ref["hidden"], atol=2e-4, rtol=1e-3)
    assert not any(p.requires_grad for p in enc.parameters())


@pytest.mark.parametrize("rate_match", ["pool", "resample"])
def test_features_one_row_per_video_frame_all_layers(rate_match):
    enc = load_wav2vec2(DATA / "w2v_base")
    audio = np.random.default_rng(0).standard_normal(16000 + 100).astype(np.float32)
    feats = wav2vec2_features(enc, audio, rate_match)
    assert feats.shape == (26, 2 * 32)            # ceil(16100 / 640) frames, L·H = 2·32
    assert np.isfinite(feats).all()


def test_missing_or_pickled_checkpoints_are_refused(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        load_wav2vec2(tmp_path / "nope")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(WeightsError, match="never unpickles"):
        load_wav2vec2(tmp_path)
