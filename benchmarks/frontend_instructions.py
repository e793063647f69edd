"""Instructions a text front-end costs at start-up (issue 18), counted by valgrind: a figure the
machine's load does not move.

    python benchmarks/frontend_instructions.py [--langs ar th zh] [--against OTHER/src]

CPU seconds on the shared machine scatter by ±3 points of `say`'s start-up between runs; the
instructions a process executes do not. For each language two fresh interpreters run under
``valgrind --tool=callgrind`` (hash seed fixed): both import what `say` imports before its
front-end, one then calls ``frontend.prepare`` on the benchmark sentence of
``benchmarks/frontend_speed.py``; both end with a full collection of the cyclic GC (`say` runs one
before its first frame: what the front-end leaves to the collector is counted too). The
difference is the front-end's first call: import, load, first reading, GC. ``--against``: the
same with another checkout's sources (e.g. main's), for a before/after. ~15 s of CPU a process.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT  # noqa: E402
from frontend_speed import TEXTS  # noqa: E402

_PROBE = r"""
import gc, sys
import babelface.pipeline, babelface.phonetics.espeak
if len(sys.argv) > 1:
    from babelface.phonetics.frontend import prepare
    prepare(*sys.argv[1:])
gc.collect()
"""


def instructions(src: Path, *args: str) -> int:
    env = {"PYTHONPATH": str(src), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "1"}
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                          sys.executable, "-c", _PROBE, *args],
                         capture_output=True, text=True, check=True, env=env).stderr
    return int(re.search(r"Collected : (\d+)", out).group(1))


def main() -> int:
    from babelface.phonetics.espeak import resolve_voice

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--langs", nargs="+", default=["ar", "th", "zh"], choices=list(TEXTS))
    ap.add_argument("--against", type=Path, metavar="SRC",
                    help="another checkout's src folder, counted alongside (its rows marked)")
    args = ap.parse_args()
    trees = {"": ROOT / "src"} | ({f" ({args.against})": args.against.resolve()} if args.against else {})
    print("| language | front-end's first call: million instructions (on − off) |")
    print("| --- | --- |")
    for lang in args.langs:
        for name, src in trees.items():
            cost = instructions(src, TEXTS[lang], resolve_voice(lang)) - instructions(src)
            print(f"| {lang}{name} | {cost / 1e6:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
