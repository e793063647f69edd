"""The thread budget: the one place that decides how many cores a job uses and who gets them.

babelface parallelises at the level of frames and stages (:mod:`babelface.concurrency`): each
render worker solves a small thin-plate-spline system per frame (a ~100 × 100 ``np.linalg.solve``),
MuEx runs small convolutions on a few hundred frames at a time, and x264 runs its own threads.
Library thread pools inside those calls (OpenBLAS/MKL, OpenMP, torch's intra-op pool, OpenCV's
``parallel_for_``) only add threads that spin against the frame workers and the encoder: on a
2-core machine they made a second core *slower* than one (issue 16). So every pool is pinned to one
thread (threadpoolctl for BLAS and OpenMP, ``torch.set_num_threads`` for torch, ``cv2.setNumThreads``
for OpenCV) and the budget goes to the stage pipeline instead:

* ``render_workers(budget)`` frame-rendering threads (NumPy and OpenCV release the GIL);
* ``encoder_threads(budget)`` x264 threads (frame-parallel encoding).

``--threads`` on ``say``, ``animate``, ``sync`` and ``eval`` sets the budget; the default is the
cores this process may run on (``os.sched_getaffinity``).
"""

from __future__ import annotations

import os

from babelface.errors import InputError

_budget: int | None = None
_limits = None                       # the threadpoolctl limiter, kept alive for the whole process


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:           # not on Linux
        return max(os.cpu_count() or 1, 1)


def configure(threads: int | None = None) -> int:
    """Set the thread budget (``None``: the available cores) and pin the library pools to one
    thread. Returns the budget. Safe to call more than once."""
    global _budget, _limits
    if threads is not None and threads < 1:
        raise InputError(f"--threads must be at least 1, got {threads}")
    _budget = threads or available_cores()
    from threadpoolctl import threadpool_limits
    _limits = threadpool_limits(limits=1)            # BLAS and OpenMP: the per-frame solves stay serial
    import cv2
    cv2.setNumThreads(1)                             # remap/resize: one frame per worker instead
    import sys
    if "torch" in sys.modules:                       # pinned again where torch is first imported
        pin_torch()
    return _budget


def budget() -> int:
    """The thread budget (configured on first use)."""
    return _budget if _budget is not None else configure()


def pin_torch() -> None:
    """One intra-op and one inter-op thread for torch: its models (MuEx, the sync expert) run on
    short windows beside the frame workers, where a pool of spinning threads costs more than it gives."""
    import torch
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:             # already set once this process (torch allows it only once)
        pass


def render_workers(threads: int | None = None) -> int:
    """Frame-rendering threads for a budget: one per core (the encoder's threads mostly wait)."""
    return max(threads or budget(), 1)


def encoder_threads(threads: int | None = None) -> int:
    """x264 threads for a budget: one per core."""
    return max(threads or budget(), 1)
