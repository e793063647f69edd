"""KMTalk frames/s on one core: the generator, the refiner, and MuEx in the same run (BENCHMARKS.md).

    OMP_NUM_THREADS=1 python benchmarks/kmtalk_speed.py [--weights W] [--repeats 5]

Input: real speech (``RD_Radio31_000.wav``, its first 10 s: the clip is 8 s, 200 frames). Timed: the whole
``predict_motion`` (log-mel, boundary detection, LKMA, CMC) and ``refine`` (key frames detected, CMC
on MuEx's motion), against the shipped MuEx's ``predict_motion``; medians over ``--repeats`` after
one warm-up call.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from _common import machine, real_dir, write_section

SECTION = "## KMTalk frames/s, the 1,500-step model (issue 13, session 23)"
SECONDS = 10


def median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", help="KMTalk weights (default: the shipped model)")
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    from babelface.media import load_audio
    from babelface.models.muex import load_default
    from babelface.models.protocols import load_generator
    audio = load_audio(real_dir() / "RD_Radio31_000.wav")[:16_000 * SECONDS]
    frames = -(-len(audio) // 640)
    gen = load_generator("kmtalk", a.weights)
    muex = load_default()
    motion = muex.predict_motion(audio)
    rows = {"MuEx predict_motion (shipped)": median_time(lambda: muex.predict_motion(audio), a.repeats),
            "KMTalk predict_motion (audio only)": median_time(lambda: gen.predict_motion(audio), a.repeats),
            "KMTalk refine (MuEx's motion)": median_time(lambda: gen.refine(motion, audio), a.repeats)}
    params = sum(p.numel() for n, p in gen.model.named_parameters()
                 if not n.startswith(("lip_reader.", "latent_proj.")))
    base = rows["MuEx predict_motion (shipped)"]
    lines = [f"Command: `OMP_NUM_THREADS=1 python benchmarks/kmtalk_speed.py --repeats {a.repeats}`  ",
             f"Machine: {machine(1)}; shared with other engineers' jobs (loaded: read the ratios, "
             "measured in the same run, rather than the absolute figures).", "",
             f"{frames / 25:.0f} s of real speech (RD_Radio31_000.wav, {frames} frames), medians of {a.repeats} after a warm-up; "
             f"KMTalk has {params / 1e6:.2f} M inference parameters.", "",
             "| stage | time | frames/s | time / MuEx |", "| --- | ---: | ---: | ---: |"]
    for name, t in rows.items():
        lines.append(f"| {name} | {t * 1000:.0f} ms | {frames / t:,.0f} | {t / base:.1f}× |")
    write_section(SECTION, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
