"""Issue 16: a video encoded as independent x264 segments on parallel threads, joined losslessly."""

from __future__ import annotations

import json
import os
import subprocess

import av
import numpy as np
import pytest

from babelface.errors import MediaError
from babelface.media import VideoWriter, load_audio, probe_audio, read_frames
from babelface.media.segments import (MIN_SEGMENT_FRAMES, SEGMENT_FRAMES, encode_segments,
                                      plan_segments)

N = 120                  # two segments of 60 frames (4.8 s)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    err = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / err))


@pytest.fixture(scope="module")
def frames(real) -> np.ndarray:
    """120 real talking-head frames (256², from the 512² clip)."""
    return read_frames(real / "WDA_KatieHill_000.mp4", max_frames=N)[:, ::2, ::2].copy()


def write_segmented(path, frames, workers, audio=None, sample_rate=None, processes=False):
    def job(a, b):
        return lambda: iter(frames[a:b])
    with VideoWriter(path, audio=audio, sample_rate=sample_rate) as w:
        ticks = sum(1 for _ in encode_segments(w, (job(a, b) for a, b in plan_segments(len(frames))), workers,
                                               processes=processes))
    return ticks


@pytest.mark.parametrize("n, want", [
    (1, [(0, 1)]), (49, [(0, 49)]), (50, [(0, 25), (25, 50)]), (66, [(0, 33), (33, 66)]),
    (99, [(0, 50), (50, 99)]), (100, [(0, 50), (50, 100)]),
    (200, [(0, 100), (100, 200)]), (250, [(0, 125), (125, 250)]),
    (575, [(0, 144), (144, 288), (288, 431), (431, 575)]),
    (1500, [(i * 250, (i + 1) * 250) for i in range(6)])])
def test_plan_cuts_even_runs_of_at_most_one_gop(n, want):
    plan = plan_segments(n)
    assert plan == want
    assert all(b - a <= SEGMENT_FRAMES for a, b in plan)
    assert len(plan) == 1 or all(b - a >= MIN_SEGMENT_FRAMES for a, b in plan)


def test_segments_match_one_encoder(tmp_path, frames, real):
    """The joined mp4 is valid (ffprobe, PyAV, ffmpeg decode without a complaint), has every frame at
    its time, an IDR frame where each segment starts, the audio whole, and the quality of one
    encoder at the same CRF; one thread and two write the same bytes."""
    rate = probe_audio(real / "WDA_KatieHill_000.mp4").sample_rate
    audio = load_audio(real / "WDA_KatieHill_000.mp4", sample_rate=None, mono=False)[:N * rate // 25]
    seg, seg1, one = tmp_path / "seg.mp4", tmp_path / "seg1.mp4", tmp_path / "one.mp4"
    forked = tmp_path / "forked.mp4"
    assert write_segmented(seg, frames, 2, audio, rate) == N
    write_segmented(seg1, frames, 1, audio, rate)
    assert seg.read_bytes() == seg1.read_bytes()
    assert write_segmented(forked, frames, 2, audio, rate, processes=True) == N   # in child processes
    assert forked.read_bytes() == seg.read_bytes()
    with VideoWriter(one, audio=audio, sample_rate=rate) as w:
        for f in frames:
            w.write(f)
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,nb_frames,duration", "-of", "json",
         str(seg)], capture_output=True, text=True, check=True).stdout)
    video = next(s for s in probe["streams"] if s["codec_type"] == "video")
    assert int(video["nb_frames"]) == N and float(video["duration"]) == pytest.approx(N / 25)
    errors = subprocess.run(["ffmpeg", "-v", "error", "-i", str(seg), "-f", "null", "-"],
                            capture_output=True, text=True).stderr
    assert errors == ""
    with av.open(str(seg)) as c:
        packets = [p for p in c.demux(c.streams.video[0]) if p.size]
        tb = c.streams.video[0].time_base
    dts = [p.dts for p in packets]
    assert all(b > a for a, b in zip(dts, dts[1:]))                       # decoding order kept
    assert sorted(round(float(p.pts * tb) * 25) for p in packets) == list(range(N))
    assert [round(float(p.pts * tb) * 25) for p in packets if p.is_keyframe] == [0, 60]
    decoded, single = read_frames(seg), read_frames(one)
    assert decoded.shape == frames.shape
    assert psnr(decoded, frames) > psnr(single, frames) - 0.3            # the same quality
    # two encodes of real (noisy) video differ from each other about as much as from the source
    # (here 35.05 and 35.03 dB to the source, 37.3 dB to each other)
    assert psnr(decoded, single) > psnr(single, frames)
    assert load_audio(seg, sample_rate=None, mono=False).shape == load_audio(one, sample_rate=None,
                                                                            mono=False).shape


def test_a_segment_with_other_settings_is_refused(tmp_path, frames):
    with VideoWriter(tmp_path / "a.mp4") as w:
        w.write_segment(w.segment_encoder().encode(frames[:10]))
        other = VideoWriter(tmp_path / "b.mp4", crf=30, preset="medium")
        foreign = other.segment_encoder().encode(frames[10:20])
        other.close(ok=False)
        with pytest.raises(MediaError, match="SPS/PPS"):
            w.write_segment(foreign)
        w.write_segment(w.segment_encoder().encode(frames[10:20]))
    assert len(read_frames(tmp_path / "a.mp4")) == 20


@pytest.mark.parametrize("processes", [False, True])
def test_a_failing_segment_raises_and_stops_the_others(tmp_path, frames, processes):
    """A segment's error is raised as one thread raises it (from a child process: the job run
    again on the worker thread), the file is not written and the later segments stop."""
    seen = []

    def good(a):
        def make():
            for f in frames[a:a + 60]:
                seen.append(a)
                yield f
        return make

    def bad():
        yield frames[0]
        raise ValueError("render failed")

    out = tmp_path / "x.mp4"
    with pytest.raises(ValueError, match="render failed"):
        with VideoWriter(out) as w:
            for _ in encode_segments(w, iter([good(0), bad, good(0), good(0)]), 2, processes=processes):
                pass
    assert not out.exists()                                   # atomic: nothing half-written
    assert len(seen) < (1 if processes else 3) * 60                                 # the segments after it never ran in full


def test_the_audio_is_encoded_with_each_segment_and_interleaved(tmp_path):
    """Joining a segment encodes the audio up to its end, not all of it at the first packet (the
    packet's time is read before muxing rescales it): the AAC work is spread over the joins, and
    in the file no audio runs ahead of the video by more than a frame or two."""
    n, rate = 400, 16000                                     # two segments of 8 s, 16 s of audio
    frames = np.random.default_rng(0).integers(0, 255, (n, 32, 32, 3), dtype=np.uint8)
    audio = (0.1 * np.sin(np.arange(n * rate // 25) / 20)).astype(np.float32)
    out = tmp_path / "a.mp4"
    done = []
    with VideoWriter(out, audio=audio, sample_rate=rate) as w:
        enc = w.segment_encoder()
        for a, b in plan_segments(n):
            w.write_segment(enc.encode(frames[a:b]))
            done.append(w._audio_done / rate)
    assert done[0] == pytest.approx(8.0, abs=0.1) and done[1] == pytest.approx(16.0, abs=0.1)
    with av.open(str(out)) as c:
        video_until, lead = 0.0, 0.0
        for p in c.demux():
            if p.dts is not None:
                t = float(p.dts * p.time_base)
                if p.stream.type == "video":
                    video_until = max(video_until, t)
                else:
                    lead = max(lead, t - video_until)
    assert lead < 0.25


def test_segments_are_drawn_in_their_own_processes_and_their_counts_come_back(tmp_path, frames):
    """``processes=True``: each job runs in a forked child (a job that refuses to run in this
    process still gives the video), and what the children add to the counters is added here."""
    parent, counts, total = os.getpid(), {"frames": 0}, {"frames": 0}

    def job(a, b):
        def make():
            if os.getpid() == parent:
                raise RuntimeError("drawn in the parent")
            counts["frames"] += b - a
            return iter(frames[a:b])
        return make

    def add(c):
        total["frames"] += c["frames"]

    with VideoWriter(tmp_path / "a.mp4") as w:
        ticks = sum(1 for _ in encode_segments(w, (job(a, b) for a, b in plan_segments(N)), 2,
                                               processes=True, counters=(lambda: dict(counts), add)))
    assert ticks == N and total["frames"] == N and counts["frames"] == 0
    assert len(read_frames(tmp_path / "a.mp4")) == N


def test_the_same_frames_give_the_same_bytes_at_any_width(real):
    """libx264's macroblock tree read something it had not set at widths of a non-multiple of 8
    macroblocks: one clip at 192 px encoded six times in one process gave 2–6 different files
    (veryfast, CRF 12). ``mbtree=0`` there (``x264_options``): one file."""
    import hashlib
    from fractions import Fraction

    import cv2

    from babelface.media.segments import SegmentEncoder, deterministic_width, x264_options
    assert [deterministic_width(w) for w in (128, 160, 192, 256, 320, 640, 848, 1920)] == \
        [True, False, False, True, False, True, False, True]
    assert "x264-params" not in x264_options(18, "veryfast", 1, 512)
    assert x264_options(18, "veryfast", 1, 192)["x264-params"] == "mbtree=0"
    frames = [cv2.resize(f, (192, 192)) for f in read_frames(real / "WDA_KatieHill_000.mp4", max_frames=100)]
    enc = SegmentEncoder(12, "veryfast", Fraction(1, 25))
    digests = {hashlib.md5(b"".join(bytes(p) for p in enc.encode(frames).packets)).hexdigest()
               for _ in range(6)}
    assert len(digests) == 1
