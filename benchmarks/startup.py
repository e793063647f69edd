"""Start-up cost of `babelface say`: CPU seconds from process start to the first encoded frame,
and the heaviest imports (``python -X importtime``) on the way.

    python benchmarks/startup.py [--repeats 5] [--no-write]

Each repeat is a fresh interpreter running the CLI as a user would (``babelface say`` on one
sentence); a hook on the first segment encoder's opening (:mod:`babelface.media.segments`: the
first frame has been drawn and goes to x264) reads ``resource.getrusage`` (user + system CPU of
the process, all threads), and again at the end. Writes the
"## Start-up (CPU to the first frame)" section of BENCHMARKS.md with the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import FIRST_FRAME_PROBE, ROOT, machine, write_section  # noqa: E402

HEADING = "## Start-up (CPU to the first frame)"
SENTENCE = "Every face can speak any language, in every country of the world."
HEAVY = ("torch", "mediapipe", "matplotlib", "matplotlib.pyplot", "scipy", "scipy.spatial",
         "scipy.ndimage", "cv2", "av", "numpy")

PROBE = FIRST_FRAME_PROBE + r"""
from babelface.cli import main
rc = main(sys.argv[1:])
mods = [m for m in %r if m in sys.modules and type(sys.modules[m]).__name__ == "module"]
print(json.dumps({"rc": rc, "first_cpu": first_frame()["cpu"], "first_wall": first_frame()["wall"],
                  "total_cpu": cpu(), "loaded": mods}))
"""


def run_once(out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    cmd = [sys.executable, "-c", PROBE % (HEAVY,), "say", "--lang", "en", "--text", SENTENCE,
           "-q", "-o", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def import_times() -> list[tuple[str, float]]:
    """Cumulative import time (ms) of the heavy modules in one `say` process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run([sys.executable, "-X", "importtime", "-m", "babelface", "say", "--lang",
                              "en", "--text", SENTENCE, "-q", "-o", str(Path(tmp) / "o.mp4")],
                             capture_output=True, text=True, env=env, check=True)
    out = {}
    for line in res.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cum, name = (p.strip() for p in line.split("|"))
            if name in HEAVY and cum.isdigit():
                out[name] = int(cum) / 1000
    return sorted(out.items(), key=lambda kv: -kv[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        runs = [run_once(Path(tmp) / f"s{i}.mp4") for i in range(args.repeats)]
    first = statistics.median(r["first_cpu"] for r in runs)
    wall = statistics.median(r["first_wall"] for r in runs)
    total = statistics.median(r["total_cpu"] for r in runs)
    imports = import_times()
    print(json.dumps({"first_frame_cpu_s": first, "first_frame_wall_s": wall, "total_cpu_s": total,
                      "loaded": runs[0]["loaded"], "imports_ms": imports}, indent=1))
    if args.no_write:
        return
    rows = "\n".join(f"| {name} | {ms:.0f} |" for name, ms in imports)
    write_section(HEADING, f"""`python benchmarks/startup.py --repeats {args.repeats}` ({machine()}; load average
{load:.1f} at the start). A fresh process runs `babelface say --lang en` on one sentence
("{SENTENCE}", 3.9 s of speech); CPU is user + system of the process (`getrusage`), median of
{args.repeats}.

| | median |
|---|---|
| CPU to the first encoded frame | **{first:.2f} s** |
| wall to the first encoded frame | {wall:.2f} s |
| CPU of the whole job | {total:.2f} s |

Heavy modules loaded by the job: {", ".join(runs[0]["loaded"])} (not torch, not matplotlib.pyplot:
torch is imported only by the learned models, pyplot only to plot; MediaPipe's own top-level
pyplot import is deferred). Cumulative import times of one run (`-X importtime`, wall ms, so
inflated by the machine's load):

| module | ms |
|---|---|
{rows}
""")


if __name__ == "__main__":
    main()
