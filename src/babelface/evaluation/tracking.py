"""Landmarks tracked ahead in processes of their own while the clips are scored (issue 16).

``eval`` spends most of its CPU in MediaPipe, tracking each real and generated video. On threads,
two tracks side by side shared one GIL (the per-frame Python around MediaPipe, the decoding) and
the sync expert's torch import ran before any of them: two cores were 1.4× one at best. So, at a
thread budget of two or more, :func:`tracked_ahead` forks one tracking process per core *before*
torch is imported (and before any MediaPipe graph exists here: a process forked after one aborts
when it makes its own), each serving paths from a pipe with :meth:`LandmarkCache.get` (reading
and writing the same disk cache) and sending the landmarks back as raw float32 and JSON (no
pickle), in the order the scoring asks for them, a few videos ahead. The scoring, in this process,
is unchanged: the same landmarks (each video tracked from its first frame by a fresh tracker, as
on one thread), hence the same numbers.

A video whose process fails is tracked again in this process, which raises the genuine error (a
missing or corrupt file: the clip's ``error``, as before). Library choice: ``os.fork`` and pipes, as
:mod:`babelface.media.segments` and :mod:`babelface.models.forked` (``multiprocessing`` pickles).
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import struct
import threading
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from babelface.evaluation.cache import LandmarkCache, Landmarks
from babelface.forking import ForkedServer, write_all

AHEAD_PER_WORKER = 3              # videos tracked ahead of the scoring, per process
_SIZE = struct.Struct("<q")        # bytes of the JSON header that follows (−1: the track failed)


class _Tracker(ForkedServer):
    """One forked process that tracks the paths it is sent, one at a time."""

    def __init__(self, cache: LandmarkCache):
        super().__init__(lambda requests, answers: _serve(cache, requests, answers))

    def track(self, path: Path) -> Landmarks | None:
        """The landmarks of ``path``, or None when the process failed on it."""
        try:
            os.write(self._requests, str(path).encode() + b"\n")
            head = self._answers.read(_SIZE.size)
            (size,) = _SIZE.unpack(head)
            if size < 0:
                return None
            meta = json.loads(self._answers.read(size))
            data = bytearray(meta["bytes"])
            if self._answers.readinto(data) < len(data):
                return None
        except (OSError, struct.error, ValueError):
            return None
        return Landmarks(np.frombuffer(data, np.float32).reshape(meta["shape"]), meta["source_fps"],
                         meta["width"], meta["height"], meta["cached"])


def _serve(cache: LandmarkCache, requests: int, answers: int) -> None:
    with os.fdopen(requests, "rb") as pipe:
        for line in pipe:
            try:
                lm = cache.get(Path(line.decode().rstrip("\n")))
            except Exception:                       # the parent tracks it again and raises it
                write_all(answers, _SIZE.pack(-1))
                continue
            data = np.ascontiguousarray(lm.landmarks, np.float32)                   # (T, 478, 3)
            meta = json.dumps({"shape": data.shape, "bytes": data.nbytes, "source_fps": lm.source_fps,
                               "width": lm.width, "height": lm.height, "cached": lm.cached}).encode()
            write_all(answers, _SIZE.pack(len(meta)) + meta + data.tobytes())


class TrackedAhead:
    """A :class:`LandmarkCache` stand-in: ``get(path)`` answers from the tracking processes (in the
    order ``plan`` names the videos), and from ``cache`` in this process for anything else."""

    def __init__(self, cache: LandmarkCache, plan: list[Path], trackers: list[_Tracker]):
        self.cache = cache
        self._trackers = trackers
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        for t in trackers:
            self._idle.put(t)
        self._pool = ThreadPoolExecutor(len(trackers), thread_name_prefix="babelface-track")
        self._lock = threading.Lock()
        self._plan = deque(plan)
        self._ahead = AHEAD_PER_WORKER * len(trackers)
        self._pending: dict[Path, deque[Future]] = {}
        self._uses = Counter(plan)                  # a cached video asked for again: tracked once
        with self._lock:
            self._submit()

    def _submit(self, until: Path | None = None) -> None:
        """Hand out the planned videos, ``self._ahead`` at most in flight or waiting (more when
        ``until`` is asked for before its turn)."""
        while self._plan and (sum(map(len, self._pending.values())) < self._ahead
                              or (until is not None and until not in self._pending and until in self._plan)):
            path = self._plan.popleft()
            self._pending.setdefault(path, deque()).append(self._pool.submit(self._track, path))

    def _track(self, path: Path) -> Landmarks | None:
        tracker = self._idle.get()
        try:
            return tracker.track(path)
        finally:
            self._idle.put(tracker)

    def get(self, path: str | Path) -> Landmarks:
        path = Path(path)
        with self._lock:
            self._submit(until=path)
            futures = self._pending.get(path)
            future = futures[0] if futures else None
            if future is not None:
                self._uses[path] -= 1
                if not self.cache.enabled or self._uses[path] <= 0:
                    futures.popleft()
                    if not futures:
                        del self._pending[path]
                    self._submit()
        found = future.result() if future is not None else None
        if found is None:             # not planned, or its process failed: here (the genuine error)
            return self.cache.get(path)
        with self._lock:
            if found.cached:
                self.cache.hits += 1
            else:
                self.cache.misses += 1
        return found

    def close(self) -> None:
        with self._lock:
            self._plan.clear()
        for t in self._trackers:                    # a track in progress ends now (its read sees EOF)
            t.kill()
        self._pool.shutdown(wait=True, cancel_futures=True)
        for t in self._trackers:
            t.close()


@contextmanager
def tracked_ahead(cache: LandmarkCache, plan: list[Path], workers: int) -> Iterator:
    """``cache``, or with ``workers`` ≥ 2 (and ``os.fork``, and no MediaPipe graph made here yet) a
    :class:`TrackedAhead` over ``workers`` tracking processes forked now. Call it before importing
    torch: the forks copy this process as it is. ``plan``: the videos in the order they will be
    asked for (a path twice with the cache off: tracked twice, as on one thread)."""
    from babelface.face.landmarks import _mediapipe, graphs_made
    if cache.enabled:                               # a video asked for again is a hit: tracked once
        plan = list(dict.fromkeys(plan))
    workers = min(workers, len(plan))
    if workers < 2 or not hasattr(os, "fork") or graphs_made():
        yield cache
        return
    _mediapipe()                    # what a child runs, imported once here: the children inherit it
    for module in ("mediapipe.python.solutions.face_mesh", "babelface.media.video"):
        importlib.import_module(module)
    trackers: list[_Tracker] = []
    try:
        for _ in range(workers):
            trackers.append(_Tracker(cache))
    except OSError:                                 # no process to be had: threads, as before
        for t in trackers:
            t.close()
        trackers = []
    if not trackers:
        yield cache
        return
    ahead = TrackedAhead(cache, plan, trackers)
    try:
        yield ahead
    finally:
        ahead.close()
