"""What `sync --fix`'s strict decode (babelface.sync.check_fixable, session 39) adds to `sync`: medians of
3 runs, in the same run, as a ratio.

    OMP_NUM_THREADS=1 python benchmarks/sync_fix_check.py VIDEO
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 3


def main() -> None:
    from babelface.sync import check_fixable
    clip = sys.argv[1]
    check, whole = [], []
    for _ in range(RUNS):
        t = time.perf_counter()
        check_fixable(clip)
        check.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "babelface.cli", "sync", clip, "--json"], check=True, capture_output=True)
        whole.append(time.perf_counter() - t)
    c, w = statistics.median(check), statistics.median(whole)
    print(f"check_fixable {c:.2f} s, sync (analysis, no --fix) {w:.2f} s, ratio {c / w:.3f}")


if __name__ == "__main__":
    main()
