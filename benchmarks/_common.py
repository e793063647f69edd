"""What every benchmark script shares: the machine's description, the real test media and its own
section of a report.

Each script owns one ``## heading`` of BENCHMARKS.md (or RESULTS.md) and rewrites only that.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu(cores_used: int | None = None) -> str:
    """``"<lscpu model name>, N cores"``, plus ``" (K used)"`` when ``cores_used`` is given."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = re.search(r"Model name:\s*(.+)", out).group(1).strip()
    except (OSError, subprocess.CalledProcessError, AttributeError):
        model = platform.processor() or "unknown CPU"
    used = f" ({cores_used} used)" if cores_used else ""
    return f"{model}, {os.cpu_count()} cores{used}"


def machine(cores_used: int | None = None) -> str:
    """:func:`cpu` and today's date: ``"<model>, N cores[ (K used)]; YYYY-MM-DD"``."""
    return f"{cpu(cores_used)}; {date.today().isoformat()}"


def real_dir(name: str = "WDA_KatieHill_000.mp4") -> Path:
    """The folder of the real test media: the first of $BABELFACE_REAL_DATA, ../shared/data/real and
    /work/shared/data/real that holds ``name``."""
    for c in (os.environ.get("BABELFACE_REAL_DATA"), ROOT.parent / "shared" / "data" / "real",
              Path("/work/shared/data/real")):
        if c and (Path(c) / name).exists():
            return Path(c)
    raise SystemExit("real media not found: set BABELFACE_REAL_DATA")


def paired(d) -> str:
    """Per-clip paired differences ``d`` as the reports print them: "mean ± 1.96 s.e. (k of n)",
    k the clips that gained."""
    import numpy as np
    d = np.asarray(d, float)
    return (f"{d.mean():+.3f} ± {1.96 * d.std(ddof=1) / np.sqrt(len(d)):.3f} "
            f"({int((d > 0).sum())} of {len(d)})")


def write_section(heading: str, text: str, report: str | Path = "BENCHMARKS.md") -> Path:
    """Replace (or append) the section that starts with ``heading`` (a ``## `` line) in ``report``
    (a path, absolute or relative to the repository root). ``text`` may start with the heading."""
    path = ROOT / report
    title = "# Benchmarks\n" if path.name == "BENCHMARKS.md" else "# Results\n"
    old = path.read_text(encoding="utf-8") if path.exists() else title
    body = text if text.startswith(heading) else f"{heading}\n\n{text}"
    body = body.rstrip("\n") + "\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: body + "\n", old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + body
    path.write_text(new.rstrip("\n") + "\n", encoding="utf-8")
    return path


def babelface_peak(src: Path, args: list[str]) -> dict:
    """``python -m babelface ARGS`` run with ``src`` first on ``PYTHONPATH`` (a tree to measure):
    its wall seconds and peak RSS in MB, the largest of the process and its forked children
    (``ru_maxrss`` of the waited-for tree, as GNU time's ``%M``). Call it in a fresh interpreter per
    run (the ``--one`` mode of the memory benchmarks): RUSAGE_CHILDREN keeps the largest child
    ever waited for."""
    import resource
    import sys
    import time
    env = dict(os.environ, PYTHONPATH=str(src), BABELFACE_QUIET="1")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "babelface", *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return {"seconds": time.perf_counter() - t0,
            "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1000}


# The head of a probe run as `python -c` in a fresh process (benchmarks/startup.py,
# benchmarks/frontend_speed.py): ``cpu()`` (user + system seconds so far, the process's and its
# waited-for children's: a segment's forked process) and ``first_frame()`` ({"cpu", "wall"} when
# the first segment encoder opens, i.e. the first frame has been drawn and goes to x264). Where
# the segments are drawn in forked processes (a video of two segments or more: 100 frames and up),
# that is the process's CPU when it forked the first one plus the earliest-opening child's own CPU
# to its opening (a child's counters start at zero), which the child writes to a pipe.
FIRST_FRAME_PROBE = r"""
import json, os, resource, sys, time
t_wall = time.perf_counter()
def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime
from babelface.media import segments
first, (opened_r, opened_w) = {}, os.pipe()
open_encoder, fork_segment = segments.SegmentEncoder._open, segments._forked
def timed(self, width, height):
    if segments.in_segment_process():
        os.write(opened_w, json.dumps([cpu(), time.perf_counter() - t_wall]).encode() + b"\n")
    elif "cpu" not in first:
        first["cpu"], first["wall"] = cpu(), time.perf_counter() - t_wall
    return open_encoder(self, width, height)
def forked(*args, **kwargs):
    first.setdefault("fork_cpu", cpu())
    return fork_segment(*args, **kwargs)
segments.SegmentEncoder._open, segments._forked = timed, forked
def first_frame():
    if "cpu" not in first:
        os.set_blocking(opened_r, False)
        child_cpu, first["wall"] = min((json.loads(line) for line in os.read(opened_r, 1 << 16).splitlines()),
                                       key=lambda c: c[1])
        first["cpu"] = first["fork_cpu"] + child_cpu
    return first
"""
