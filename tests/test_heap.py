"""babelface.heap: the free pieces a long render leaves in malloc's arenas go back to the system."""

import os
import sys

import pytest

from babelface import heap


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim, /proc")
def test_trim_returns_the_fragmented_free_memory():
    assert heap.trim()                       # glibc: available
    before = _rss_mib()
    blocks = [bytearray(32 * 1024) for _ in range(2000)]     # 62.5 MiB of small (heap, not mmap) blocks
    kept = blocks[::8]                       # one in eight kept: the freed ones are holes, not a free top
    del blocks
    held = _rss_mib()
    assert held - before > 40                # free() alone gives the holes back to no one
    heap.trim()
    assert _rss_mib() - before < 20          # the holes' pages went back (only the kept 7.8 MiB stay)
    assert len(kept) == 250


_FRAMES = """
import resource, sys
import numpy as np
from babelface import heap
kept = heap.keep_freed() if sys.argv[1] == "keep" else None
def frames():                                 # three 1080p RGB frames (6 MiB, 1,519 pages each) held
    held = [np.ones((1080, 1920, 3), np.uint8) for _ in range(3)]     # at once, as a decoder's
    del held                                                          # look-ahead does, then freed
frames()                                      # warm: the heap grows to hold them
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    frames()
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> tuple[str, int]:
    import subprocess
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", _FRAMES, mode], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt, getrusage")
def test_keep_freed_reuses_large_blocks_instead_of_faulting_them_in_anew():
    """After keep_freed(), 6 MiB blocks freed and allocated again are the same heap memory: 20
    rounds of three frames take fewer page faults than one frame's pages; with glibc's default
    thresholds the freed top of the heap is trimmed and faulted in again, round after round (run
    in processes of their own: the thresholds set stay for the life of the process)."""
    kept, faults = _faults("keep")
    assert kept == "True"
    assert faults < 1519
    assert _faults("default")[1] > 5 * 1519                 # (19,000 here: what it saves)
    assert heap.KEEP_BLOCK >= 1080 * 1920 * 3 * 4            # a float32 1080p frame too
