"""Hand the heap's free memory back to the system between long stages (issue 16: memory flat in length).

A long render allocates and frees the same sizes for hours on several threads (frames, x264's
packets, audio chunks): glibc's malloc keeps what is freed in its arenas for reuse, and across
threads the pieces fragment, so the resident set creeps up about 2 MiB a minute of video though
nothing is held (``benchmarks/memory.py``: 1 → 10 minutes of `animate`, +40 MiB). ``malloc_trim(0)``
returns every arena's free pages to the kernel (``madvise(MADV_DONTNEED)``); called once a segment
(250 frames), it costs well under a millisecond a call and the creep goes. Elsewhere than glibc
(macOS, musl) there is no ``malloc_trim`` and :func:`trim` does nothing.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache


@lru_cache(maxsize=1)
def _malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim         # the process's own symbols: glibc's, if it is glibc
    except (OSError, AttributeError):
        return None


def trim() -> bool:
    """Release the heap's free pages to the system; True where the C library can (glibc)."""
    fn = _malloc_trim()
    if fn is None:
        return False
    fn(0)
    return True
