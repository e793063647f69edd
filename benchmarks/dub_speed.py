"""`babelface dub` speed and memory (BENCHMARKS.md): frames/s end to end, share of each stage,
peak RSS on 1 and 10 minutes of video.

    nice python benchmarks/dub_speed.py [--work /tmp/dub_speed] [--no-write] [--minutes 1 10]

Each run is the CLI in a fresh process (`python -m babelface dub VIDEO --text ... --lang es
--no-sync-check --json`), pinned with ``taskset`` to one core (and one thread for BLAS/OpenMP,
OpenCV, MediaPipe's own pool aside) or to two; frames/s = frames / wall seconds of the whole
process (start-up, model loading and both passes included). Stage shares come from the
command's own ``stages`` (decode, tracking, motion, render, encode). Inputs: the real HDTF clip
(512×512, 8 s, 25 fps) and latentsync_demo1.mp4 cut to 4 s (1080×1920, 25 fps). Memory: the real
clip looped by ffmpeg to 1 and to 10 minutes in --work (512×512, or 160×160 with --memory-size
160; its audio re-encoded as 48 kHz stereo AAC, the heaviest common soundtrack), dubbed with ``--quality fast --crf 23 --threads 2``
so that the 10-minute run stays within an hour here; peak RSS of the process (the child's own
ru_maxrss, from os.wait4).
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
from _common import ROOT, machine, real_dir, write_section  # noqa: E402

HEADING = "## dub: frames/s, stage shares and peak memory (issue 10)"
TEXT = ("Hola a todos. Hoy quiero hablaros de algo muy importante para todos nosotros, "
        "y de lo que haremos juntos durante los próximos meses.")
STAGES = ("decode", "tracking", "motion", "render", "encode")


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def inputs(work: Path, real: Path, minutes_list: list[int], size: int = 512) -> dict[str, Path]:
    work.mkdir(parents=True, exist_ok=True)
    out = {"512x512": real / "WDA_KatieHill_000.mp4", "1080x1920": work / "hd.mp4"}
    if not out["1080x1920"].exists():
        ffmpeg("-i", str(real / "corpus" / "latentsync_demo1.mp4"), "-t", "4", "-c", "copy",
               str(out["1080x1920"]))
    video = ["-c:v", "copy"] if size == 512 else ["-vf", f"scale={size}:{size}", "-c:v", "libx264",
                                                  "-preset", "veryfast", "-crf", "20"]
    for minutes in minutes_list:
        p = work / f"loop{minutes}_{size}.mp4"
        if not p.exists():
            ffmpeg("-stream_loop", "-1", "-i", str(real / "WDA_KatieHill_000.mp4"), "-t", str(60 * minutes),
                   *video, "-c:a", "aac", "-ar", "48000", "-ac", "2", str(p))
        out[f"{minutes} min {size}x{size}, 48 kHz stereo"] = p
    return out


MEMORY_OPTIONS = ["--quality", "fast", "--crf", "23", "--threads", "2"]


def dub(video: Path, out: Path, cores: str, extra: list[str] = ()) -> dict:
    """One CLI run pinned to ``cores``; its JSON plus wall seconds and the child's peak RSS."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), BABELFACE_QUIET="1")
    if cores == "0":
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = ["taskset", "-c", cores, sys.executable, "-m", "babelface", "dub", str(video), "--text",
           TEXT, "--lang", "es", "-o", str(out), "--no-sync-check", "--json", "--max-duration", "900",
           *extra]
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(p.pid, 0)          # this child's own peak RSS (KiB)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        if p.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed: {err.read().strip().splitlines()[-1]}")
        res = json.loads(out.read())
    res.update(wall=wall, fps_e2e=res["frames"] / wall, peak_mb=usage.ru_maxrss / 1024,
               cpu=usage.ru_utime + usage.ru_stime)      # the child's CPU seconds (load-independent)
    return res


def shares(stages: dict) -> str:
    total = sum(stages[s] for s in STAGES)
    return ", ".join(f"{s} {100 * stages[s] / total:.0f}%" for s in STAGES)


def report(rows: list, mem: list, minutes: list[int]) -> str:
    """The BENCHMARKS.md section from the speed rows ``(size, cores, result)`` and the memory rows
    ``(name, result)``."""
    lines = [f"Command: `nice python benchmarks/dub_speed.py --minutes {' '.join(map(str, minutes))}` "
             f"({machine()}; the machine was shared with other engineers' jobs, load average "
             f"{os.getloadavg()[0]:.0f} on its 2 cores at the end of these runs, so absolute figures "
             "are pessimistic; ratios are from the same run). Text driver (es), `--no-sync-check`.", "",
             "| video | cores | frames | wall s | CPU s | frames/s end to end | stage shares |",
             "|---|---|---|---|---|---|---|"]
    for size, n, r in rows:
        lines.append(f"| {size} | {n} | {r['frames']} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['fps_e2e']:.2f} | "
                     f"{shares(r['stages'])} |")
    lines += ["", "| video | frames | wall s | peak RSS |", "|---|---|---|---|"]
    for name, r in mem:
        lines.append(f"| {name} | {r['frames']} | {r['wall']:.0f} | {r['peak_mb']:.0f} MB |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/dub_speed"))
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--minutes", type=int, nargs="*", default=[1, 10],
                    help="lengths of the looped videos whose peak memory is measured")
    ap.add_argument("--only", choices=("speed", "memory"), help="run one half (prints, does not write)")
    ap.add_argument("--memory-size", type=int, default=512, choices=(512, 160),
                    help="picture size of the looped videos (160: the face ~80 px, a faster render)")
    args = ap.parse_args()
    vids = inputs(args.work, real_dir(), args.minutes, args.memory_size)
    rows, mem = [], []
    for size in ("512x512", "1080x1920") if args.only != "memory" else ():
        for cores in ("0", "0,1"):
            r = dub(vids[size], args.work / f"out_{size}_{len(cores.split(','))}.mp4", cores)
            rows.append((size, len(cores.split(",")), r))
            print(size, cores, json.dumps({k: r[k] for k in ("frames", "wall", "cpu", "fps_e2e", "stages")}), flush=True)
    for name in [k for k in vids if "min" in k] if args.only != "speed" else []:
        r = dub(vids[name], args.work / "out_long.mp4", "0,1", MEMORY_OPTIONS)
        mem.append((name, r))
        print(name, json.dumps({k: r[k] for k in ("frames", "wall", "peak_mb")}), flush=True)
    text = report(rows, mem, args.minutes)
    print(text)
    if not args.no_write and not args.only:
        write_section(HEADING, text, "BENCHMARKS.md")


if __name__ == "__main__":
    main()
