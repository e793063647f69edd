"""Synthetic benchmark build speed: clips per second of `babelface bench build`.

    PYTHONPATH=src python benchmarks/bench_build.py [--clips-per-language 20] [--workers 1 2]
                                                    [--repeats 3] [--no-write]

Builds the full 15-language benchmark (default augmentations, no rendering) into a temporary
folder, ``repeats`` times per worker count, and reports the median wall time and clips/s (the
ground truth, log-mel and every file write included), then validates the manifest. Writes its
section of BENCHMARKS.md.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import datetime  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from _common import cpu, write_section  # noqa: E402

SECTION = "## Synthetic benchmark build (clips/s)"


def one_build(clips_per_language: int, workers: int) -> tuple[float, int, float]:
    """(seconds, clips, hours of audio) of one full build."""
    from babelface.data.manifest import load_manifest
    from babelface.data.synthetic import BuildConfig, build
    with tempfile.TemporaryDirectory(prefix="bench_build_") as tmp:
        t = time.perf_counter()
        result = build(tmp, BuildConfig(clips_per_language=clips_per_language), workers=workers)
        seconds = time.perf_counter() - t
        clips = load_manifest(tmp)
        assert len(clips) == result.clips and not result.failed, result.failed
        return seconds, result.clips, sum(c.duration_s for c in clips) / 3600


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips-per-language", type=int, default=20)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = ap.parse_args()
    from babelface.progress import set_enabled
    set_enabled(False)
    rows = []
    for w in args.workers:
        runs = [one_build(args.clips_per_language, w) for _ in range(args.repeats)]
        secs = np.array([r[0] for r in runs])
        clips, hours = runs[0][1], runs[0][2]
        med = float(np.median(secs))
        rows.append(f"| {w} | {clips} | {hours * 60:.1f} min | {med:.1f} s | {secs.min():.1f} … {secs.max():.1f} s "
                    f"| {clips / med:.2f} | {clips / med / w:.2f} |")
        print(rows[-1], flush=True)
    cmd = (f"OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_build.py --clips-per-language "
           f"{args.clips_per_language} --workers {' '.join(map(str, args.workers))} --repeats {args.repeats}")
    text = "\n".join([
        SECTION, "",
        f"Command: `PYTHONPATH=src {cmd}`  ",
        f"Machine: {cpu()}; date: {datetime.date.today().isoformat()}; median of {args.repeats} "
        "repeats (the machine is shared with other jobs, so times are upper bounds).", "",
        f"`bench build` of all 15 languages × {args.clips_per_language} clips (default voices and "
        "augmentations, no `--render`): espeak-ng synthesis in a forked process per clip, "
        "augmentation, Cohen–Massaro articulation, motion, 80-bin log-mel and the writes, "
        "then manifest validation.", "",
        "| workers | clips | audio | wall time (median) | range | clips/s | clips/s per worker |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |", *rows, "",
        "Each worker is a spawned process (≈ 2 s to start) building whole clips; on this 2-core machine "
        "the second core is shared with other jobs, so a second worker may not gain anything here.", ""])
    if not args.no_write:
        write_section(SECTION, text)
    print(text)


if __name__ == "__main__":
    main()
