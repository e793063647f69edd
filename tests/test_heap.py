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
