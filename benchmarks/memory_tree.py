"""Peak memory of `animate` counting every process it forks (issue 16): the summed PSS and RSS of the
process tree, sampled every ``INTERVAL`` s from /proc/PID/smaps_rollup, and each process's own peak PSS.

    PYTHONPATH=src python benchmarks/memory_tree.py 1 10 60      # minutes of speech, --threads 2
    PYTHONPATH=src python benchmarks/memory_tree.py --text 1 10  # animate --text (text_memory.py's inputs)

`benchmarks/memory.py` reads the main process's `ru_maxrss` only; since session 24 MuEx runs in a
forked process at two threads and the segments are drawn in forked processes, so the tree is the
honest figure. PSS splits pages shared after a fork between the processes (RSS counts them in each).
Prints one JSON line per length (``per_pid_peak_pss``: [MiB, pid, [depth, parent pid]]).
Session 25: sampled every 0.1 s (was 0.5 s): a one-minute job's single MuEx window lasts ~0.2 s, and
at 0.5 s its peak was caught in some runs and missed in others.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _speech import long_speech

INTERVAL = 0.1       # seconds between samples


def tree(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop(); out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out
def mem(p):
    r = {}
    try:
        with open(f"/proc/{p}/smaps_rollup") as f:
            for line in f:
                k, v = line.split(":", 1)
                if k in ("Rss", "Pss"):
                    r[k] = int(v.split()[0]) / 1024
    except OSError:
        pass
    return r
TEXT = "--text" in sys.argv[1:]
for minutes in (float(a) for a in sys.argv[1:] if a != "--text"):
    extra = []
    if TEXT:          # the text path (text-audio since session 32: muex-real forked beside it)
        from pathlib import Path
        from text_memory import _inputs
        wav, txt = _inputs(Path(tempfile.gettempdir()) / "babelface-text-memory", minutes)
        extra = ["--text", txt.read_text(), "--lang", "en", "--max-duration", "7200"]
    else:
        wav = long_speech(minutes * 60)
    cmd = [sys.executable, "-m", "babelface", "animate", "--audio", str(wav), "--threads", "2", "-q", "-o", os.path.join(tempfile.gettempdir(), f"memtree_{minutes:g}.mp4")] + extra
    t = time.perf_counter(); proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    peak_pss = peak_rss = peak_main = 0.0; nmax = 0; per = {}; kind = {}
    while proc.poll() is None:
        ps = tree(proc.pid); ms = [mem(p) for p in ps]
        peak_pss = max(peak_pss, sum(m.get("Pss", 0) for m in ms)); peak_rss = max(peak_rss, sum(m.get("Rss", 0) for m in ms))
        peak_main = max(peak_main, ms[0].get("Rss", 0) if ms else 0); nmax = max(nmax, len(ps))
        for p, m in zip(ps, ms):
            per[p] = max(per.get(p, 0), m.get("Pss", 0))
            if p not in kind:
                try: kind[p] = (ps.index(p), open(f"/proc/{p}/stat").read().split()[3])
                except OSError: pass
        time.sleep(INTERVAL)
    print(json.dumps({"minutes": minutes, "rc": proc.returncode, "wall_s": round(time.perf_counter() - t, 1), "peak_tree_pss_mib": round(peak_pss, 1),
                      "peak_tree_rss_mib": round(peak_rss, 1), "peak_main_rss_mib": round(peak_main, 1), "max_processes": nmax, "n_pids": len(per), "per_pid_peak_pss": sorted(((round(v,1), p, kind.get(p)) for p, v in per.items()), reverse=True)[:8]}), flush=True)
