"""VQTalker speed on one CPU core: the motion tokenizer (encode + decode) and the coarse-to-fine
generator (``predict_motion``: log-mel, speech units, R = 4 transformer passes, decode), beside the
shipped MuEx in the same run. Median of ``--repeats`` over 60 s of input; writes BENCHMARKS.md.

    python benchmarks/vqtalker_speed.py [--weights FILE] [--repeats 5]
"""

from __future__ import annotations

import argparse
import datetime
import os
import time
from pathlib import Path

import numpy as np

from _common import cpu, write_section

SECTION = "## VQTalker tokenizer and generator speed (one core)"
SECONDS = 60.0


def median_fps(fn, frames: int, repeats: int) -> float:
    fn()                                                           # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return frames / float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", type=Path, default=None, help="VQTalker weights (default: the shipped file)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--write", action="store_true", help="write the section of BENCHMARKS.md")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    from babelface.constants import FPS
    from babelface.models.muex import load_default
    from babelface.models.vqtalker import generator
    vq = generator(args.weights)
    muex = load_default()
    rng = np.random.default_rng(0)
    audio = rng.normal(0, 0.1, int(SECONDS * 16000)).astype(np.float32)
    frames = int(SECONDS * FPS)
    motion = torch.from_numpy(vq.predict_motion(audio))[None]
    rows = {
        "tokenizer encode + decode": median_fps(lambda: vq.tokenizer.decode(vq.tokenizer.encode(motion)), frames, args.repeats),
        "tokenizer encode": median_fps(lambda: vq.tokenizer.encode(motion), frames, args.repeats),
        "generator `predict_motion` (speech → motion)": median_fps(lambda: vq.predict_motion(audio), frames, args.repeats),
        "MuEx `predict_motion` (shipped)": median_fps(lambda: muex.predict_motion(audio), frames, args.repeats),
    }
    params = sum(p.numel() for p in vq.parameters())
    load = os.getloadavg()[0]
    weights = f" --weights {args.weights}" if args.weights else ""
    lines = [SECTION, "", f"Command: `python benchmarks/vqtalker_speed.py{weights} --repeats {args.repeats} --write`  ",
             f"Machine: {cpu(1)}; torch 1 thread; load average {load:.1f} while measuring (shared machine); "
             f"{datetime.date.today().isoformat()}.", "",
             "| stage | frames/s (25 fps frames, median) | × real time |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {fps:,.0f} | {fps / FPS:,.0f}× |" for name, fps in rows.items()]
    lines += ["", f"Input: {SECONDS:.0f} s of noise-like audio (speed does not depend on content); VQTalker "
                  f"holds {params / 1e6:.2f} M parameters (tokenizer, speech units and generator)."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
