"""Speed of the text front-ends (issue 18): what they add to `say`, in CPU seconds.

    python benchmarks/frontend_speed.py [--repeats 3] [--langs ar ja …] [--against OTHER/src]

For each front-end language, fresh interpreters run the CLI as a user would (``babelface say`` on
one sentence), alternately on the native text (front-end on: library import, dictionary load,
reading) and on the front-end's output with the front-end switched off (espeak-ng gets identical
input, so audio, timeline and video are identical). A hook on the first segment encoder's opening
(the first frame has been drawn and goes to x264) reads ``resource.getrusage`` (user + system CPU
of the process, all threads): CPU to the first encoded frame ("start-up") and of the whole job.
Per sentence: the same process then runs ``pipeline.say`` again; the CPU of that second sentence.
Medians over the repeats; the difference on − off is the front-end's cost. CPU, not wall: the
machine is shared. The front-end's own cost is also timed alone: ``frontend.prepare``, its first
call in a fresh process that has imported what `say` imports before it (CPU: the front-end's
serial cost at start-up, which the on − off difference measures only within the load's noise)
and the median of 20 further calls. ``--against``: the same cells, interleaved in the same run,
with another checkout's sources (e.g. main's, for a before/after measured under the same load).
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
from _common import FIRST_FRAME_PROBE, ROOT, machine  # noqa: E402

sys.path.insert(0, str(ROOT / "src"))

TEXTS = {
    "ja": "今日は東京へ行きます。駅の近くに病院があります。",
    "zh": "我们今天去北京，银行不是很远。",
    "th": "สวัสดีครับ วันนี้อากาศดีมาก",
    "my": "မင်္ဂလာပါ။ ဒီနေ့ ရာသီဥတု သာယာတယ်။",
    "ar": "السلام عليكم ورحمة الله. الجو جميل اليوم.",
}

_SAY = FIRST_FRAME_PROBE + r"""
if sys.argv[1] == "off":
    import babelface.phonetics.frontend as F
    F.prepare = lambda text, voice: F.Reading(text)
from babelface.cli import main
text, lang, out = sys.argv[2:5]
rc = main(["say", "--lang", lang, "--text", text, "-q", "-o", out])
total = cpu()
from babelface import pipeline
pipeline.say(text, lang, out)
print(json.dumps({"rc": rc, "first": first_frame()["cpu"], "total": total, "next": cpu() - total}))
"""

_PREPARE = r"""
import json, statistics, sys, time
import babelface.pipeline, babelface.phonetics.espeak      # what `say` has loaded by then
t = time.process_time()
from babelface.phonetics.frontend import prepare
prepare(sys.argv[1], sys.argv[2])
cold = time.process_time() - t
warm = []
for _ in range(20):
    t = time.process_time(); prepare(sys.argv[1], sys.argv[2]); warm.append(time.process_time() - t)
print(json.dumps({"cold": cold, "warm": statistics.median(warm)}))
"""


def _run(code: str, src: Path, *args: str) -> dict:
    env = {"PYTHONPATH": str(src), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> int:
    from babelface.phonetics.espeak import resolve_voice
    from babelface.phonetics.frontend import prepare

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--langs", nargs="+", default=list(TEXTS), choices=list(TEXTS))
    ap.add_argument("--against", type=Path, metavar="SRC",
                    help="another checkout's src folder, measured alongside (its rows marked)")
    args = ap.parse_args()
    trees = {"": ROOT / "src"} | ({f" ({args.against})": args.against.resolve()} if args.against else {})
    print(f"{machine()}; load average {os.getloadavg()[0]:.1f} at the start; "
          f"medians of {args.repeats} fresh processes per cell; CPU seconds")
    print("| language | prepare() first call | prepare() per sentence | say CPU to first frame "
          "off → on (+ %) | say CPU whole job off → on (+ %) | say next sentence off → on (+ %) |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "s.mp4")
        for lang in args.langs:
            text = TEXTS[lang]
            voice = resolve_voice(lang)
            spoken = prepare(text, voice).text
            off = {name: [] for name in trees}
            on = {name: [] for name in trees}
            alone = {name: [] for name in trees}
            for _ in range(args.repeats):      # interleaved: the load drifts alike for every cell
                for name, src in trees.items():
                    off[name].append(_run(_SAY, src, "off", spoken, lang, out))
                    on[name].append(_run(_SAY, src, "on", text, lang, out))
                    alone[name].append(_run(_PREPARE, src, text, voice))
            for name in trees:
                cells = []
                for key in ("first", "total", "next"):
                    a, b = _median(off[name], key), _median(on[name], key)
                    cells.append(f"{a:.3f} → {b:.3f} s ({100 * (b - a) / a:+.1f} %)")
                print(f"| {lang}{name} | {_median(alone[name], 'cold'):.3f} s | {1000 * _median(alone[name], 'warm'):.1f} ms | "
                      + " | ".join(cells) + " |", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
