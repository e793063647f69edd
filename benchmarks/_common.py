"""What every benchmark script shares: the machine's description and its own section of a report.

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


def machine(cores_used: int | None = None) -> str:
    """``"<lscpu model name>, N cores"`` (plus how many the measurement used), and today's date."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = re.search(r"Model name:\s*(.+)", out).group(1).strip()
    except (OSError, subprocess.CalledProcessError, AttributeError):
        model = platform.processor() or "unknown CPU"
    used = f" ({cores_used} used)" if cores_used else ""
    return f"{model}, {os.cpu_count()} cores{used}; {date.today().isoformat()}"


def write_section(heading: str, text: str, report: str = "BENCHMARKS.md") -> Path:
    """Replace (or append) the section that starts with ``heading`` (a ``## `` line) in ``report``."""
    path = ROOT / report
    title = "# Benchmarks\n" if report == "BENCHMARKS.md" else "# Results\n"
    old = path.read_text() if path.exists() else title
    body = text if text.startswith(heading) else f"{heading}\n\n{text}"
    body = body.rstrip("\n") + "\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: body + "\n", old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + body
    path.write_text(new.rstrip("\n") + "\n")
    return path
