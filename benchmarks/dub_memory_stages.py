"""RSS of `babelface dub`'s two per-frame stages alone, over many frames (BENCHMARKS.md, issue 10):
the render stage (the real HDTF clip tracked once, its 200 frames rendered 5 times on 2 workers,
no encoder) and the video writer (the same frames written 5 times, 512², with a 48 kHz stereo
soundtrack computed slice by slice, dub.mix.Mixed over dub.mix.DiskSignal). Flat RSS over 1000
frames: neither stage keeps anything per frame.

    python benchmarks/dub_memory_stages.py render|writer
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import real_dir  # noqa: E402

REPEATS, EVERY = 5, 100


def rss_mb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) // 1024 for line in f if line.startswith("VmRSS"))


def render(images, src) -> None:
    from babelface.dub import stream
    from babelface.dub.mouth_bank import MouthBank
    from babelface.dub.render import Frame, FrameRenderer
    from babelface.dub.tracking import finish, track_faces
    bank = MouthBank()
    tracks, times = track_faces(stream.frames(src), (src.width, src.height),
                                lambda k, img, lm: bank.add(img, lm))
    tracking = finish(tracks, times, float(src.rate), src.duration_s)
    motion = np.abs(np.random.default_rng(0).normal(0, 0.03, (len(images), 111, 3))).astype(np.float32)
    frames = (Frame(img, i, motion[i]) for _ in range(REPEATS) for i, img in enumerate(images))
    for k, _ in enumerate(FrameRenderer(tracking, bank).frames(frames, 2)):
        if k % EVERY == 0:
            print(k, rss_mb(), "MB", flush=True)


def writer(images, src) -> None:
    from babelface.dub.mix import DiskSignal, Mixed
    from babelface.media import VideoWriter
    rate = 48_000
    n = int(rate * (REPEATS * len(images) / 25 + 1))
    stem = DiskSignal(n)
    stem.add(1000, np.random.default_rng(0).normal(0, 0.1, n - 2000))
    audio = Mixed(DiskSignal(n, 2), stem, rate, [(0.5, n / rate - 1)], -24.0, 2)
    with tempfile.TemporaryDirectory() as d, VideoWriter(Path(d) / "o.mp4", fps=25, audio=audio,
                                                         sample_rate=rate, crf=23, quality="fast") as w:
        for k in range(REPEATS * len(images)):
            w.write(images[k % len(images)])
            if k % EVERY == 0:
                print(k, rss_mb(), "MB", flush=True)


def main() -> None:
    from babelface.dub import stream
    from babelface.threads import job
    stage = sys.argv[1] if len(sys.argv) > 1 else "render"
    src = stream.probe(real_dir() / "WDA_KatieHill_000.mp4", 60)
    images = [f.image for f in stream.frames(src)]
    with job(2):
        {"render": render, "writer": writer}[stage](images, src)


if __name__ == "__main__":
    main()
