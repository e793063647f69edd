"""Speed of `babelface sync` on one CPU core: writes the "Sync expert: babelface sync speed" section
of BENCHMARKS.md.

    OMP_NUM_THREADS=1 taskset -c 0 nice -n 10 python benchmarks/sync_fps.py [--repeats 3]

Clip: ../shared/data/real/WDA_KatieHill_000.mp4 (8.06 s, 200 frames, 512×512). Timed stages:
decoding + MediaPipe face mesh (the landmarks), audio decoding, the sync expert (both branches and
the offset curve), and the whole `analyze_video` call; frames/s = 200 / seconds, median of repeats.
"""

from __future__ import annotations

import argparse
import datetime
import os
import time
from pathlib import Path

import numpy as np

from _common import ROOT, cpu, real_dir, write_section

SECTION = "## Sync expert: `babelface sync` speed"
CLIP = "WDA_KatieHill_000.mp4"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--weights", type=Path, help="sync expert weights (default: the shipped ones)")
    p.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = p.parse_args()
    import torch
    torch.set_num_threads(1)
    from babelface.face.landmarks import landmarks_sequence
    from babelface.media import iter_frames, load_audio
    from babelface.sync import SyncExpertEmbedding, analyze, analyze_video
    clip = real_dir(CLIP) / CLIP
    emb = SyncExpertEmbedding(args.weights, threads=1)
    analyze_video(clip, emb)                                    # warm-up: imports, model load
    rows = {"landmarks": [], "audio": [], "expert": [], "total": []}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        lm = landmarks_sequence(iter_frames(clip, fps=25))
        t1 = time.perf_counter()
        audio = load_audio(clip)
        t2 = time.perf_counter()
        analyze(audio, lm, emb)
        t3 = time.perf_counter()
        res = analyze_video(clip, emb)
        t4 = time.perf_counter()
        for k, v in zip(rows, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            rows[k].append(v)
    n = res.n_frames
    med = {k: float(np.median(v)) for k, v in rows.items()}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [SECTION, "",
             "Command: `OMP_NUM_THREADS=1 taskset -c 0 nice -n 10 python benchmarks/sync_fps.py "
             f"--repeats {args.repeats}`  ",
             f"Machine: {cpu()} ({cores} core(s) allowed to the process); date: "
             f"{datetime.date.today().isoformat()}; median of {args.repeats} repeats on a shared machine "
             "(upper bounds).", "",
             f"Clip: {CLIP} ({n} frames, 512×512, 8 s). The sync expert alone is the audio and visual "
             "branches plus the offset curve, given landmarks and audio.", "",
             "| stage | seconds | frames/s |", "| --- | --- | --- |"]
    names = {"landmarks": "video decoding + MediaPipe face mesh", "audio": "audio decoding",
             "expert": "sync expert (log-mel, both branches, S(Δ))", "total": "`babelface sync` (analyze_video)"}
    for k, label in names.items():
        lines.append(f"| {label} | {med[k]:.2f} | {n / med[k]:.0f} |")
    section = "\n".join(lines) + "\n"
    write_section(SECTION, section, args.out)
    print(section)


if __name__ == "__main__":
    main()
