"""Real-video preparation throughput: frames per second per core of `babelface prepare`.

    PYTHONPATH=src python benchmarks/prepare_fps.py [--repeats 3] [--no-write]

Prepares the two real talking-face videos of ../shared/data/real (WDA_KatieHill_000.mp4: 200
frames 512×512 with audio; sun.mp4: 550 frames 576×768, no audio) into a temporary folder with
one worker (one BLAS/OpenMP and OpenCV thread) and reports source frames processed per second of
wall time and per CPU-second (per core): both decodes, face-mesh tracking, filters, crops, H.264 encoding, landmarks, motion,
log-mel and the writes. Median over repeats; writes its section of BENCHMARKS.md.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import datetime  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from _common import cpu, real_dir, write_section  # noqa: E402

SECTION = "## Real-video preparation (frames/s per core)"
VIDEOS = ("WDA_KatieHill_000.mp4", "sun.mp4")


def one_run(video: Path) -> tuple[float, int, int, float]:
    """(wall seconds, frames, clips, CPU seconds of all threads) for one file, fresh output folder."""
    import cv2
    from babelface.data.prepare import prepare
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory(prefix="prepare_fps_") as tmp:
        t, c = time.perf_counter(), time.process_time()
        result = prepare([video], tmp, workers=1)
        return time.perf_counter() - t, result.frames, result.clips, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    from babelface.progress import set_enabled
    set_enabled(False)
    real = real_dir(VIDEOS[0])
    one_run(real / VIDEOS[0])                    # warm-up: MediaPipe graph, imports
    rows = []
    for name in VIDEOS:
        runs = [one_run(real / name) for _ in range(args.repeats)]
        secs = np.array([r[0] for r in runs])
        frames, clips = runs[0][1], runs[0][2]
        med = float(np.median(secs))
        cpu_wall = float(np.median([r[3] / r[0] for r in runs]))
        per_cpu_s = float(np.median([frames / r[3] for r in runs]))
        rows.append(f"| {name} | {frames} | {clips} | {med:.1f} s | {secs.min():.1f} … {secs.max():.1f} s "
                    f"| {cpu_wall:.2f} | {frames / med:.1f} | {per_cpu_s:.1f} |")
        print(rows[-1], flush=True)
    text = "\n".join([
        SECTION, "",
        f"Command: `PYTHONPATH=src OMP_NUM_THREADS=1 nice -n 10 python benchmarks/prepare_fps.py "
        f"--repeats {args.repeats}`  ",
        f"Machine: {cpu(1)}; date: {datetime.date.today().isoformat()}; median of "
        f"{args.repeats} repeats after one warm-up run (the machine is shared, so times are upper bounds).", "",
        "`prepare` with one worker: two decodes at 25 fps, MediaPipe face-mesh tracking (2 faces), the "
        "filters, the smoothed 512×512 crop encoded as H.264 + AAC, landmarks, motion, log-mel and the "
        "writes. With `--workers N`, N files are processed at once, one per process.", "",
        "| video | frames | clips | wall time (median) | range | CPU time / wall time | frames/s (wall, one worker) | frames per CPU-second (per core) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |", *rows, "",
        "Frames per CPU-second (all threads of the process, MediaPipe's included) is the per-core "
        "throughput whatever else the shared machine runs; CPU time / wall time below 1 means the "
        "worker waited for a core, and the wall-clock rate is lower by that factor.", ""])
    if not args.no_write:
        write_section(SECTION, text)
    print(text)


if __name__ == "__main__":
    main()
