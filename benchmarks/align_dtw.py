"""Forced-alignment (DTW) and coarticulation speed/accuracy: writes the "Forced alignment" section
of BENCHMARKS.md.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/align_dtw.py [--minutes 1 5 10] [--repeats 3]

Target: espeak-ng English at 140 wpm; reference: the same text at 220 wpm (what
``align_transcript`` does with real speech, minus the synthesis). Accuracy is measured against the
slow rendition's own phoneme events. Memory is the tracemalloc peak of one alignment.
"""

from __future__ import annotations

import argparse
import datetime
import time
import tracemalloc
from pathlib import Path

import numpy as np

from babelface.constants import FPS, SAMPLE_RATE
from babelface.media.audio import resample
from babelface.motion.articulation import articulation_from_timeline
from babelface.phonetics.align import align_phonemes
from babelface.phonetics.espeak import synthesize

from _common import ROOT, cpu, write_section

TEXT = ("Every face can speak any language. The quick brown fox jumps over the lazy dog. "
        "Holidays are a time of celebrating with loved ones, enjoying the festivities. "
        "Please bring those three fishing rods from the garage. Why would you measure the height of "
        "each young oak tree? ")
SECTION = "## Forced alignment (DTW) and coarticulation"


def rendition(text: str, rate: int):
    syn = synthesize(text, "en", rate=rate)
    audio = resample(syn.audio, syn.sample_rate, SAMPLE_RATE)
    audio = audio + 1e-4 * np.random.default_rng(0).standard_normal(len(audio)).astype(np.float32)
    return syn, audio


def run(minutes: float, repeats: int) -> dict:
    one = synthesize(TEXT, "en", rate=140).duration
    text = TEXT * max(1, round(minutes * 60 / one))
    t0 = time.perf_counter()
    fast, fast_audio = rendition(text, 220)
    slow, slow_audio = rendition(text, 140)
    synth_s = (time.perf_counter() - t0) / 2
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        aligned = align_phonemes(fast_audio, fast.phonemes, slow_audio)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    align_phonemes(fast_audio, fast.phonemes, slow_audio)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    err = np.abs(np.array([a.start - s.start for a, s in zip(aligned, slow.phonemes)]))
    n_frames = int(np.ceil(len(slow_audio) / SAMPLE_RATE * FPS))
    art_times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        articulation_from_timeline(aligned, n_frames)
        art_times.append(time.perf_counter() - t0)
    return dict(target_min=len(slow_audio) / SAMPLE_RATE / 60, reference_min=len(fast_audio) / SAMPLE_RATE / 60,
                phonemes=len(aligned), align_s=float(np.median(times)), peak_mb=peak / 2**20,
                median_err_ms=float(np.median(err) * 1000), p95_err_ms=float(np.percentile(err, 95) * 1000),
                within_2_frames=float(np.mean(err < 2 / FPS)), synth_s=synth_s,
                articulation_s=float(np.median(art_times)))


def section_text(rows: list[dict], command: str, repeats: int) -> str:
    lines = [SECTION, "",
             f"Command: `{command}`  ", f"Machine: {cpu()}; date: {datetime.date.today().isoformat()}; "
             f"median of {repeats} repeats (the machine is shared, so times are upper bounds).", "",
             "espeak-ng English at 220 wpm (reference) aligned onto the same text at 140 wpm (target) with "
             "`align_phonemes` (MFCC + multi-resolution banded DTW); errors against the target's own phoneme "
             "events. `articulation` = `articulation_from_timeline` on the aligned timeline (25 fps).", "",
             "| target audio | phonemes | DTW align | peak memory | median error | p95 error | within 2 frames | espeak-ng synthesis | articulation |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['target_min']:.1f} min | {r['phonemes']} | {r['align_s']:.1f} s | {r['peak_mb']:.0f} MB | "
                     f"{r['median_err_ms']:.1f} ms | {r['p95_err_ms']:.1f} ms | {100 * r['within_2_frames']:.1f} % | "
                     f"{r['synth_s']:.1f} s | {r['articulation_s']:.2f} s |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 5, 10])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = ap.parse_args()
    rows = []
    for m in args.minutes:
        rows.append(run(m, args.repeats))
        print(rows[-1], flush=True)
    command = "OMP_NUM_THREADS=1 nice -n 10 python benchmarks/align_dtw.py " + \
              f"--minutes {' '.join(f'{m:g}' for m in args.minutes)} --repeats {args.repeats}"
    section = section_text(rows, command, args.repeats)
    write_section(SECTION, section, args.out)
    print(section)


if __name__ == "__main__":
    main()
