"""MuEx as a whole: shapes, eq. 5-6 in motion space, the ablations, inference API, weights I/O."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from babelface.errors import InputError, WeightsError
from babelface.models import muex as M
from babelface.media.features import mel_features
from babelface.models.muex import MuEx, generation_loss
from babelface.train.builders import load_config


@pytest.fixture(scope="module")
def cfg():
    return load_config("tiny").model


def model(cfg, **changes) -> MuEx:
    from dataclasses import replace
    torch.manual_seed(0)
    return MuEx(replace(cfg, **changes))


def batch(b=2, t=12):
    g = torch.Generator().manual_seed(0)
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[-1, t - 3:] = False
    return torch.randn(b, 4 * t, 80, generator=g), mask, 0.05 * torch.randn(b, t, 111, 3, generator=g)


@pytest.mark.parametrize("variant", [dict(), dict(use_moe=False, use_pv_align=False), dict(use_pv_align=False)])
def test_forward_shapes_for_the_table3_variants(cfg, variant):
    m = model(cfg, **variant)
    mel, mask, motion = batch()
    out = m(mel, mask, motion, step=0)
    assert out.motion.shape == (2, 12, 111, 3)
    assert out.z_p.shape == (2, 12, cfg.d_z)
    assert torch.allclose(out.z_p.norm(dim=-1), torch.ones(2, 12), atol=1e-5)
    use_moe, use_align = variant.get("use_moe", True), variant.get("use_pv_align", True)
    assert (out.router is not None) == use_moe
    assert (out.v is not None) == (use_moe or use_align)
    if use_moe:
        assert len(out.router.indices) == int(mask.sum())
    if use_align:
        assert out.z_v.shape == (2, 12, cfg.d_z) and out.q_p.shape == out.q_v.shape == (2, 12, cfg.prototypes.k)
    else:
        assert out.z_v is None and not hasattr(m, "viseme_encoder")
    losses = m.loss(out, motion, mask)
    losses.total.backward()
    assert torch.isfinite(losses.total)


def test_generation_loss_is_eq6_in_motion_space():
    target = torch.zeros(1, 4, 2, 3)
    pred = target.clone()
    pred[0, 2] = 1.0                                          # one frame off by 1 everywhere
    gen, l1, lt = generation_loss(pred, target, None, 1.0, 1.0, 0.1)
    assert float(l1) == pytest.approx(1 / 4)
    assert float(lt) == pytest.approx(2 / 3)                 # two of three differences are off by 1
    assert float(gen) == pytest.approx(1 / 4 + 0.1 * 2 / 3)
    gen2, l1_2, _ = generation_loss(pred, target, None, 2.0, 1.0, 0.1)
    assert float(l1_2) == pytest.approx(1 / 8)               # errors in units of the motion scale
    mask = torch.tensor([[True, True, False, False]])        # the bad frame is padding
    _, l1_m, lt_m = generation_loss(pred, target, mask, 1.0, 1.0, 0.1)
    assert float(l1_m) == 0.0 and float(lt_m) == 0.0


def test_mouth_shape_reads_the_inner_lip_gap_and_the_width():
    from babelface.face.indices import motion_slot
    motion = torch.zeros(1, 3, 111, 3)
    motion[0, 1, motion_slot((87, 14, 317)), 1] = 0.1        # the lower inner lip drops (y down)
    motion[0, 2, motion_slot((82, 13, 312)), 1] = 0.1        # the upper one drops onto it: closing
    motion[0, 2, motion_slot((291,)), 0] = 0.05              # the left corner spreads outwards
    shape = M.mouth_shape(motion)                             # (1, 3, 4)
    assert shape[0, 0].tolist() == [0, 0, 0, 0]
    assert shape[0, 1].tolist() == pytest.approx([0.1, 0.1, 0.1, 0])
    assert shape[0, 2].tolist() == pytest.approx([-0.1, -0.1, -0.1, 0.05])
    # the loss sees a closure that eq. 6's L1 over 333 coordinates all but averages away
    target = torch.zeros(1, 4, 111, 3)
    target[0, 1:3, motion_slot((87, 14, 317)), 1] = -0.05    # the lips shut 0.05 harder for two frames
    pred = torch.zeros_like(target)
    assert float(M.mouth_shape_loss(pred, target, None, 1.0)) == pytest.approx(0.05 * 3 / 4 * 2 / 4)
    _, l1, _ = generation_loss(pred, target, None, 1.0, 1.0, 0.1)
    assert float(l1) == pytest.approx(0.05 * 3 / 333 * 2 / 4)
    mask = torch.tensor([[True, False, False, True]])         # the closing frames are padding
    assert float(M.mouth_shape_loss(pred, target, mask, 1.0)) == 0.0


def test_shape_quantile_shuts_the_lips_when_unsure():
    from babelface.face.indices import motion_slot
    # a frame whose gap is open (0.1) in one target and shut in another: an L1 is indifferent
    # between the two mouths; below the median, predicting open where the lips shut costs more
    open_, shut = torch.zeros(1, 1, 111, 3), torch.zeros(1, 1, 111, 3)
    open_[0, 0, motion_slot((87, 14, 317)), 1] = 0.1          # lower inner lip 0.1 down: gap 0.1
    l1 = M.mouth_shape_loss(open_, shut, None, 1.0)
    assert float(M.mouth_shape_loss(open_, shut, None, 1.0, 0.5)) == float(l1) == pytest.approx(0.1 * 3 / 4)
    too_open = float(M.mouth_shape_loss(open_, shut, None, 1.0, 0.3))     # predicted open, truly shut
    too_shut = float(M.mouth_shape_loss(shut, open_, None, 1.0, 0.3))     # predicted shut, truly open
    assert too_open == pytest.approx(2 * 0.7 * 0.1 * 3 / 4) and too_shut == pytest.approx(2 * 0.3 * 0.1 * 3 / 4)
    # the width keeps its L1 whatever the quantile
    wide = torch.zeros(1, 1, 111, 3)
    wide[0, 0, motion_slot((291,)), 0] = 0.08
    assert float(M.mouth_shape_loss(wide, shut, None, 1.0, 0.2)) == pytest.approx(0.08 / 4)
    assert float(M.mouth_shape_loss(shut, wide, None, 1.0, 0.2)) == pytest.approx(0.08 / 4)


def test_shape_quantile_reaches_the_loss(cfg):
    mel, mask, motion = batch()
    plain, q = model(cfg, lambda_shape=1.0), model(cfg, lambda_shape=1.0, shape_quantile=0.25)
    with torch.no_grad():
        out = plain(mel, mask, motion, step=0)
    extra = M.mouth_shape_loss(out.motion, motion, mask, plain.motion_scale, 0.25)
    base = plain.loss(out, motion, mask).gen - M.mouth_shape_loss(out.motion, motion, mask, plain.motion_scale)
    assert float(q.loss(out, motion, mask).gen) == pytest.approx(float(base + extra), rel=1e-6)
    assert float(extra) != pytest.approx(float(M.mouth_shape_loss(out.motion, motion, mask, plain.motion_scale)))


def test_lambda_shape_adds_the_mouth_shape_term(cfg):
    mel, mask, motion = batch()
    plain, shaped = model(cfg), model(cfg, lambda_shape=2.0)
    out = plain(mel, mask, motion, step=0)
    gen0 = plain.loss(out, motion, mask).gen
    gen2 = shaped.loss(out, motion, mask).gen
    extra = M.mouth_shape_loss(out.motion, motion, mask, plain.motion_scale)
    assert float(extra.detach()) > 0
    assert float(gen2.detach()) == pytest.approx(float((gen0 + 2.0 * extra).detach()), rel=1e-6)


def test_viseme_head_learns_from_labels_only_and_stays_out_of_the_exported_file(cfg, tmp_path):
    mel, mask, motion = batch()
    m = model(cfg, lambda_viseme=0.5)
    out = m(mel, mask, motion, step=0)
    unknown = torch.full(mask.shape, -1, dtype=torch.long)
    assert float(m.viseme_loss(out, unknown, mask).detach()) == 0.0       # real video: no labels, no loss
    labels = unknown.clone()
    labels[0, :4] = 1                                            # PP: /p b m/
    labels[-1, -3:] = 4                                          # labels under padding do not count
    loss = m.viseme_loss(out, labels, mask)
    only = m.viseme_loss(out, torch.where(mask, labels, -1), None)
    assert float(loss.detach()) > 0 and float(loss.detach()) == pytest.approx(float(only.detach()))
    loss.backward()
    assert m.viseme_head.weight.grad.abs().sum() > 0
    path = m.save_pretrained(tmp_path / "m.safetensors")
    from safetensors import safe_open
    with safe_open(str(path), "pt") as f:
        assert not [k for k in f.keys() if "viseme_head" in k]
    speech = np.random.default_rng(0).standard_normal(6400).astype(np.float32) * 0.1
    assert np.array_equal(MuEx.from_pretrained(path).predict_motion(speech), m.predict_motion(speech))


def test_total_loss_is_eq5(cfg):
    m = model(cfg)
    mel, mask, motion = batch()
    out = m(mel, mask, motion, step=0)
    align = torch.tensor(0.3)
    losses = m.loss(out, motion, mask, align)
    expected = (0.3 + losses.router + cfg.prototypes.lambda_var * losses.var + cfg.lambda_task * losses.gen)
    assert losses.total.item() == pytest.approx(expected.item(), rel=1e-6)


def test_temperatures_follow_the_trained_steps(cfg):
    m = model(cfg)
    assert m.temperatures() == (5.0, 5.0)
    m.step.fill_(cfg.router.anneal_steps)
    assert m.temperatures() == (0.5, 0.5)
    assert m.temperatures(0) == (5.0, 5.0)


@pytest.mark.parametrize("n", [1, 639, 640, 641, 16000, 16001])
def test_predict_motion_frame_count(cfg, n):
    m = model(cfg)
    audio = 0.1 * np.sin(np.arange(n) / 7.0).astype(np.float32)
    motion = m.predict_motion(audio)
    assert motion.shape == (-(-n // 640), 111, 3) and motion.dtype == np.float32
    assert np.isfinite(motion).all()


def test_predict_motion_is_deterministic_and_keeps_the_training_mode(cfg):
    """Dropout is off during prediction, and the caller's mode is restored."""
    m = model(cfg).train()
    audio = np.random.default_rng(0).normal(0, 0.1, 8000).astype(np.float32)
    a, b = m.predict_motion(audio), m.predict_motion(audio)
    assert np.array_equal(a, b) and m.training


def test_predict_motion_rejects_bad_audio(cfg):
    m = model(cfg)
    for bad in (np.zeros(0, np.float32), np.zeros((2, 100), np.float32), np.full(100, np.nan, np.float32)):
        with pytest.raises(InputError):
            m.predict_motion(bad)


def test_mel_features_align_four_frames_per_video_frame():
    audio = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
    feats = mel_features(audio)
    assert feats.shape == (100, 80)
    assert abs(float(feats.mean())) < 1e-3                     # per-utterance normalisation
    assert mel_features(audio, n_frames=30).shape == (120, 80)


def test_weights_round_trip_through_safetensors(cfg, tmp_path):
    m = model(cfg)
    m.set_motion_scale(0.07)
    m.step.fill_(123)
    path = m.save_pretrained(tmp_path / "m.safetensors")
    loaded = MuEx.from_pretrained(path)
    assert loaded.cfg == m.cfg and int(loaded.step) == 123 and float(loaded.motion_scale) == pytest.approx(0.07)
    audio = np.random.default_rng(1).normal(0, 0.1, 6400).astype(np.float32)
    assert np.array_equal(loaded.predict_motion(audio), m.predict_motion(audio))
    from safetensors import safe_open
    with safe_open(str(path), "pt") as f:
        keys = list(f.keys())
        header = json.loads(f.metadata()["babelface"])
    assert not any(k.startswith("model.viseme_encoder.") for k in keys)       # inference-only export
    assert header["config"]["prototypes"]["k"] == cfg.prototypes.k


@pytest.mark.parametrize("content, message", [(None, "no MuEx checkpoint"), (b"not a safetensors file",
                                                                              "not a readable")])
def test_bad_checkpoints_raise_weights_errors(tmp_path, content, message):
    path = tmp_path / "bad.safetensors"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(WeightsError, match=message):
        M.load_model(path)


def test_checkpoint_without_header_is_refused(tmp_path):
    from safetensors.torch import save_file
    save_file({"x": torch.zeros(1)}, str(tmp_path / "x.safetensors"))
    with pytest.raises(WeightsError, match="no babelface header"):
        M.load_model(tmp_path / "x.safetensors")


def test_load_default_names_the_fix_when_weights_are_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(M, "default_weights_path", lambda: tmp_path / "absent.safetensors")
    with pytest.raises(WeightsError, match="make model"):
        M.load_default()


def test_wav2vec_front_end_from_a_local_safetensors_checkpoint(cfg, tmp_path):
    """The one wav2vec 2.0 loader (babelface.models.wav2vec2; no transformers needed)."""
    import shutil
    from dataclasses import replace
    src = Path(__file__).parent / "data" / "w2v_base"                     # hidden 32, 2 layers
    shutil.copytree(src, tmp_path / "w2v")
    audio_cfg = replace(cfg.audio, features="wav2vec", wav2vec_path=str(tmp_path / "w2v"), wav2vec_dim=32)
    m = model(cfg, audio=audio_cfg)
    motion = m.predict_motion(np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32))
    assert motion.shape == (25, 111, 3) and np.isfinite(motion).all()
    with pytest.raises(WeightsError, match="layers 1 … 2"):
        model(cfg, audio=replace(audio_cfg, wav2vec_layer=3)).predict_motion(np.zeros(640, np.float32) + 0.1)
    (tmp_path / "w2v" / "model.safetensors").unlink()
    m2 = model(cfg, audio=audio_cfg)
    with pytest.raises(WeightsError, match="model.safetensors"):
        m2.predict_motion(np.zeros(640, np.float32) + 0.1)
    m3 = model(cfg, audio=replace(audio_cfg, wav2vec_path=str(tmp_path / "nowhere")))
    with pytest.raises(WeightsError, match="not found"):
        m3.predict_motion(np.zeros(640, np.float32) + 0.1)