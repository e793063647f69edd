"""Speed of the text front-ends (issue 18) against `say`, measured in the same run.

    python benchmarks/frontend_speed.py [--repeats 5]

For each front-end language, in a fresh process: the cold cost (first call: imports, dictionary
or model load, reading) and the warm per-sentence cost (median of the repeats) of
``frontend.prepare``; and, in another fresh process, `say`'s own start-up (imports, espeak-ng,
face detection, first sentence rendered) and its warm per-sentence time for the same sentences
spoken without front-end cost (English of similar length). Ratios = front-end / say.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXTS = {
    "ja": ("ja", "今日は東京へ行きます。駅の近くに病院があります。"),
    "zh": ("cmn-latn-pinyin", "我们今天去北京，银行不是很远。"),
    "th": ("th", "สวัสดีครับ วันนี้อากาศดีมาก"),
    "my": ("my", "မင်္ဂလာပါ။ ဒီနေ့ ရာသီဥတု သာယာတယ်။"),
    "ar": ("ar", "السلام عليكم ورحمة الله. الجو جميل اليوم."),
}
SAY_TEXT = "Every face can speak any language today."

_FRONT = """
import json, statistics, sys, time
t = time.perf_counter()
from babelface.phonetics.frontend import prepare
prepare({text!r}, {voice!r})
cold = time.perf_counter() - t
warm = []
for _ in range({repeats}):
    t = time.perf_counter(); prepare({text!r}, {voice!r}); warm.append(time.perf_counter() - t)
print(json.dumps({{"cold": cold, "warm": statistics.median(warm)}}))
"""

_SAY = """
import json, statistics, sys, time
t = time.perf_counter()
from babelface import pipeline
pipeline.say({text!r}, "en", {out!r})
cold = time.perf_counter() - t
warm = []
for _ in range({repeats}):
    t = time.perf_counter(); pipeline.say({text!r}, "en", {out!r}); warm.append(time.perf_counter() - t)
print(json.dumps({{"cold": cold, "warm": statistics.median(warm)}}))
"""


def _run(code: str) -> dict:
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        say = _run(_SAY.format(text=SAY_TEXT, out=str(Path(tmp) / "s.mp4"), repeats=max(1, args.repeats // 2)))
    print(f"say (en, {len(SAY_TEXT.split())} words): start-up + first sentence {say['cold']:.2f} s, "
          f"per sentence {say['warm']:.2f} s (median)")
    print("| language | front-end cold (first call) | ratio to say start-up | front-end per sentence "
          "(median) | ratio to say per sentence |")
    print("| --- | --- | --- | --- | --- |")
    for lang, (voice, text) in TEXTS.items():
        r = _run(_FRONT.format(text=text, voice=voice, repeats=args.repeats))
        print(f"| {lang} | {r['cold']:.3f} s | {100 * r['cold'] / say['cold']:.1f} % | "
              f"{1000 * r['warm']:.1f} ms | {100 * r['warm'] / say['warm']:.1f} % |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
