"""Real-time factor of `babelface say`, end to end (process start, synthesis, face, motion, render,
encode), on the bundled portrait.

    python benchmarks/say_rtf.py [--repeats 5] [--no-write]

RTF = wall-clock seconds / seconds of speech; below 1 is faster than real time. Each run is a
fresh `babelface say` process, as a user would start it. Writes the "## say: real-time factor"
section of BENCHMARKS.md with the median of the repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, write_section  # noqa: E402

HEADING = "## say: real-time factor"
CASES = {
    "one sentence (en)": ("en", "Every face can speak any language, in every country of the world."),
    "paragraph (en)": ("en", " ".join([
        "Every face can speak any language. The quick brown fox jumps over the lazy dog.",
        "Holidays are a time of celebrating with loved ones, enjoying the festivities.",
        "Please bring those three fishing rods from the garage before the evening train leaves.",
        "Why would anyone measure the height of each young oak tree in the whole park?",
        "We will meet again tomorrow morning at the old library near the river."])),
    "paragraph (th)": ("th", "ทุก ใบหน้า พูด ได้ ทุก ภาษา เป็ด ขาว บิน ข้าม ภูเขา " * 4),
}


def run_once(lang: str, text: str, out: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds of the child process, speech seconds) of one `babelface say`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "babelface.cli", "say", "--lang", lang, "--text", text,
                           "-o", str(out), "--json"], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(proc.stdout)["audio_duration_s"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = ap.parse_args()
    rows = []
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for name, (lang, text) in CASES.items():
            walls, cpus, dur = [], [], 0.0
            for i in range(args.repeats):
                wall, cpu, dur = run_once(lang, text, Path(tmp) / f"{i}.mp4")
                walls.append(wall)
                cpus.append(cpu)
            med, cpu = statistics.median(walls), statistics.median(cpus)
            rows.append(f"| {name} | {dur:.1f} | {med:.2f} | {med / dur:.2f} | {cpu:.2f} | {cpu / dur:.2f} | "
                        f"{cpu / 2 / dur:.2f} … {cpu / dur:.2f} |")
            print(rows[-1], flush=True)
    text = "\n".join([
        HEADING, "",
        f"`python benchmarks/say_rtf.py --repeats {args.repeats}` on {machine()}. Each run is a fresh "
        "`babelface say` process on the bundled 512×512 portrait (start-up, espeak-ng, MediaPipe, "
        "motion, rendering and H.264 encoding overlapped on the two cores); median of the repeats. "
        f"Goal: RTF ≤ 0.5. Load average when the run started: {load:.1f} (other jobs share the "
        "machine, so wall times are upper bounds); the CPU columns count the process's own CPU "
        "seconds (all threads), which other jobs do not inflate: on an otherwise idle 2-core machine the wall time lies "
        "between CPU / 2 (work perfectly overlapped on both cores) and CPU (no overlap at all).", "",
        "| utterance | speech (s) | wall (s) | RTF (wall) | CPU (s) | CPU-seconds per speech second "
        "| RTF on 2 idle cores: bounds (CPU / 2 … CPU) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |", *rows])
    print(text)
    if not args.no_write:
        write_section(HEADING, text)


if __name__ == "__main__":
    main()
