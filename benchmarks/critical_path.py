"""What two idle cores would make of `animate` (or `dub`), estimated from CPU time (issue 16).

    python benchmarks/critical_path.py [--seconds 60] [--quality balanced] [--dub VIDEO]

On a shared, loaded machine wall-clock thread ratios measure the other jobs more than this one.
CPU time does not (much): this runs `pipeline.animate` in-process at ``--threads 1`` and ``2`` and
records the process's CPU (user + sys, all threads) when the first segment starts drawing, each
segment worker's own CPU (``time.thread_time``) and the total. With the start-up taken as serial
(its background threads overlap the main thread only partly: an upper bound) and the segments
spread over the workers as they ran, the wall time on idle cores is about

    start-up CPU + the busiest worker's CPU + what is left (muxing, audio) ÷ cores

(a critical-path estimate: it assumes the cores are free, and nothing of the GIL). With
``--dub VIDEO`` the job is `dub` of that video (dub_speed.py's Spanish text, no sync check)
instead; its start-up then holds the speech fitting and the tracking pass. Where these two ran on
different threads (``--threads 2``), the shorter of the two is taken off the start-up (they
overlap): the speech fitting's thread CPU, and the tracking pass's CPU = the process CPU of the
two together less the speech's (its decode, FFmpeg and MediaPipe threads included; the tracking
pass itself is still counted as serial).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import ROOT  # noqa: E402
from _speech import long_speech  # noqa: E402

sys.path.insert(0, str(ROOT / "src"))


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(seconds: float, threads: int, quality: str, dub: str | None = None) -> dict:
    from babelface import pipeline
    from babelface.media import segments
    workers: dict = defaultdict(float)
    start: dict = {}
    encode = segments.SegmentEncoder.encode

    def traced(self, frames):
        start.setdefault("cpu", cpu())
        t = time.thread_time()
        out = encode(self, frames)
        workers[threading.current_thread().name] += time.thread_time() - t
        return out

    segments.SegmentEncoder.encode = traced
    stages = _trace_dub_stages() if dub else {}
    c0, w0 = cpu(), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if dub:
            from dub_speed import TEXT
            pipeline.dub(dub, Path(tmp) / "d.mp4", text=TEXT, language="es", check_sync=False,
                         threads=threads, quality=quality)
        else:
            pipeline.animate(long_speech(seconds), Path(tmp) / "a.mp4", threads=threads, quality=quality)
    segments.SegmentEncoder.encode = encode
    total, startup = cpu() - c0, start["cpu"] - c0
    busiest = max(workers.values())
    rest = total - startup - sum(workers.values())
    overlap = _overlap(stages)
    return {"threads": threads, "total_cpu": total, "startup_cpu": startup, "dub_stages": stages,
            "startup_overlap_cpu": overlap, "worker_cpu": dict(workers),
            "estimate_wall": startup - overlap + busiest + max(rest, 0) / threads,
            "measured_wall": time.perf_counter() - w0, "load": os.getloadavg()[0]}


def _trace_dub_stages() -> dict:
    """Record the thread and thread CPU of dub's speech fitting and tracking pass, and the process
    CPU of the two together."""
    from babelface.dub import run
    stages: dict = {}

    def together(*args, **kw):
        c = cpu()
        try:
            return both(*args, **kw)
        finally:
            stages["together_cpu"] = cpu() - c

    def traced(name, fn):
        def call(*args, **kw):
            t = time.thread_time()
            try:
                return fn(*args, **kw)
            finally:
                stages[name] = {"thread": threading.current_thread().name, "cpu": time.thread_time() - t}
        return call

    run._speech = traced("speech", run._speech)
    run._track_pass = traced("tracking", run._track_pass)
    both = getattr(run, "_speech_and_tracking", None)
    if both is not None:                                 # (before they ran side by side: absent)
        run._speech_and_tracking = together
    return stages


def _overlap(stages: dict) -> float:
    """CPU seconds of the start-up that ran beside each other: the shorter of the speech fitting
    and the tracking pass (all its threads) when they ran on different threads, else 0."""
    if "speech" not in stages or stages["speech"]["thread"] == stages["tracking"]["thread"]:
        return 0.0
    speech = stages["speech"]["cpu"]
    return min(speech, stages["together_cpu"] - speech)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--quality", default="balanced")
    ap.add_argument("--dub", metavar="VIDEO", help="estimate `dub` of this video instead of `animate`")
    ap.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.threads:
        print(json.dumps(run(args.seconds, args.threads, args.quality, args.dub)))
        return
    import subprocess
    res = {}
    for th in (1, 2):                  # fresh processes: imports count, as for a user
        out = subprocess.run([sys.executable, __file__, "--seconds", str(args.seconds), "--quality",
                              args.quality, "--threads", str(th)] + (["--dub", args.dub] if args.dub else []),
                             capture_output=True, text=True,
                             check=True, env=dict(os.environ, BABELFACE_QUIET="1"))
        res[th] = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(res[th]), flush=True)
    print(f"estimated 2 ÷ 1 wall on idle cores: {res[2]['estimate_wall'] / res[1]['estimate_wall']:.2f}")


if __name__ == "__main__":
    main()
