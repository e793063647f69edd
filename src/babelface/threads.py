"""The thread budget: the one place that decides how many cores a job uses and who gets them.

babelface parallelises at the level of frames and stages (:mod:`babelface.concurrency`): each
render worker solves a small thin-plate-spline system per frame (a ~100 × 100 ``np.linalg.solve``),
MuEx runs small convolutions on a few hundred frames at a time, and x264 runs its own threads.
Library thread pools inside those calls (OpenBLAS/MKL, OpenMP, torch's intra-op pool, OpenCV's
``parallel_for_``) only add threads that spin against the frame workers and the encoder: on a
2-core machine they made a second core *slower* than one (issue 16). So every pool is pinned to one
thread (threadpoolctl for BLAS and OpenMP, ``torch.set_num_threads`` for torch, ``cv2.setNumThreads``
for OpenCV) and the budget goes to the stage pipeline instead:

* ``render_workers(budget)`` worker threads, each drawing a segment of the video and encoding it
  with its own single-threaded x264 (:mod:`babelface.media.segments`); with two or more, `animate`,
  `say` and `dub` draw each segment in a process forked by its worker thread, as the Python
  between NumPy's, OpenCV's and x264's calls made two threads hand one GIL to and fro;
* ``decoder_threads(budget)`` FFmpeg decoding threads: one on a budget of one, else FFmpeg's own;
* ``encoder_threads(budget)`` x264 threads where one encoder takes every frame
  (:meth:`babelface.media.VideoWriter.write`: dub, tools).

``--threads`` on ``say``, ``animate``, ``sync`` and ``eval`` sets the budget; the default is the
cores this process may run on (``os.sched_getaffinity``). The pins hold for one :func:`job` and
are restored after it, so a library caller's own thread settings survive a render.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator

from babelface.errors import InputError

_budget: int | None = None           # inside a job: its budget
_torch_before: list[int] = []        # torch's intra-op threads before the job pinned them


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:           # not on Linux
        return max(os.cpu_count() or 1, 1)


@contextmanager
def job(threads: int | None = None) -> Iterator[int]:
    """A job's thread budget (``None``: the available cores), with the library pools pinned to
    one thread for its duration and restored after it. Yields the budget."""
    global _budget
    if threads is not None and threads < 1:
        raise InputError(f"--threads must be at least 1, got {threads}")
    import cv2
    from threadpoolctl import threadpool_limits
    outer, cv2_before = _budget, cv2.getNumThreads()
    _budget = threads or available_cores()
    if "torch" in sys.modules:                       # first: torch reads its count from OpenMP
        pin_torch()
    limits = threadpool_limits(limits=1)             # BLAS and OpenMP: the per-frame solves stay serial
    cv2.setNumThreads(1)                             # remap/resize: one frame per worker instead
    try:
        yield _budget
    finally:
        limits.restore_original_limits()
        cv2.setNumThreads(cv2_before)
        if outer is None and _torch_before:
            import torch
            torch.set_num_threads(_torch_before.pop())
        _budget = outer


def budget() -> int:
    """The current job's thread budget, else the available cores."""
    return _budget if _budget is not None else available_cores()


def pin_torch() -> None:
    """One intra-op thread for torch inside a job: its models (MuEx, the sync expert) run on short
    windows beside the frame workers, where a pool of spinning threads costs more than it gives."""
    if _budget is None:
        return
    import torch
    if not _torch_before:
        _torch_before.append(torch.get_num_threads())
    torch.set_num_threads(1)


def render_workers(threads: int | None = None) -> int:
    """Frame-rendering threads for a budget: one per core (the encoder's threads mostly wait)."""
    return max(threads or budget(), 1)


def decoder_threads(threads: int | None = None) -> int | None:
    """FFmpeg decoding threads for a budget: one on a budget of one (FFmpeg's frame threads would
    otherwise take a second core: ``dub --threads 1`` kept 1.2 cores busy), else None (FFmpeg's
    own choice, one per core)."""
    return 1 if (threads or budget()) == 1 else None


def encoder_threads(threads: int | None = None) -> int:
    """x264 threads for a budget: one per core."""
    return max(threads or budget(), 1)
