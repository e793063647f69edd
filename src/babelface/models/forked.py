"""A streaming motion generator imported, loaded and run in a process of its own (issue 16).

At two cores, ``animate`` spent about a second of its start-up importing torch for MuEx on a
thread beside the speech's decoding, the portrait's landmarks, the head motion and the renderer's
set-up. An import is Python: it held the GIL against all of them, and the start-up ran as on one
core (2.1–2.3 s before the first segment). So, at a thread budget of two or more, the generator
is imported, loaded and run in a child forked before any of that starts: it imports torch on
the other core, then reads the spooled speech from its file (:class:`~babelface.media.spool.RawReader`),
writes the motion, window after window, to a file of the job's (raw float32; each chunk's shape
through a pipe, no pickle) and exits. The same code on one torch thread (the job's pin, inherited):
the same motion to the bit.

The render starts once the child is gone (session 25, memory flat in length): torch and the model
(~180 MiB, most of it torch's import) are never held beside the segment processes. While the child
streamed its windows to a render already running, a job longer than one window (60 s) held the
model's process and the segment processes at once, 1.3–1.4× the memory of a one-minute job, whose
single window is done before its render starts. The cost is MuEx's own time on a long job (about
0.12 s of one core a minute of speech) before the first frame, instead of beside the render.

It is used only where it pays and is safe (:func:`generator_beside`): a budget of two or more, a
generator that streams and needs no transcript, torch not yet imported here (a caller that has it
loaded has no import to hide; a fork would also inherit its thread pools), and ``os.fork``. A child
that fails, or a generator that turns out not to stream, is loaded again in this process: its
genuine error is raised here, or its motion computed here.

Library choice: ``os.fork`` and two pipes, as :func:`babelface.media.segments._forked`; not
``multiprocessing`` (it pickles, and a spawned interpreter would import NumPy, PyAV and OpenCV
again: more CPU than the import it hides).
"""

from __future__ import annotations

import json
import math
import os
import select
import shutil
import struct
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from babelface import heap
from babelface.forking import ForkedServer, write_all
from babelface.media._atomic import private_folder, untrack
from babelface.media.spool import RawReader
from babelface.models.protocols import load_generator

_LOADED, _CHUNK, _DONE, _FAILED = b"L", b"C", b"D", b"E"     # child → parent, each a kind and a length
_HEAD = struct.Struct("<cq")                                   # kind, payload bytes
_SHAPE = struct.Struct("<qqq")                                 # a chunk's (t, L, 3)
LOAD_TIMEOUT_S = 120.0         # torch's import and a model's load take 1–2 s; far beyond: a hung child


class _ChildFailed(Exception):
    """The child stopped without its answer (an error there, or killed)."""


def _send(fd: int, kind: bytes, payload: bytes = b"") -> None:
    write_all(fd, _HEAD.pack(kind, len(payload)) + payload)


def _receive(pipe) -> tuple[bytes, bytearray]:
    head = pipe.read(_HEAD.size)
    if len(head) < _HEAD.size:
        raise _ChildFailed
    kind, size = _HEAD.unpack(head)
    payload = bytearray(size)                  # writable: the motion is used in place downstream
    if pipe.readinto(payload) < size or kind == _FAILED:
        raise _ChildFailed
    return kind, payload


PRIMITIVE_CACHE = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"


def _serve(choice: tuple, requests: int, answers: int) -> None:
    """The child: load the generator, say what it is, write the motion of the one request to its
    file (raw float32, chunk after chunk) and say each chunk's shape.

    oneDNN's primitive cache is off here (torch is imported in this child, after the setting): MuEx's
    experts see a different number of tokens in every window, each count a new cached primitive, and
    over an hour of speech (60 windows) the child's peak crept from 305 to 330 MiB; uncached it stays
    at 298, for ~6 % more of MuEx's own time (0.2 CPU-s per 15 minutes of speech). The same motion:
    a primitive made again computes what the cached one did."""
    os.environ.setdefault(PRIMITIVE_CACHE, "0")
    generator = load_generator(*choice)
    streams = callable(getattr(generator, "stream", None)) and not generator.needs_text
    _send(answers, _LOADED, json.dumps({"name": generator.name, "needs_text": generator.needs_text,
                                        "streams": streams}).encode())
    if not streams:
        return
    with os.fdopen(requests, "rb") as pipe:
        line = pipe.readline()
    if not line:                                        # the parent needs no motion after all
        return
    request = json.loads(line)
    with open(request["motion"], "wb") as out:
        for chunk in generator.stream(RawReader(Path(request["path"]), request["n_samples"]), request["n_samples"]):
            chunk = np.ascontiguousarray(chunk, np.float32)                          # (t, L, 3)
            out.write(chunk.tobytes())
            _send(answers, _CHUNK, _SHAPE.pack(*chunk.shape))
            heap.trim()       # a window's activations are freed: handed back before the next
    _send(answers, _DONE)


class _Child(ForkedServer):
    """The parent's end of one forked generator process; an error there is sent back as ``_FAILED``
    (the parent loads the generator again and raises it)."""

    def __init__(self, choice: tuple):
        super().__init__(lambda requests, answers: _serve(choice, requests, answers),
                         on_error=lambda answers, e: _send(answers, _FAILED, repr(e).encode()))

    def loaded(self) -> dict:
        """What the child loaded (``name``, ``needs_text``, ``streams``), once it has; a child
        silent for ``LOAD_TIMEOUT_S`` (an import lock a thread of this process held at the fork)
        counts as failed."""
        if not select.select([self._answers], [], [], LOAD_TIMEOUT_S)[0]:
            raise _ChildFailed
        kind, payload = _receive(self._answers)
        if kind != _LOADED:
            raise _ChildFailed
        return json.loads(payload)

    def stream(self, reader: RawReader, n_samples: int) -> Iterator[np.ndarray]:
        """The motion chunks, once the child has computed them all and is gone."""
        folder = private_folder("motion")
        try:
            path = folder / "motion.f32"
            write_all(self._requests, json.dumps({"path": str(reader.path), "n_samples": n_samples,
                                                  "motion": str(path)}).encode() + b"\n")
            shapes = []
            while (answer := _receive(self._answers))[0] == _CHUNK:
                shapes.append(_SHAPE.unpack(answer[1]))
            self.close()                # its memory (torch, the model) is handed back before the render
            with open(path, "rb") as motion:
                for shape in shapes:
                    yield np.fromfile(motion, np.float32, count=math.prod(shape)).reshape(shape)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            untrack(folder)


class ForkedGenerator:
    """A streaming generator (``name``, ``needs_text``, :meth:`stream`) that runs in its child."""

    def __init__(self, child: _Child, choice: tuple, info: dict):
        self._child, self._choice = child, choice
        self.name, self.needs_text = info["name"], info["needs_text"]

    def stream(self, read: RawReader, n_samples: int) -> Iterator[np.ndarray]:
        """Motion chunks ``(t, L, 3)`` of the speech ``read`` names (a file the child reads)."""
        try:
            chunks = self._child.stream(read, n_samples)
            first = next(chunks, None)              # the child has finished (or failed)
        except (_ChildFailed, OSError):
            self._child.close()
            yield from load_generator(*self._choice).stream(read, n_samples)
            return
        if first is not None:
            yield first
            yield from chunks


class _Loading:
    """``result()``: the forked generator once its child has loaded it; else (it failed, or it
    does not stream) the generator loaded in this process."""

    def __init__(self, child: _Child, choice: tuple):
        self._child, self._choice = child, choice

    def result(self):
        try:
            info = self._child.loaded()
        except _ChildFailed:
            info = {"streams": False}
        if info["streams"]:
            return ForkedGenerator(self._child, self._choice, info)
        self._child.close()
        return load_generator(*self._choice)


@contextmanager
def generator_beside(choice: tuple, threads: int, streaming: bool = True) -> Iterator:
    """The generator ``choice`` (name, weights) names, loading while the body runs: ``result()``
    gives it. In a forked process (:class:`ForkedGenerator`) where it pays and is safe (see the
    module's note; ``streaming``: the caller would stream its motion), else on a thread of its own,
    as before. Call it before starting other threads: the fork copies only this one."""
    if streaming and threads >= 2 and "torch" not in sys.modules and hasattr(os, "fork"):
        try:
            child = _Child(choice)
        except OSError:                                 # no process to be had: a thread, as before
            child = None
        if child is not None:
            try:
                yield _Loading(child, choice)
            finally:
                child.close()
            return
    with ThreadPoolExecutor(1, thread_name_prefix="babelface-setup") as pool:
        yield pool.submit(load_generator, *choice)
