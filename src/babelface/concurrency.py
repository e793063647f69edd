"""Overlapping work on this project's few cores: a producer thread ahead of its consumer."""

from __future__ import annotations

import contextvars
import queue
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")
_DONE = object()


def prefetch(iterable: Iterable[T], depth: int = 8) -> Iterator[T]:
    """Iterate ``iterable`` in a background thread, up to ``depth`` items ahead.

    NumPy, OpenCV and the codecs release the GIL, so rendering frames in one thread while the
    caller encodes them in another uses two cores. An exception in the producer is re-raised in
    the consumer; a consumer that stops early stops the producer. The producer runs in a copy of
    the caller's context (:mod:`contextvars`), so its :func:`babelface.notes.note` calls reach the
    caller's collector.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in iterable:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as e:          # noqa: BLE001 - handed to the consumer
            q.put(e)

    worker = threading.Thread(target=contextvars.copy_context().run, args=(produce,),
                              name="babelface-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int,
                depth: int | None = None) -> Iterator[R]:
    """``map(fn, items)`` on ``workers`` threads, results in input order, at most ``depth``
    (default ``2 * workers``) items in flight: a bounded queue, so memory does not grow with length.

    Worth it where ``fn`` releases the GIL for most of its time (NumPy, OpenCV: the renderer
    spends ~90 % of a frame there). With one worker it is plain ``map``, on the caller's thread.
    An exception in ``fn`` is raised here, at its item's turn; stopping early cancels the rest.
    """
    if workers <= 1:
        yield from map(fn, items)
        return
    depth = depth or 2 * workers
    pending: deque = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix="babelface-worker") as pool:
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= depth:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()
