"""Real-video preparation: filters, rejection reasons, clip outputs, resume after a kill, shards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from babelface.data.manifest import load_manifest
from babelface.data.prepare import (MULTI, NO_FACE, NON_FRONTAL, SMALL, VALID, PrepareConfig,
                                    fill_gaps, find_inputs, frame_status, parse_shard, prepare,
                                    split_at_silences)
from babelface.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def _two_faces(real: Path, out: Path, n: int = 40) -> Path:
    """Two real people side by side: the HDTF clip and a crop of sun.mp4."""
    from babelface.media import load_audio, read_frames, write_video
    left = read_frames(real / "WDA_KatieHill_000.mp4", fps=25, max_frames=n)
    right = read_frames(real / "sun.mp4", fps=25, max_frames=n)[:, 100:612, 32:544]
    frames = np.concatenate([left, right], axis=2)
    audio = load_audio(real / "WDA_KatieHill_000.mp4")[: n * 640]
    return write_video(out / "two_faces.mp4", frames, audio=audio, sample_rate=16000)


@pytest.fixture(scope="module")
def prepared(real, tmp_path_factory):
    """Katie (talking, with sound), sun (no audio track), two faces, a corrupt mp4, a wav."""
    inputs = tmp_path_factory.mktemp("inputs")
    _two_faces(real, inputs)
    (inputs / "corrupt.mp4").write_bytes((real / "WDA_KatieHill_000.mp4").read_bytes()[:5000])
    out = tmp_path_factory.mktemp("prepared")
    result = prepare([real / "WDA_KatieHill_000.mp4", real / "sun.mp4", inputs / "two_faces.mp4",
                      inputs / "corrupt.mp4", real / "RD_Radio31_000.wav"], out,
                     PrepareConfig(language="en"))
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    return out, result, rejected


def _rejections_of(rejected, name):
    return [r for r in rejected if Path(r["file"]).name == name]


def test_the_talking_face_gives_one_clip_with_everything(prepared):
    out, result, rejected = prepared
    clips = [c for c in load_manifest(out) if c.id.startswith("WDA_KatieHill_000")]
    assert len(clips) == 1 and not _rejections_of(rejected, "WDA_KatieHill_000.mp4")
    c = clips[0]
    assert (c.n_frames, c.fps, c.sample_rate, c.language, c.speaker) == (200, 25, 16000, "en", "WDA_KatieHill")
    from babelface.media import load_audio, probe_video
    info = probe_video(c.path("video"))
    assert (info.width, info.height, info.fps, info.has_audio) == (512, 512, 25.0, True)
    assert len(load_audio(c.path("audio"))) == 200 * 640
    assert c.array("features").shape == (800, 80)
    motion, lm = c.array("motion"), c.array("landmarks")
    assert motion.shape == (200, 111, 3) and np.isfinite(motion).all()
    assert lm.shape == (200, 478, 3) and 0 < lm[..., :2].min() and lm[..., :2].max() < 512
    from babelface.motion.representation import inner_gap, motion_to_canonical
    gap = inner_gap(motion_to_canonical(motion, load_arrays_neutral(c)))
    assert gap.max() > 0.1 and np.percentile(gap, 5) < 0.05   # she talks: the mouth opens and closes


def load_arrays_neutral(clip):
    from babelface.data.manifest import load_array
    return load_array(clip.path("motion"), "neutral")


def test_a_video_without_audio_gives_video_only_clips(prepared):
    out, _, rejected = prepared
    clips = [c for c in load_manifest(out) if c.id.startswith("sun-")]
    assert len(clips) == 2 and not _rejections_of(rejected, "sun.mp4")
    assert sum(c.n_frames for c in clips) == 550 and max(c.duration_s for c in clips) <= 15
    for c in clips:
        assert c.audio is None and c.features is None and c.video and c.motion
        assert c.extra["audio"].startswith("none")
        assert c.extra["crop_side_px"][0] >= 256              # the face is large enough


@pytest.mark.parametrize("name, reason", [
    ("two_faces.mp4", "more than one person"),
    ("corrupt.mp4", "corrupt or unreadable file"),
    ("RD_Radio31_000.wav", "no video track (audio-only file)"),
])
def test_bad_inputs_are_rejected_with_their_reason(prepared, name, reason):
    out, _, rejected = prepared
    mine = _rejections_of(rejected, name)
    assert [r["reason"] for r in mine] == [reason]
    assert not [c for c in load_manifest(out) if Path(c.provenance["file"]).name == name]


def test_the_dataset_uses_clips_with_sound_only(prepared):
    from babelface.data.datasets import ManifestDataset
    ds = ManifestDataset(prepared[0], crop_frames=None)
    assert len(ds) == 1 and ds.skipped == 2
    item = ds[0]
    assert item["mel"].shape == (800, 80) and (item["phoneme"] == -1).all()
    assert "articulation" not in item


def test_a_rerun_skips_every_finished_file(prepared, real):
    out, first, _ = prepared
    again = prepare([real / "WDA_KatieHill_000.mp4", real / "sun.mp4"], out)
    assert again.skipped == 2 and again.processed == 0 and again.frames == 0
    assert again.clips == first.clips


# --- a killed run -------------------------------------------------------------------------------------
def test_killed_halfway_then_restarted_finishes_without_redoing_files(real, tmp_path):
    from babelface.media import load_audio, read_frames, write_video
    frames = read_frames(real / "WDA_KatieHill_000.mp4", fps=25, max_frames=180)
    audio = load_audio(real / "WDA_KatieHill_000.mp4")
    inputs = tmp_path / "in"
    for k in range(3):                                   # three 2.4 s talking clips
        write_video(inputs / f"part{k}.mp4", frames[60 * k:60 * (k + 1)],
                    audio=audio[38400 * k:38400 * (k + 1)], sample_rate=16000)
    out = tmp_path / "out"
    code = "import sys; from babelface.data.prepare import prepare; prepare(sys.argv[1:-1], sys.argv[-1])"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1", BABELFACE_QUIET="1")
    proc = subprocess.Popen([sys.executable, "-c", code, *map(str, sorted(inputs.iterdir())), str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done_dir = out / ".prepare" / "done"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None and not list(done_dir.glob("*.json")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = sorted(done_dir.glob("*.json"))
    assert 1 <= len(finished) < 3, "the kill came too late to test resuming"
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.parent.name != ".prepare"
              and any(p.is_relative_to(out / "clips" / m.stem) for m in finished)}
    stamps.update({m: m.stat().st_mtime_ns for m in finished})
    result = prepare([inputs], out)
    assert result.skipped == len(finished) and result.processed == 3 - len(finished)
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())      # nothing redone
    clips = load_manifest(out)
    assert len(clips) == 3 and sorted(c.n_frames for c in clips) == [60, 60, 60]
    assert not [p for p in out.rglob(".*.mp4")]                            # no half-written files


# --- shards, inputs -----------------------------------------------------------------------------------
def test_shards_split_the_inputs_and_the_last_one_leaves_the_full_manifest(real, tmp_path):
    for k in range(3):
        (tmp_path / f"bad{k}.mp4").write_bytes(b"not a video" * (k + 1))
    first = prepare([tmp_path], tmp_path / "out", shard=parse_shard("0/2"))
    second = prepare([tmp_path], tmp_path / "out", shard=parse_shard("1/2"))
    assert (first.files, second.files) == (2, 1)
    assert second.rejections == 3 and first.rejections == 2
    lines = (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()
    assert sorted(Path(json.loads(x)["file"]).name for x in lines) == ["bad0.mp4", "bad1.mp4", "bad2.mp4"]


def test_inputs_and_shard_arguments(tmp_path, real):
    (tmp_path / "a.mp4").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.MOV").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    found = find_inputs([tmp_path, real / "RD_Radio31_000.wav"])
    assert found == sorted([(tmp_path / "a.mp4").resolve(), (tmp_path / "sub" / "b.MOV").resolve(),
                            (real / "RD_Radio31_000.wav").resolve()])
    with pytest.raises(InputError, match="no such file"):
        find_inputs([tmp_path / "missing.mp4"])
    assert parse_shard("3/4") == (3, 4) and parse_shard(None) == (0, 1)
    for bad in ("4/4", "1-4", "-1/2"):
        with pytest.raises(InputError, match="--shard"):
            parse_shard(bad)


# --- frame filters and segmentation (pure functions) -------------------------------------------------
def _face(scale: float = 300.0, yaw_deg: float = 0.0) -> np.ndarray:
    """The template face in pixels (inter-ocular distance ``scale`` px), turned by ``yaw_deg``."""
    from babelface.face.align import template
    a = np.radians(yaw_deg)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    return (template() @ rot.T * scale + 600).astype(np.float32)


def test_frame_status_applies_each_filter():
    config = PrepareConfig()
    lm = np.stack([_face(), _face(), _face(40.0), _face(yaw_deg=45.0), np.full((478, 3), np.nan, np.float32)])
    counts = np.array([1, 2, 1, 1, 0])
    assert frame_status(lm, counts, config).tolist() == [VALID, MULTI, SMALL, NON_FRONTAL, NO_FACE]
    assert frame_status(_face(yaw_deg=25.0)[None], np.array([1]), config).tolist() == [VALID]


def test_short_face_losses_are_interpolated_long_ones_are_not():
    lm = np.stack([_face()] * 10)
    status = np.full(10, VALID)
    lm[2:4], status[2:4] = np.nan, NO_FACE                   # 2 frames: filled
    lm[5:8], status[5:8] = np.nan, NO_FACE                   # 3 frames: kept out
    filled, st = fill_gaps(lm, status, max_gap=2)
    assert st.tolist() == [VALID] * 5 + [NO_FACE] * 3 + [VALID] * 2
    np.testing.assert_allclose(filled[2], lm[1], atol=1e-4)


def test_long_runs_are_cut_in_the_middle_of_pauses():
    config = PrepareConfig(min_clip_s=2.0, max_clip_s=6.0)
    rms = np.ones(500)
    rms[130:140] = 0.001                                    # pauses at 5.2-5.6 s and 10.4-11.2 s
    rms[260:280] = 0.001
    pieces = split_at_silences(rms, 0, 500, config, level=1.0)
    assert pieces[0] == (0, 135) and pieces[1] == (135, 270)
    assert all(50 <= e - s <= 150 for s, e in pieces)
    assert pieces[-1][1] == 500 and all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))


def test_without_pauses_cuts_go_to_the_quietest_frame_and_video_only_runs_split_evenly():
    config = PrepareConfig(min_clip_s=2.0, max_clip_s=6.0)
    rms = np.ones(200)
    rms[120] = 0.5                                          # the quietest frame in the window
    assert split_at_silences(rms, 0, 200, config, level=1.0) == [(0, 120), (120, 200)]
    assert split_at_silences(None, 0, 550, PrepareConfig()) == [(0, 275), (275, 550)]
    assert split_at_silences(rms, 0, 140, config, level=1.0) == [(0, 140)]
