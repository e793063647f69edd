"""`babelface sync`: the offset curve, shifting audio, clear errors, and the shipped expert on a
real clip (shift it, find the shift, fix it)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from babelface.errors import FaceError, InputError, MediaError, SilenceError
from babelface.media import load_audio, write_video
from babelface.report.plots import plot_sync_curve
from babelface.sync import SyncResult, analyze_video, estimate_offset, offset_curve, shift_audio


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("lag", [-7, 0, 3, 15])
def test_curve_peaks_at_the_known_lag(lag):
    """Positive lag: the video shows at frame t + lag what the audio says at frame t."""
    a = _unit(np.random.default_rng(0).standard_normal((80, 8)))
    v = np.roll(a, lag, axis=0)
    res = estimate_offset(a, v)
    assert res.offset_frames == lag
    assert res.curve.shape == (31,)
    assert res.curve[15 + lag] == pytest.approx(1.0)
    assert res.in_sync_score == pytest.approx(res.curve[15])
    assert res.confidence == pytest.approx(1.0 - np.median(res.curve))
    assert res.offset_ms == pytest.approx(40.0 * lag)


def test_curve_skips_frames_without_a_face():
    a = _unit(np.random.default_rng(1).standard_normal((60, 8)))
    v = np.roll(a, 2, axis=0)
    v[20:30] = np.nan
    curve = offset_curve(a, v)
    assert np.isfinite(curve).all() and int(np.argmax(curve)) - 15 == 2
    with pytest.raises(FaceError):
        estimate_offset(a, np.full_like(a, np.nan))


def test_json_has_exactly_the_documented_keys():
    res = SyncResult(offset_frames=2, in_sync_score=0.5, confidence=0.1,
                     curve=np.r_[np.nan, np.linspace(0, 1, 30)])
    out = res.to_json()
    assert list(out) == ["offset_frames", "offset_ms", "in_sync_score", "confidence", "curve"]
    assert out["offset_ms"] == 80.0 and out["curve"][0] is None and len(out["curve"]) == 31
    json.dumps(out)


def _click_video(path, n_frames=50, click_frame=20, audio=True, faces=False):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(n_frames)]
    sound = None
    if audio:
        sound = np.zeros(n_frames * 640, np.float32)
        sound[click_frame * 640:click_frame * 640 + 64] = 0.8
    write_video(path, frames, audio=sound, sample_rate=16000 if audio else None)
    return path


def test_shift_audio_moves_the_sound_by_whole_frames(tmp_path):
    src = _click_video(tmp_path / "click.mp4")
    for delay in (3, -4):
        out = shift_audio(src, tmp_path / f"shift{delay}.mp4", delay)
        back = load_audio(out)
        onset = int(np.argmax(np.abs(back) > 0.2))
        assert abs(onset - (20 + delay) * 640) < 64, (delay, onset)
        assert abs(len(back) - 50 * 640) < 1100        # duration kept (AAC frames of 1024 samples)
    with pytest.raises(InputError, match="overwrite"):
        shift_audio(src, src, 1)


def test_clear_errors_for_audio_less_silent_and_face_less_videos(tmp_path, real):
    with pytest.raises(MediaError, match="no audio track"):
        analyze_video(real / "sun.mp4")
    silent = tmp_path / "silent.mp4"
    write_video(silent, [np.zeros((64, 64, 3), np.uint8)] * 30, audio=np.zeros(30 * 640, np.float32),
                sample_rate=16000)
    with pytest.raises(SilenceError, match="silent"):
        analyze_video(silent)
    with pytest.raises(FaceError, match="no face"):
        analyze_video(_click_video(tmp_path / "noface.mp4", n_frames=30, click_frame=10))


def test_plot_writes_a_png(tmp_path):
    res = estimate_offset(*(2 * [_unit(np.random.default_rng(2).standard_normal((40, 4)))]))
    out = plot_sync_curve(res, tmp_path / "c.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def cli(monkeypatch):
    import babelface.cli as cli_mod
    monkeypatch.setattr(cli_mod, "COMMANDS", ("sync",))     # only this command's module is needed
    return cli_mod.main


def test_cli_argument_errors(cli, tmp_path, capsys):
    assert cli(["sync", str(tmp_path / "x.mp4"), "--fix"]) == 2
    assert "--fix needs -o" in capsys.readouterr().err
    assert cli(["sync", str(tmp_path / "x.mp4"), "-o", str(tmp_path / "y.mp4")]) == 2
    assert cli(["sync", str(tmp_path / "missing.mp4")]) == 2


@pytest.mark.slow
def test_shipped_expert_finds_and_fixes_a_shift_on_real_video(cli, real, katie_landmarks, tmp_path, capsys):
    """The clip's own offset (−2: her lips lead her sound), moved by a known 5 frames; --fix
    brings the copy to 0."""
    from babelface.models.sync_expert import default_weights_path
    from babelface.sync import analyze
    if not default_weights_path().exists():
        pytest.fail("the shipped sync expert is missing: `make model-sync` rebuilds it")
    own = analyze(load_audio(real / "WDA_KatieHill_000.mp4"), katie_landmarks).offset_frames
    assert -3 <= own <= -1
    shifted = shift_audio(real / "WDA_KatieHill_000.mp4", tmp_path / "lag5.mp4", -5)   # video lags by 5
    png = tmp_path / "curve.png"
    assert cli(["sync", str(shifted), "--json", "--plot", str(png), "--fix", "-o",
                str(tmp_path / "fixed.mp4")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert abs(out["offset_frames"] - 5 - own) <= 1 and out["offset_ms"] == 40.0 * out["offset_frames"]
    assert out["confidence"] > 0 and len(out["curve"]) == 31 and png.exists()
    fixed = analyze_video(tmp_path / "fixed.mp4")
    assert abs(fixed.offset_frames) <= 1


def test_fix_refuses_a_video_that_stops_decoding(cli, real, tmp_path, capsys):
    """--fix copies the video packets: a stream damaged past its middle (here a fifth of the file
    zeroed) would give a copy that does not play to its end, so it is refused and nothing is written.
    (A fuzz finding, seed 38.)"""
    import subprocess
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(real / "WDA_KatieHill_000.mp4"), "-t", "2", "-vf",
                    "scale=320:-2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(clip)], check=True)
    data = bytearray(clip.read_bytes())
    a, b = int(0.55 * len(data)), int(0.75 * len(data))
    data[a:b] = bytes(b - a)
    (tmp_path / "damaged.mp4").write_bytes(data)
    assert cli(["sync", str(tmp_path / "damaged.mp4"), "--fix", "-o", str(tmp_path / "fixed.mp4"), "--plot",
                str(tmp_path / "c.png")]) == 2
    err = capsys.readouterr().err
    assert "its video stops decoding after" in err and "re-encode it first" in err
    assert not (tmp_path / "fixed.mp4").exists() and not (tmp_path / "c.png").exists()
    assert cli(["sync", str(clip), "--fix", "-o", str(tmp_path / "fixed.mp4")]) == 0    # the intact clip is fixed
    assert "the expert's reading" in capsys.readouterr().out and (tmp_path / "fixed.mp4").exists()


def test_fix_refuses_a_video_whose_last_packet_is_damaged(cli, real, tmp_path, capsys):
    """The analysis reads with frame threads, which conceal a damaged packet: with the last video
    packet zeroed it read 49 of 50 frames, which passed as a variable rate's short end, and the
    fixed copy kept a packet no decoder takes. Now every packet is decoded strictly first.
    (A fuzz finding, seed 386.)"""
    import subprocess

    import av
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(real / "WDA_KatieHill_000.mp4"), "-t", "2", "-vf",
                    "scale=320:-2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-movflags",
                    "+faststart", str(clip)], check=True)
    with av.open(str(clip)) as c:
        last = [pk for pk in c.demux(c.streams.video[0]) if pk.size][-1]
        pos, size = last.pos, last.size
    data = bytearray(clip.read_bytes())
    data[pos:pos + size] = bytes(size)                        # the packet zeroed, its NAL lengths too
    (tmp_path / "damaged.mp4").write_bytes(data)
    assert cli(["sync", str(tmp_path / "damaged.mp4"), "--fix", "-o", str(tmp_path / "fixed.mp4")]) == 2
    err = capsys.readouterr().err
    assert "its video stops decoding after 49 of 50 frames" in err and "re-encode it first" in err
    assert not (tmp_path / "fixed.mp4").exists()


def test_embedding_protocol_of_the_evaluation_suite(katie_landmarks):
    """The attributes and shapes babelface.metrics.sync.SyncEmbedding asks for; finite rows even
    where the face is missing (distance curves stay defined)."""
    import torch

    from babelface.models.sync_expert import SyncExpert, SyncExpertConfig
    from babelface.sync import SyncExpertEmbedding
    torch.manual_seed(0)
    emb = SyncExpertEmbedding(expert=SyncExpert(SyncExpertConfig(dim=8, audio_channels=8,
                                                                 visual_channels=8)).eval())
    assert (emb.window, emb.needs_frames, emb.dim) == (1, False, 8) and isinstance(emb.name, str)
    lm = katie_landmarks[:50].copy()
    lm[10:12] = np.nan
    v = emb.embed_video(None, lm)
    a = emb.embed_audio(np.random.default_rng(0).standard_normal(50 * 640).astype(np.float32) * 0.1)
    assert v.shape == a.shape == (50, 8) and np.isfinite(v).all()
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    with pytest.raises(FaceError):
        emb.embed_video(None, np.full((5, 478, 3), np.nan, np.float32))
    with pytest.raises(InputError):
        emb.embed_audio(np.zeros((10, 2), np.float32))


def _shipped():
    from babelface.models.sync_expert import default_weights_path
    if not default_weights_path().exists():
        pytest.fail("the shipped sync expert is missing: `make model-sync` rebuilds it")


def test_eval_suite_uses_the_shipped_expert_for_sync_c_d(real, katie_landmarks):
    """`babelface eval` without SyncNet weights: the sync expert gives Sync-C/D and the AV offset
    (SyncNet protocol): the real clip's own −2 (her lips lead her sound: the lip closures read −140 ms,
    RESULTS.md "AV offsets from lip closures"), 5 frames more when its video lags by 5."""
    _shipped()
    from babelface.metrics.sync import evaluate_sync, resolve_embedding
    emb, why = resolve_embedding(None)
    assert emb is not None and emb.window == 1 and "sync expert" in why
    audio = load_audio(real / "WDA_KatieHill_000.mp4")
    s0 = evaluate_sync(emb, audio, katie_landmarks)
    assert -3 <= s0.av_offset <= -1 and s0.sync_c > 0 and s0.sync_d > 0
    lagged = np.concatenate([audio[5 * 640:], np.zeros(5 * 640, np.float32)])    # video lags by 5
    s5 = evaluate_sync(emb, lagged, katie_landmarks)
    assert abs(s5.av_offset - 5 - s0.av_offset) <= 1


def test_fixed_support_scores_every_offset_on_the_same_frames():
    """With a long clip every Δ averages the audio frames [M, T−M) (the same frames, the same
    variance); audio outside them changes nothing. A short clip falls back to the overlap form."""
    rng = np.random.default_rng(3)
    a = _unit(rng.standard_normal((80, 8)))
    v = _unit(np.roll(a, 2, axis=0) + 0.5 * rng.standard_normal((80, 8)))
    fixed = offset_curve(a, v, support="fixed")
    assert int(np.argmax(fixed)) - 15 == 2
    b = a.copy()
    b[:15] = _unit(rng.standard_normal((15, 8)))               # outside the fixed support
    np.testing.assert_allclose(offset_curve(b, v, support="fixed"), fixed)
    assert not np.allclose(offset_curve(b, v, support="overlap"), offset_curve(a, v, support="overlap"))
    np.testing.assert_allclose(offset_curve(a, v), fixed)      # auto = fixed for 80 frames
    short = a[:40], v[:40]
    np.testing.assert_allclose(offset_curve(*short), offset_curve(*short, support="overlap"))
    with pytest.raises(ValueError):
        offset_curve(a, v, support="nope")
