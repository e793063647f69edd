"""The SyncNet port: MFCC front-end, face crops, architecture and weight loading (no public weights here)."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch

from babelface.errors import WeightsError
from babelface.metrics.sync import SyncEmbedding
from babelface.models import syncnet as sn


def tone_pcm() -> np.ndarray:
    t = np.arange(3200) / 16000
    x = 8000 * np.sin(2 * np.pi * 440 * t) + 3000 * np.sin(2 * np.pi * 1234 * t) * np.exp(-t * 5)
    return np.round(x).astype(np.int16)


def test_mfcc_matches_python_speech_features_known_values():
    # values printed by python_speech_features 0.6: mfcc(tone_pcm(), 16000)[5] and [-1]
    m = sn.syncnet_mfcc(tone_pcm())
    assert m.shape == (19, 13)
    np.testing.assert_allclose(m[5], [19.5241763857, 37.5105749911, -9.5512212401, -38.8405111987,
                                      -18.5089135742, -0.0533383574, -17.9979168095, -39.7239153819,
                                      -22.9059121654, 18.5672971672, 41.3662075278, 26.0232368424,
                                      -0.9420514395], rtol=1e-8)
    np.testing.assert_allclose(m[-1], [18.9701904474, 22.0245602350, -3.8324135436, -17.5884237351,
                                       -13.8478258959, -11.7066440489, -22.8532173886, -31.7880606064,
                                       -14.5031497904, 18.8288776449, 36.0944511981, 21.6821048970,
                                       -2.5020915362], rtol=1e-8)


def test_mfcc_matches_python_speech_features_when_installed(real):
    psf = pytest.importorskip("python_speech_features")
    from babelface.media import load_audio
    a = load_audio(real / "WDA_KatieHill_000.mp4")
    pcm = np.clip(np.round(a * 32768), -32768, 32767).astype(np.int16)
    np.testing.assert_allclose(sn.syncnet_mfcc(pcm), psf.mfcc(pcm, 16000), rtol=1e-9, atol=1e-9)


def test_audio_windows_are_four_mfcc_frames_apart():
    audio = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
    w = sn.audio_windows(audio)
    cc = sn.syncnet_mfcc(np.clip(np.round(audio.astype(np.float64) * 32768), -32768, 32767)).T
    assert w.shape == ((cc.shape[1] - 20) // 4 + 1, 1, 13, 20) == (20, 1, 13, 20)
    np.testing.assert_allclose(w[3, 0], cc[:, 12:32], rtol=1e-6)


def test_face_crop_follows_crop_video():
    import cv2
    from babelface.face.indices import FACE_OVAL
    h, w = 200, 300
    frame = (np.arange(h * w * 3) % 251).astype(np.uint8).reshape(h, w, 3)
    lm = np.full((9, 478, 3), 130.0, np.float32)
    lm[:, 90, :2] = 90
    lm[:, FACE_OVAL[0], :2] = (100, 50)
    lm[:, FACE_OVAL[1], :2] = (160, 130)
    crops = sn.face_crops(np.repeat(frame[None], 9, 0), lm)
    bs, bsi = 40.0, int(40 * 1.8)                                  # box 60×80 → bs = 40
    padded = np.pad(frame[..., ::-1], ((bsi, bsi), (bsi, bsi), (0, 0)), constant_values=110)
    my, mx = 90 + bsi, 130 + bsi
    expect = cv2.resize(padded[int(my - bs):int(my + bs * 1.8), int(mx - bs * 1.4):int(mx + bs * 1.4)], (224, 224))
    assert crops.shape == (9, 224, 224, 3)
    np.testing.assert_array_equal(crops[4], expect)


def test_crop_boxes_fill_faceless_frames_and_smooth():
    lm = np.full((20, 478, 3), 100.0, np.float32)
    lm[:, :, 0] += np.arange(478)[None] % 7
    lm[5:8] = np.nan
    boxes = sn.crop_boxes(lm)
    assert np.isfinite(boxes).all() and boxes.shape == (20, 3)
    with pytest.raises(ValueError, match="no face"):
        sn.crop_boxes(np.full((5, 478, 3), np.nan))


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    torch.manual_seed(0)
    net = sn._build_s()
    path = tmp_path_factory.mktemp("syncnet") / "syncnet_v2.model"
    torch.save(collections.OrderedDict(net.state_dict()), path)     # the original file's layout
    return path


def test_weights_load_with_weights_only_and_embed(random_weights):
    emb = sn.SyncNetEmbedding(random_weights)
    assert isinstance(emb, SyncEmbedding) and emb.window == 5 and emb.needs_frames
    a = emb.embed_audio(np.random.default_rng(1).normal(0, 0.1, 16000).astype(np.float32))
    assert a.shape == (20, 1024) and np.isfinite(a).all()
    frames = np.random.default_rng(2).integers(0, 255, (7, 96, 96, 3), dtype=np.uint8)
    lm = np.full((7, 478, 3), 48.0, np.float32)
    lm[:, :, :2] += np.random.default_rng(3).uniform(-20, 20, (478, 2))
    v = emb.embed_video(frames, lm)
    assert v.shape == (3, 1024) and np.isfinite(v).all()
    with pytest.raises(ValueError, match="frames"):
        emb.embed_video(None, lm)


def test_safetensors_weights_give_the_same_embeddings(random_weights, tmp_path):
    from safetensors.torch import save_file
    state = torch.load(random_weights, weights_only=True)
    st_path = tmp_path / "syncnet.safetensors"
    save_file({"__S__." + k: v.contiguous() for k, v in state.items()}, str(st_path))   # prefix stripped
    audio = np.random.default_rng(5).normal(0, 0.1, 8000).astype(np.float32)
    np.testing.assert_allclose(sn.SyncNetEmbedding(st_path).embed_audio(audio),
                               sn.SyncNetEmbedding(random_weights).embed_audio(audio), rtol=1e-6)


class NotATensor:
    pass


def test_bad_weight_files_are_refused(tmp_path, random_weights):
    with pytest.raises(WeightsError, match="not found"):
        sn.SyncNetEmbedding(tmp_path / "missing.model")
    pickled = tmp_path / "evil.model"
    torch.save({"netcnnaud.0.weight": NotATensor()}, pickled)        # an arbitrary object in a pickle
    with pytest.raises(WeightsError, match="cannot read"):
        sn.SyncNetEmbedding(pickled)
    partial = tmp_path / "partial.model"
    state = torch.load(random_weights, weights_only=True)
    state.pop("netfclip.3.weight")
    torch.save(state, partial)
    with pytest.raises(WeightsError, match="missing"):
        sn.SyncNetEmbedding(partial)
