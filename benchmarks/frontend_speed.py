"""Speed of the text front-ends (issue 18): what they add to `say`, measured in the same run.

    python benchmarks/frontend_speed.py [--repeats 3]

For each front-end language, two fresh processes run `pipeline.say` on the same speech: once on
the native text (the front-end runs: library import, dictionary load, reading) and once on the
front-end's output with the front-end switched off (espeak-ng gets identical input, so audio,
timeline and video are identical). Start-up = the first `say` of the process (imports, espeak-ng,
portrait detection, first sentence); per sentence = median of the following ones. The difference
is the front-end's cost; on a loaded machine it drowns in noise, so the front-end's own cost is
also timed directly (`frontend.prepare`: first call in a fresh process, then the median of 20
calls) and given as a share of `say` with the front-end off.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

TEXTS = {
    "ja": "今日は東京へ行きます。駅の近くに病院があります。",
    "zh": "我们今天去北京，银行不是很远。",
    "th": "สวัสดีครับ วันนี้อากาศดีมาก",
    "my": "မင်္ဂလာပါ။ ဒီနေ့ ရာသီဥတု သာယာတယ်။",
    "ar": "السلام عليكم ورحمة الله. الجو جميل اليوم.",
}

_SAY = """
import json, statistics, time
t = time.perf_counter()
from babelface import pipeline
{switch}
pipeline.say({text!r}, {lang!r}, {out!r})
cold = time.perf_counter() - t
warm = []
for _ in range({repeats}):
    t = time.perf_counter(); pipeline.say({text!r}, {lang!r}, {out!r})
    warm.append(time.perf_counter() - t)
t = time.perf_counter()
print(json.dumps({{"cold": cold, "warm": statistics.median(warm)}}))
"""
_OFF = ("import babelface.phonetics.frontend as F\n"
        "F.prepare = lambda text, voice: F.Reading(text)")
_PREPARE = """
import json, statistics, time
t = time.perf_counter()
from babelface.phonetics.frontend import prepare
prepare({text!r}, {voice!r})
cold = time.perf_counter() - t
warm = []
for _ in range(20):
    t = time.perf_counter(); prepare({text!r}, {voice!r}); warm.append(time.perf_counter() - t)
print(json.dumps({{"cold": cold, "warm": statistics.median(warm)}}))
"""


def _run(code: str) -> dict:
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    from babelface.phonetics.espeak import resolve_voice
    from babelface.phonetics.frontend import prepare

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print("| language | prepare() cold | share of say start-up (off) | prepare() per sentence "
          "| share of say per sentence (off) | say start-up off → on | say per sentence off → on |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "s.mp4")
        for lang, text in TEXTS.items():
            voice = resolve_voice(lang)
            spoken = prepare(text, voice).text
            off = _run(_SAY.format(switch=_OFF, text=spoken, lang=lang, out=out, repeats=args.repeats))
            on = _run(_SAY.format(switch="", text=text, lang=lang, out=out, repeats=args.repeats))
            alone = _run(_PREPARE.format(text=text, voice=voice))
            print(f"| {lang} | {alone['cold']:.2f} s | {100 * alone['cold'] / off['cold']:.1f} % | "
                  f"{1000 * alone['warm']:.1f} ms | {100 * alone['warm'] / off['warm']:.2f} % | "
                  f"{off['cold']:.2f} → {on['cold']:.2f} s | {off['warm']:.2f} → {on['warm']:.2f} s |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
