"""CPU per video frame of dub's per-frame renderer set-up (issues 10 and 16): load-independent.

    PYTHONPATH=src python benchmarks/dub_frame_setup.py [--frames 8] [--repeats 5]

`dub` builds one :class:`~babelface.render.Renderer` on every edited frame (the frame's own
landmarks, the speaker's rest mouth, one palette for the video), and that set-up brings the
frame's open lips together with two piecewise-affine warps (``Renderer._close_lips``). Both ran
with the GIL held and serialised dub's two segment workers. This times, on real 1080×1920 frames of
``latentsync_demo1.mp4`` (one every second; their landmarks detected once, not timed), the
thread CPU (``time.thread_time``: other processes do not inflate it) of one ``Renderer`` set-up
and of one ``piecewise_affine_map`` call, one BLAS/OpenMP/OpenCV thread. Medians of the repeats.
Compare two versions of the code by pointing PYTHONPATH at each ``src``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import real_dir  # noqa: E402

VIDEO = "corpus/latentsync_demo1.mp4"


def frames(n: int) -> list:
    """``n`` RGB frames of the video, one a second (25 fps), with their landmarks."""
    import av

    from babelface.face.landmarks import detect_landmarks
    out = []
    with av.open(str(real_dir() / VIDEO)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i % 25 == 3:
                image = f.to_ndarray(format="rgb24")
                out.append((image, detect_landmarks(image)))
            if len(out) == n:
                break
    return out


def measure(data: list, repeats: int) -> dict:
    import babelface.render.renderer as R
    from babelface.render.mouth import Palette
    palette = Palette.from_portrait(*data[0], R.RenderConfig().mouth)
    calls = []                                   # the warps' arguments, recorded on a first pass
    warp = R.piecewise_affine_map
    R.piecewise_affine_map = lambda *a, **k: (calls.append((a, k)), warp(*a, **k))[1]
    for image, lm in data:
        R.Renderer(image, lm, palette=palette)
    R.piecewise_affine_map = warp
    setup, per_call = [], []
    for _ in range(repeats):
        t = time.thread_time()
        for image, lm in data:
            R.Renderer(image, lm, palette=palette)
        setup.append((time.thread_time() - t) / len(data) * 1e3)
        t = time.thread_time()
        for a, k in calls:
            warp(*a, **k)
        per_call.append((time.thread_time() - t) / len(calls) * 1e3)
    return {"frames": len(data), "warps per frame": len(calls) / len(data),
            "renderer set-up, ms CPU per frame": round(statistics.median(setup), 2),
            "piecewise_affine_map, ms CPU per call": round(statistics.median(per_call), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=8, help="video frames (one a second, at most 10)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    print(json.dumps(measure(frames(args.frames), args.repeats), indent=1))


if __name__ == "__main__":
    main()
