"""Peak memory of `babelface animate` against the length of the speech (issue 16: flat).

    python benchmarks/memory.py [--minutes 1 10 60] [--threads 2] [--no-write]

Each length is a fresh process (its peak resident set from ``wait4``, as ``/usr/bin/time -f %M``;
sampled every 10 s into $TMPDIR/babelface-memory-samples.jsonl while it runs), on real speech
tiled to that length (benchmarks/_speech.py), the audio-only MuEx path on the bundled portrait.
Writes the "## Peak memory against length (animate)" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, write_section  # noqa: E402
from _speech import long_speech  # noqa: E402

HEADING = "## Peak memory against length (animate)"
SAMPLE_S = 10                 # seconds between samples of a running job


def _status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def peak_rss(minutes: float, threads: int, out: Path, log) -> dict:
    """One fresh `animate`; its peak RSS from ``wait4`` (``ru_maxrss``), sampled meanwhile from
    /proc (VmHWM) with the output's size, so that a run stopped early still says how far it got."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    wav = long_speech(minutes * 60)
    cmd = [sys.executable, "-m", "babelface", "animate", "--audio", str(wav), "--threads", str(threads),
           "-q", "-o", str(out)]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)     # reaped here, keeping its rusage
        if pid:
            break
        written = sum(p.stat().st_size for p in out.parent.glob(f".{out.name}.*"))
        log.write(json.dumps({"minutes": minutes, "elapsed_s": round(time.perf_counter() - t),
                              "vmhwm_mib": round(_status_kb(proc.pid, "VmHWM") / 1024, 1),
                              "output_bytes": written}) + "\n")
        log.flush()
        time.sleep(SAMPLE_S)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"animate failed for {minutes} min (status {proc.returncode})")
    return {"minutes": minutes, "peak_mib": usage.ru_maxrss / 1024, "wall_s": wall,
            "cpu_s": usage.ru_utime + usage.ru_stime, "frames": int(minutes * 60 * 25)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 60])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in args.minutes:
            with open(tempfile.gettempdir() + "/babelface-memory-samples.jsonl", "a") as log:
                r = peak_rss(m, args.threads, Path(tmp) / "out.mp4", log)
            r["load"] = os.getloadavg()[0]
            print(json.dumps(r), flush=True)
            rows.append(r)
            if not args.no_write:           # after each length: a long run leaves what it measured
                write(rows, args, load)


def write(rows: list[dict], args, load: float) -> None:
    base = rows[0]["peak_mib"]
    table = "\n".join(f"| {r['minutes']:g} min | {r['peak_mib']:.0f} | {r['peak_mib'] / base:.2f} | "
                      f"{r['frames'] / r['wall_s']:.0f} | {r['load']:.1f} |" for r in rows)
    write_section(HEADING, f"""`python benchmarks/memory.py --minutes {' '.join(f'{m:g}' for m in args.minutes)} --threads {args.threads}` ({machine()}; load average {load:.1f} at the start, {time.strftime('%H:%M UTC', time.gmtime())} at the end).
One fresh `babelface animate --threads {args.threads}` per length on real speech tiled to that length
(audio-only MuEx path, bundled 512² portrait); peak RSS from `wait4` (`ru_maxrss`, as `/usr/bin/time -f %M`). Goal (issue 16):
60 min within 1.1× of 1 min, both under 700 MiB.

| speech | peak RSS MiB | ÷ 1 min | frames/s | load after |
|---|---:|---:|---:|---:|
{table}

How it streams: the speech is decoded once into a spool on disk (16 kHz analysis samples and the
original samples, raw float32); MuEx reads 60 s windows (global log-mel statistics from a
streaming pass); motion, frames and audio pass through bounded queues; the writer encodes the
original audio from the spool a frame's worth at a time, interleaved with the video. Before issue
16: 532 MiB at 1 min, 685 at 5, 1,062 at 10 (and 300 s was the limit).
""")


if __name__ == "__main__":
    main()
