"""Hand the heap's free memory back to the system between long stages (issue 16: memory flat in length).

A long render allocates and frees the same sizes for hours on several threads (frames, x264's
packets, audio chunks): glibc's malloc keeps what is freed in its arenas for reuse, and across
threads the pieces fragment, so the resident set creeps up about 2 MiB a minute of video though
nothing is held (``benchmarks/memory.py``: 1 → 10 minutes of `animate`, +40 MiB). ``malloc_trim(0)``
returns every arena's free pages to the kernel (``madvise(MADV_DONTNEED)``); called once a segment
(250 frames), it costs well under a millisecond a call and the creep goes. Elsewhere than glibc
(macOS, musl) there is no ``malloc_trim`` and :func:`trim` does nothing.

The other way round, a short-lived process that decodes a large video frame by frame (``dub``'s
tracking pass forked beside the speech, issue 16) should keep what it frees: with malloc's
default thresholds the freed 6 MiB of a 1080×1920 RGB frame may be unmapped, or trimmed off the
top of the heap, and the next frames' pages faulted in and zeroed by the kernel again. On the
10 s 1080p clip the tracking process took 402,000 page faults and 0.92 s of system time (the same
pass in the main process at one thread: 29,000 and 0.22 s, glibc's dynamic thresholds already
raised there by earlier large frees). :func:`keep_freed` fixes the thresholds so that blocks up
to :data:`KEEP_BLOCK` come from the heap and freed ones are reused; :func:`trim` still hands
them back on demand.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache


KEEP_BLOCK = 32 << 20      # bytes: blocks up to this come from the heap after keep_freed() (glibc's maximum)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3      # glibc's mallopt parameters (malloc.h)


@lru_cache(maxsize=1)
def _libc():
    try:
        return ctypes.CDLL(None)                     # the process's own symbols: glibc's, if it is glibc
    except OSError:
        return None


def keep_freed() -> bool:
    """From now on serve blocks up to :data:`KEEP_BLOCK` from the heap and keep freed memory for
    reuse instead of unmapping or trimming it at once (glibc's ``mallopt``; fixed thresholds,
    no longer adjusted by glibc). For processes whose peak is bounded and short (a forked pass
    over a video's frames); True where the C library has it."""
    fn = getattr(_libc(), "mallopt", None)
    if fn is None or _malloc_trim() is None:         # (not glibc: musl has neither)
        return False
    return bool(fn(_M_MMAP_THRESHOLD, KEEP_BLOCK)) and bool(fn(_M_TRIM_THRESHOLD, 2 * KEEP_BLOCK))


@lru_cache(maxsize=1)
def _malloc_trim():
    return getattr(_libc(), "malloc_trim", None)


def trim() -> bool:
    """Release the heap's free pages to the system; True where the C library can (glibc)."""
    fn = _malloc_trim()
    if fn is None:
        return False
    fn(0)
    return True
