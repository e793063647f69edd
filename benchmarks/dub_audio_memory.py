"""Time and memory of the dub soundtrack (`babelface.dub.track.build_track`) on long videos
(BENCHMARKS.md).

    nice python benchmarks/dub_audio_memory.py [--minutes 1 10] [--no-write]

A 48 kHz stereo original is made by tiling styletalk_Obama_clip1's speech to the length asked
for, and a Spanish paragraph (three times per minute) is dubbed over it with ``--fit segments``.
Each length runs in its own process; reported: seconds, the process's peak RSS before
``build_track`` (imports and the original track, which the caller holds anyway) and after, and
the difference.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, real_dir, write_section  # noqa: E402

HEADING = "## dub: soundtrack time and memory on long videos (issue 10)"
TEXT = ("Buenas tardes a todos. Hoy quiero hablarles de la economía, de los empleos y del futuro de "
        "nuestros hijos. Hemos avanzado mucho, pero queda trabajo por hacer. Juntos podemos "
        "lograrlo, y lo haremos. Gracias.")
RATE = 48_000


def _hwm_mb() -> float:
    return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024


def one(minutes: float) -> dict:
    """Run in this process: build the original, then the track; return the figures."""
    import numpy as np

    import parselmouth  # noqa: F401  (imports first, so that they count as "before")
    import pyloudnorm  # noqa: F401
    import scipy.signal  # noqa: F401
    import torch  # noqa: F401
    from babelface.dub.track import build_track
    from babelface.media import load_audio
    from babelface.media.audio import resample
    speech = resample(load_audio(real_dir() / "corpus" / "styletalk_Obama_clip1.mp4"), 16_000, RATE)
    n = int(minutes * 60 * RATE)
    original = np.empty((n, 2), np.float32)
    original[:, 0] = np.resize(speech, n)
    original[:, 1] = original[:, 0]
    del speech
    before = _hwm_mb()
    t0 = time.perf_counter()
    track = build_track(n / RATE, original, RATE, text=" ".join([TEXT] * int(3 * minutes)),
                        language="es", max_duration=1e9)
    return {"minutes": minutes, "seconds": time.perf_counter() - t0, "before_mb": before,
            "peak_mb": _hwm_mb(), "parts": len(track.parts), "dur_err": track.dur_err}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    ap.add_argument("--one", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one)))
        return
    rows = []
    for m in args.minutes:
        out = subprocess.run([sys.executable, __file__, "--one", str(m)], capture_output=True, text=True,
                             check=True, env={"BABELFACE_QUIET": "1", "OMP_NUM_THREADS": "1",
                                              "PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    table = ("| original (48 kHz stereo) | parts | seconds | peak RSS before (MB) | peak RSS after (MB) "
             "| added by build_track (MB) |\n| ---: | ---: | ---: | ---: | ---: | ---: |\n")
    table += "\n".join(f"| {r['minutes']:g} min | {r['parts']} | {r['seconds']:.1f} | {r['before_mb']:.0f} | "
                       f"{r['peak_mb']:.0f} | {r['peak_mb'] - r['before_mb']:.0f} |" for r in rows) + "\n"
    text = (f"Command: `nice python benchmarks/dub_audio_memory.py` ({machine(1)}, one thread; the machine "
            "was shared and loaded, so seconds are upper bounds). \"Before\" holds the imports and the "
            "original track (which `babelface dub` holds anyway); what `build_track` adds is mostly "
            "its output: the mixed track (n, C) and the new speech alone (n,) at the output rate. "
            "The ducking/mixing, the analysis resampling, the VAD front-end and the Int-Corr "
            "envelopes work block by block or in place.\n\n" + table)
    print(text)
    if not args.no_write:
        write_section(HEADING, text, "BENCHMARKS.md")


if __name__ == "__main__":
    main()
