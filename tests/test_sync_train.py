"""Training the sync expert: augmentations, crops, a tiny run, exact resume, wav2vec 2.0 features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sync_standin import make_clip

from babelface.cli import main
from babelface.errors import InputError
from babelface.models.checkpoint import read_checkpoint
from babelface.models.sync_expert import SyncExpert
from babelface.train.sync import CropSampler, SyncDataConfig, load_clips, shifted_pairs
from babelface.train.sync_augment import AugmentConfig, augment, silence_frames, tempo

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    """Six stand-in clips (espeak-ng speech, crude articulation): en/th train, one val each."""
    root = tmp_path_factory.mktemp("clips")
    rng = np.random.default_rng(0)
    for lang in ("en", "th"):
        for i, split in enumerate(("train", "train", "val")):
            c = make_clip(lang, rng, n_words=10)
            np.savez(root / f"{lang}_{i}.npz", mel=c["mel"], motion=c["motion"], audio=c["audio"],
                     language=lang, split=split)
    return root


def tiny(clip_dir, out, *extra) -> list[str]:
    """`babelface train` arguments for a tiny sync expert run on the stand-in clips."""
    sets = [f"data.roots=[{clip_dir}]", f"train.out_dir={out}", "train.batch_size=3", "train.seq_len=32",
            "train.max_steps=4", "optim.warmup_steps=2", "train.ckpt_every=2", "train.log_every=1",
            "data.val_crops=4", "data.val_frames=30", "data.crops_per_epoch=9", "model.dim=16",
            "model.audio_channels=16", "model.visual_channels=16", *extra]
    return ["train", "--config", "sync_expert", *[a for x in sets for a in ("--set", x)]]


def test_augment_keeps_streams_aligned_and_shaped():
    mel = np.log(np.random.default_rng(1).exponential(size=(4 * 50, 80)) + 1e-5).astype(np.float32)
    motion = np.random.default_rng(2).standard_normal((50, 111, 3)).astype(np.float32) * 0.05
    for seed in range(5):
        m, v, ok = augment(mel, motion, np.random.default_rng(seed), AugmentConfig(strength=2.0), motion)
        assert len(m) == 4 * len(v) == 4 * len(ok)
        assert np.isfinite(m).all() and np.isnan(v[~ok]).all() and np.isfinite(v[ok]).all()
    m2, v2 = tempo(mel, motion, 1.25)
    assert len(v2) == 40 and len(m2) == 160
    quiet = mel.copy()
    quiet[:40] = np.log(1e-5)
    assert silence_frames(quiet)[:10].all() and not silence_frames(quiet)[20:].any()


def test_load_clips_and_sampler(clip_dir):
    clips = load_clips([clip_dir], split="train")
    assert len(clips) == 4 and {c["language"] for c in clips} == {"en", "th"}
    assert all(len(c["mel"]) == 4 * len(c["motion"]) for c in clips)
    b = CropSampler(clips, SyncDataConfig(), crop_frames=32).batch(np.random.default_rng(0), 3)
    assert b["audio_in"].shape == (3, 128, 80) and b["motion"].shape == (3, 32, 111, 3)
    assert b["valid"].dtype == torch.bool and b["desc"].shape == (3, 32, 80)
    with pytest.raises(InputError, match="not found"):
        load_clips([clip_dir / "nope"])


def test_shifted_pairs_have_the_true_lag():
    motion = np.arange(60, dtype=np.float32)[:, None, None] * np.ones((1, 111, 3), np.float32)
    mel = np.repeat(np.arange(60, dtype=np.float32), 4)[:, None] * np.ones((1, 80), np.float32)
    clip = {"mel": mel, "motion": motion, "language": "xx"}
    for mel_c, mot_c, shift, _, _ in shifted_pairs([clip], 20, 30, 15, seed=0):
        # the video frame shown at crop position t is the audio's frame t − shift
        assert np.all(mot_c[:, 0, 0] == mel_c[::4, 0] - shift)


def _weights(path: Path) -> dict:
    return SyncExpert.from_pretrained(path).state_dict()


def test_tiny_run_trains_on_the_one_trainer_and_resumes_exactly(clip_dir, tmp_path):
    """`babelface train --config sync_expert`: 4 straight steps == 2 steps, stopped, resumed to 4."""
    torch.set_num_threads(1)
    assert main(tiny(clip_dir, tmp_path / "a")) == 0
    summary = json.loads((tmp_path / "a" / "train_summary.json").read_text())
    assert summary["task"] == "sync_expert" and summary["monitor"] == "score"
    assert 0.0 <= summary["val"]["acc1"] <= 1.0 and summary["val"]["crops"] == 4
    assert summary["val"]["score"] == summary["val"]["acc1"]             # no real validation clips
    assert not list((tmp_path / "a").glob("*.pt"))                       # no torch.save state
    assert main(tiny(clip_dir, tmp_path / "b", "train.max_steps=2")) == 0
    assert main(tiny(clip_dir, tmp_path / "b") + ["--resume"]) == 0
    a, b = _weights(tmp_path / "a" / "last.safetensors"), _weights(tmp_path / "b" / "last.safetensors")
    for k in a:
        torch.testing.assert_close(a[k], b[k], msg=k)
    header = read_checkpoint(tmp_path / "b" / "last.safetensors", "sync_expert")[0]
    assert header["step"] == 4 and header["config"]["extra"]["train_clips"] == {"en": 2, "th": 2}


def test_cli_with_yaml_and_export(clip_dir, tmp_path, capsys):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(f"inherit: sync_expert\ntrain: {{batch_size: 2, seq_len: 24, max_steps: 2, ckpt_every: 2}}\n"
                        f"optim: {{warmup_steps: 1}}\ndata: {{roots: [{clip_dir}], val_crops: 2, crops_per_epoch: 4}}\n"
                        "model: {dim: 8, audio_channels: 8, visual_channels: 8}\n")
    out = tmp_path / "exported.safetensors"
    assert main(["train", "--config", str(cfg_file), "--set", f"train.out_dir={tmp_path / 'run'}",
                 "--export", str(out)]) == 0
    model = SyncExpert.from_pretrained(out)
    assert model.cfg.dim == 8 and model.checkpoint_meta["kind"] == "inference"
    assert model.checkpoint_meta["step"] == 2 and "acc1" in model.checkpoint_meta["val"]
    capsys.readouterr()
    assert main(["train", "--config", str(cfg_file), "--set", "nonsense=1"]) == 2
    assert "unknown config field nonsense" in capsys.readouterr().err
    assert main(["train", "--config", "sync_expert", "--set", f"train.out_dir={tmp_path / 'e'}",
                 "--set", "data.roots=[]"]) == 2
    assert "set data.roots" in capsys.readouterr().err


def test_training_on_wav2vec2_features(clip_dir, tmp_path):
    from babelface.sync import SyncExpertEmbedding
    assert main(tiny(clip_dir, tmp_path / "w", "train.max_steps=2", f"data.wav2vec2={DATA / 'w2v_base'}")) == 0
    best = tmp_path / "w" / "last.safetensors"
    model = SyncExpert.from_pretrained(best)
    assert model.cfg.audio_encoder == "wav2vec2" and model.cfg.wav2vec2_dim == 64
    emb = SyncExpertEmbedding(best, wav2vec2=DATA / "w2v_base")
    tokens = emb.embed_audio(np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1)
    assert tokens.shape == (25, 16)
    from babelface.errors import WeightsError
    with pytest.raises(WeightsError, match="wav2vec 2.0"):
        SyncExpertEmbedding(best)


def test_frames_without_a_face_stay_invalid_through_augmentation():
    mel = np.log(np.random.default_rng(1).exponential(size=(4 * 40, 80)) + 1e-5).astype(np.float32)
    motion = np.random.default_rng(2).standard_normal((40, 111, 3)).astype(np.float32) * 0.05
    motion[10:14] = np.nan
    for seed in range(4):
        cfg = AugmentConfig(p_tempo=0.0 if seed < 2 else 1.0)
        m, v, ok = augment(mel, motion, np.random.default_rng(seed), cfg)
        assert np.isfinite(v[ok]).all() and (~ok).sum() >= 3
        if seed < 2:
            assert not ok[10:14].any()


def test_advance_moves_motion_earlier():
    from babelface.train.sync import advance
    m = np.arange(10, dtype=np.float32)[:, None, None] * np.ones((1, 111, 3), np.float32)
    out = advance(m, 1.5)
    assert out[0, 0, 0] == 1.5 and out[3, 0, 0] == 4.5 and out[-1, 0, 0] == 9.0
    assert advance(m, 0) is m


def test_real_clips_are_their_own_crop_group_drawn_at_real_share():
    """Issue 11: real video (any language) is one group; ``real_share`` sets how often it is drawn."""
    from babelface.train.sync import REAL_GROUP
    syn = [{"language": lang, "synthetic": True, "motion": np.zeros((10, 1, 3))} for lang in ("en", "fr", "de")]
    real = [{"language": "en", "synthetic": False, "motion": np.zeros((10, 1, 3))}]
    uniform = CropSampler(syn + real, SyncDataConfig())
    assert uniform.langs == sorted(["en", "fr", "de", REAL_GROUP]) and uniform.by_lang[REAL_GROUP] == [3]
    rng = np.random.default_rng(0)
    assert np.mean([uniform._group(rng) == REAL_GROUP for _ in range(4000)]) == pytest.approx(0.25, abs=0.03)
    heavy = CropSampler(syn + real, SyncDataConfig(real_share=0.6))
    draws = [heavy._group(rng) for _ in range(4000)]
    assert np.mean([d == REAL_GROUP for d in draws]) == pytest.approx(0.6, abs=0.03)
    assert {d for d in draws if d != REAL_GROUP} == {"en", "fr", "de"}


def test_real_clips_are_realigned_by_their_own_offset_or_left_out(clip_dir, tmp_path):
    """Issue 11 part 5: a real clip whose video lags its audio by k frames trains aligned after
    ``realign``; a clip listed as null is dropped; a malformed offsets file is one clear error."""
    from babelface.train.sync import read_offsets, realign
    mel = np.repeat(np.arange(40, dtype=np.float32), 4)[:, None] * np.ones((1, 80), np.float32)
    lagged = (np.arange(40, dtype=np.float32) - 3)[:, None, None] * np.ones((1, 111, 3), np.float32)
    for k, motion in ((3, lagged), (-2, lagged + 5)):              # video frame t shows audio t − k
        m, v = realign(mel, motion, k)
        assert len(m) == 4 * len(v) == 4 * (40 - abs(k))
        assert np.all(v[:, 0, 0] == m[::4, 0] + (0 if k == 3 else 5 - 3 - 2))
    root = tmp_path / "real"
    root.mkdir()
    for name in ("a", "b", "c"):
        np.savez(root / f"{name}.npz", mel=mel, motion=lagged, language="en", split="train", synthetic=False)
    offsets = tmp_path / "offsets.json"
    offsets.write_text(json.dumps({"offsets": {"a": 3, "b": None}}))
    clips = {c["id"]: c for c in load_clips([root], "train", real_offsets=read_offsets(offsets))}
    assert set(clips) == {"a", "c"}
    assert np.all(clips["a"]["motion"][:, 0, 0] == clips["a"]["mel"][::4, 0])          # aligned now
    assert len(clips["c"]["motion"]) == 40 and clips["c"]["motion"][5, 0, 0] == 2.0      # untouched
    only = load_clips([root], "train", real_offsets=read_offsets(offsets), in_sync_only=True)
    assert [c["id"] for c in only] == ["c"]                   # every listed clip left out, not re-aligned
    offsets.write_text(json.dumps({"offsets": {"a": 1.5}}))
    with pytest.raises(InputError, match="whole frames"):
        read_offsets(offsets)


def test_ranking_loss_orders_real_shifted_frozen_reversed():
    """The known-answer hinge is zero when S(0) ranks real > ±5 > frozen > reversed by the margin,
    positive (and pushes the right way) when the frozen mouth outscores the real clip."""
    from babelface.models.sync_loss import ContrastiveConfig, ranking_loss
    t, cfg = 40, ContrastiveConfig(rank_margin=0.05)
    g = torch.Generator().manual_seed(0)
    slow = torch.randn(1, t // 10 + 2, 8, generator=g)                   # tokens that change slowly
    a = torch.nn.functional.normalize(torch.nn.functional.interpolate(
        slow.transpose(1, 2), size=t, mode="linear", align_corners=True).transpose(1, 2), dim=-1)
    noise = torch.nn.functional.normalize(torch.randn(1, t, 8, generator=g), dim=-1)
    mix = lambda w: torch.nn.functional.normalize(w * a + (1 - w) * noise, dim=-1)  # noqa: E731
    speech, valid = torch.ones(1, t, dtype=torch.bool), torch.ones(1, t, dtype=torch.bool)
    good = ranking_loss(a, a, mix(0.2), -a, cfg, valid, speech, valid)
    assert float(good) == 0.0
    v_frozen = a.clone().requires_grad_(True)                  # the frozen mouth scores like the real clip
    bad = ranking_loss(a, a, v_frozen, -a, cfg, valid, speech, valid)
    assert float(bad.detach()) > 0.04
    bad.backward()
    assert float((v_frozen.grad * a).sum()) > 0               # descending lowers the frozen score


def test_freeze_mouth_holds_lips_and_chin_only():
    from babelface.face.indices import CHIN, LIPS, motion_slot
    from babelface.train.sync import freeze_mouth
    m = torch.randn(2, 10, 111, 3)
    out = freeze_mouth(m)
    mouth = motion_slot(tuple(sorted(set(LIPS) | set(CHIN))))
    rest = np.setdiff1d(np.arange(111), mouth)
    assert torch.equal(out[:, :, mouth], m[:, :1, mouth].expand(-1, 10, -1, -1))
    assert torch.equal(out[:, :, rest], m[:, :, rest])


def test_real_validation_clips_rank_the_checkpoints(clip_dir, tmp_path):
    """With real validation clips, the monitor ``score`` averages the synthetic and real Acc±1 and
    the real clips' known-answer ranking; ``keep_best: 0`` exports the final step (make model-sync)."""
    real = tmp_path / "realval"
    real.mkdir()
    for p in sorted(clip_dir.glob("*_2.npz")):                           # the two val clips, as real
        with np.load(p) as z:
            np.savez(real / p.name, mel=z["mel"], motion=z["motion"], language="en", split="val", synthetic=False)
    assert main(tiny(clip_dir, tmp_path / "run", "train.max_steps=2", f"data.val_roots=[{clip_dir},{real}]",
                     "data.real_val_crops=4", "loss.rank_weight=1.0", "train.keep_best=0")
                + ["--export", str(tmp_path / "final.safetensors")]) == 0
    val = json.loads((tmp_path / "run" / "train_summary.json").read_text())["val"]
    assert SyncExpert.from_pretrained(tmp_path / "final.safetensors").checkpoint_meta["step"] == 2  # the final step
    assert val["real_crops"] == 4 and 0.0 <= val["real_ranked"] <= 1.0
    assert val["score"] == pytest.approx((val["acc1"] + val["real_acc1"] + val["real_ranked"]) / 3)
