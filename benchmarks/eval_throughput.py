"""Throughput of the evaluation suite: landmark extraction frames/s and `babelface eval` on N clips.

    nice -n 10 python benchmarks/eval_throughput.py --clips 100 --write

1. MediaPipe face-mesh tracking (478 landmarks, refine) over the 200 frames of the real 512×512
   HDTF clip, decoded beforehand, on one core (the process is pinned to CPU 0); median of repeats.
2. ``babelface eval --real R --gen G --out DIR --json`` in-process, pinned to CPU 0, on N pairs of
   8.06 s clips. The clips are stream copies of the real clip, each with its own metadata tag
   (``ffmpeg -c copy -metadata comment=…``): every file has different bytes, so every file is a
   separate cache entry and a separate MediaPipe run, while decoding and tracking cost what they cost
   on the real clip. Cold: an empty landmark cache (2·N extractions); warm: the same cache again.

With ``--write`` the results replace the "Evaluation throughput" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _common import cpu, real_dir, write_section

CLIP = "WDA_KatieHill_000.mp4"
SECTION = "## Evaluation throughput (`babelface eval`)"


def extraction_fps(src: Path, repeats: int) -> tuple[float, int]:
    from babelface.face.landmarks import landmarks_sequence
    from babelface.media import read_frames
    frames = read_frames(src, fps=25)
    landmarks_sequence(frames[:5])                       # load the model once
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        landmarks_sequence(frames)
        times.append(time.perf_counter() - t)
    return len(frames) / statistics.median(times), len(frames)


def make_clips(src: Path, root: Path, n: int) -> None:
    for role in ("real", "gen"):
        (root / role).mkdir(parents=True)
        for i in range(n):
            subprocess.run(["ffmpeg", "-v", "error", "-i", str(src), "-c", "copy", "-map_metadata", "-1",
                            "-metadata", f"comment={role}_{i:03d}", str(root / role / f"clip_{i:03d}.mp4")],
                           check=True)


def timed_eval(root: Path, cache: Path, out: Path) -> float:
    from babelface.cli import main
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["eval", "--real", str(root / "real"), "--gen", str(root / "gen"), "--cache", str(cache),
                     "--out", str(out), "--json"])
    assert code == 0
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the extraction and the warm run")
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = ap.parse_args()
    os.sched_setaffinity(0, {0})
    os.environ.setdefault("BABELFACE_QUIET", "1")
    import torch
    torch.set_num_threads(1)
    src = real_dir(CLIP) / CLIP

    fps, n_frames = extraction_fps(src, args.repeats)
    print(f"extraction: {fps:.1f} frames/s over {n_frames} frames (median of {args.repeats})", flush=True)

    work = Path(tempfile.mkdtemp(prefix="bf-evalbench-"))
    try:
        make_clips(src, work, args.clips)
        cold = timed_eval(work, work / "cache", work / "out")
        print(f"cold: {cold:.1f} s for {args.clips} clips", flush=True)
        warm = [timed_eval(work, work / "cache", work / "out") for _ in range(args.repeats)]
        print(f"warm: {statistics.median(warm):.2f} s (runs: {', '.join(f'{w:.2f}' for w in warm)})", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    n = args.clips
    load = os.getloadavg()[0]
    predicted = 2 * n_frames / fps
    text = f"""{SECTION}

Command: `nice -n 10 python benchmarks/eval_throughput.py --clips {n} --repeats {args.repeats} --write`
Machine: {cpu()} (process pinned to 1). Date: {datetime.date.today().isoformat()}. Python {platform.python_version()}.

| measurement | result |
| --- | --- |
| MediaPipe landmarks (478, tracking), 512×512, 1 core | **{fps:.1f} frames/s** (median of {args.repeats}; {n_frames} decoded frames, decoding excluded) |
| `babelface eval`, {n} clips of 8.06 s (200 frames), cold cache | **{cold:.1f} s** ({cold / n:.2f} s per clip; {2 * n} videos through MediaPipe; one run) |
| `babelface eval`, same {n} clips, warm cache | **{statistics.median(warm):.2f} s** ({statistics.median(warm) / n * 1000:.0f} ms per clip; median of {args.repeats}) |

The {n} clips are stream copies of `WDA_KatieHill_000.mp4` with distinct metadata, so each of the
{2 * n} files (real and generated) is hashed, decoded and tracked on its own; no SyncNet / I3D (those
are optional and weight-bound). Timings are in-process (`babelface.cli.main`, Python start-up not
included) and include writing `--out` (JSON, CSV, Markdown, two PNG plots). The warm run still reads
and hashes every file and recomputes every metric; only MediaPipe is skipped. The machine is shared
with other jobs (1-minute load average {load:.1f} at the end of this run), so the cold figure (a
single run) is an upper bound; the warm runs took {', '.join(f'{w:.1f}' for w in warm)} s. Per clip, two
extractions at the one-core rate predict 2 × {n_frames} frames / {fps:.0f} frames/s ≈ {predicted:.1f} s,
plus decoding and the metrics.
"""
    print(text)
    if args.write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
