"""A forked helper process that serves requests over two pipes (raw bytes, never pickle).

Shared by :mod:`babelface.models.forked` (a motion generator imported and run beside the job),
:mod:`babelface.evaluation.tracking` (videos tracked ahead of the scoring) and
:class:`babelface.forked_call.ForkedCall` (one function of an array computed beside the job: `say`'s
head motion);
:mod:`babelface.media.segments` writes its answers with :func:`write_all`. Library choice:
``os.fork`` and ``os.pipe``, not ``multiprocessing`` (it pickles, and a spawned interpreter would
import NumPy, PyAV and OpenCV again).
"""

from __future__ import annotations

import json
import os
import signal
import struct
from typing import Callable

import numpy as np

_HEADER = struct.Struct("<q")      # bytes of the JSON header (dtype, shape) before an array's bytes


def write_all(fd: int, data: bytes) -> None:
    """``data`` written whole to ``fd`` (``os.write`` on a pipe may write part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class ForkedServer:
    """The parent's end of one forked process running ``serve(requests_fd, answers_fd)``.

    The parent writes requests to ``self._requests`` (a file descriptor) and reads answers from
    ``self._answers`` (a binary file). In the child, Ctrl-C is ignored (the parent handles it and kills
    the child), SIGTERM takes its default (never the parent's clean-up handler), nothing of the
    parent's stack unwinds (``os._exit``), and an exception from ``serve`` goes to ``on_error(answers_fd,
    exception)`` where one is given."""

    def __init__(self, serve: Callable[[int, int], None],
                 on_error: Callable[[int, BaseException], None] | None = None):
        requests_r, self._requests = os.pipe()
        answers_r, answers_w = os.pipe()
        try:
            self.pid = os.fork()
        except OSError:
            for fd in (requests_r, self._requests, answers_r, answers_w):
                os.close(fd)
            raise
        if self.pid == 0:                               # the child
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.close(self._requests)
                os.close(answers_r)
                serve(requests_r, answers_w)
                code = 0
            except BaseException as e:
                if on_error is None:
                    raise
                on_error(answers_w, e)
            finally:
                os._exit(code)
        os.close(requests_r)
        os.close(answers_w)
        self._answers = os.fdopen(answers_r, "rb")

    def kill(self) -> None:
        """SIGKILL the child (it is reaped by :meth:`close`)."""
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        """Kill and reap the child, and close this end of the pipes (once)."""
        if self.pid:
            self.kill()
            os.waitpid(self.pid, 0)
            self.pid = 0
            os.close(self._requests)
            self._answers.close()


def send_array(fd: int, array: np.ndarray | None) -> None:
    """``array`` (or None) written to ``fd``: a JSON header (dtype, shape), then its raw bytes."""
    head = json.dumps(None if array is None else {"dtype": array.dtype.str, "shape": array.shape}).encode()
    body = b"" if array is None else np.ascontiguousarray(array).tobytes()
    write_all(fd, _HEADER.pack(len(head)) + head + body)


def read_array(pipe) -> np.ndarray | None:
    """:func:`send_array`'s array (writable) from a binary file; EOFError where it stops short."""
    size = pipe.read(_HEADER.size)
    if len(size) < _HEADER.size:
        raise EOFError
    n = _HEADER.unpack(size)[0]
    text = pipe.read(n)
    if len(text) < n:
        raise EOFError
    head = json.loads(text)
    if head is None:
        return None
    out = np.empty(head["shape"], np.dtype(head["dtype"]))
    if pipe.readinto(memoryview(out).cast("B")) < out.nbytes:
        raise EOFError
    return out
