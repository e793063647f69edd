"""Real head motion, blinks, gaze and brows, measured with MediaPipe; the speech → head model fitted
on them (issue 14).

    PYTHONPATH=src python benchmarks/head_stats.py            # measure (cached), fit, write RESULTS.md
    PYTHONPATH=src python benchmarks/head_stats.py --refit    # from the cache only (no MediaPipe)

Clips: the 29 of ../shared/data/real/corpus and WDA_KatieHill_000.mp4, read at 25 fps (nearest
timestamp). Each frame is tracked by MediaPipe's face mesh (refine_landmarks: irises) and measured by
:func:`babelface.motion.head.measure_head`; the speech by :func:`babelface.motion.prosody.analyse`.
Per-clip series are cached in ``tests/data/head_real.npz`` (float32, ~1 MB) so that the fit and the
tests never re-run MediaPipe over seven minutes of video. The model (:mod:`babelface.motion.head_model`)
is fitted on every clip but those of the held-out speakers (``HELD_OUT``) and written to
``src/babelface/assets/head_model.json``; the RESULTS.md section compares real and generated
statistics per 5 s window.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from _common import ROOT, real_dir, write_section

CACHE = ROOT / "tests" / "data" / "head_real.npz"
MODEL = ROOT / "src" / "babelface" / "assets" / "head_model.json"
SECTION = "## Head motion, blinks, gaze and brows: real clips and the speech-driven model"
# speakers whose clips are kept out of the fit and used to check the model (split by speaker)
HELD_OUT = ("styletalk_feifeili", "pcavs_00473", "WDA_KatieHill")


def clips() -> list[Path]:
    real = real_dir()
    return sorted((real / "corpus").glob("*.mp4")) + [real / "WDA_KatieHill_000.mp4"]


def measure_clip(path: Path) -> dict[str, np.ndarray]:
    from babelface.constants import FPS
    from babelface.face.landmarks import FaceTracker
    from babelface.media import iter_frames, load_audio
    from babelface.motion.head import measure_head
    from babelface.motion.prosody import analyse
    lms = []
    with FaceTracker(max_faces=1) as tr:
        for frame in iter_frames(path, fps=FPS):
            faces = tr.track(frame)
            lms.append(faces[0] if faces else np.full((478, 3), np.nan, np.float32))
    head = measure_head(np.stack(lms))
    p = analyse(load_audio(path), len(head))
    return {"head": head, "f0": p.f0, "energy": p.energy, "speech": p.speech, "pause": p.pause,
            "boundary": p.boundary, "accent": p.accent}


def load_cache(path: Path = CACHE) -> dict[str, dict[str, np.ndarray]]:
    """``{clip name: {array name: array}}`` from the cache (empty when there is none)."""
    if not path.exists():
        return {}
    out: dict[str, dict[str, np.ndarray]] = {}
    with np.load(path) as z:
        for key in z.files:
            clip, name = key.split("/")
            out.setdefault(clip, {})[name] = z[key]
    return out


def save_cache(data: dict[str, dict[str, np.ndarray]], path: Path = CACHE) -> None:
    from babelface.media._atomic import atomic_path
    flat = {f"{c}/{k}": v for c, d in data.items() for k, v in d.items()}
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **flat)


def measure_all() -> dict[str, dict[str, np.ndarray]]:
    data = load_cache()
    for path in clips():
        if path.stem in data:
            continue
        t = time.perf_counter()
        data[path.stem] = measure_clip(path)
        save_cache(data)
        head = data[path.stem]["head"]
        print(f"{path.stem}: {len(head)} frames, face in {np.isfinite(head[:, 0]).mean():.0%}, "
              f"{time.perf_counter() - t:.0f} s", flush=True)
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--refit", action="store_true", help="use the cache only; never run MediaPipe")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args()
    data = load_cache() if args.refit else measure_all()
    if not data:
        sys.exit(f"no cache at {CACHE}: run without --refit first")
    from head_report import fit_and_report
    text = fit_and_report(data, HELD_OUT, MODEL)
    print(text)
    if not args.no_write:
        write_section(SECTION, text, "RESULTS.md")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
