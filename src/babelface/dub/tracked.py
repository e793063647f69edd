"""dub's tracking pass in a process of its own, beside the speech fitting (issue 16).

The tracking pass (decoding, MediaPipe's face mesh, the mouth bank) and the new speech's fitting
need nothing of each other. On two threads of one process they shared one GIL: each took ~1.4×
its one-thread wall time side by side. So at a thread budget of two or more the pass runs whole in
a child forked before the speech thread starts (:class:`TrackingBeside`), the same code on the
same frames from the first to the last with one tracker, so the same landmarks, mouth bank and
frame times as in this process (the video is not cut: a tracker restarted at a cut re-detects the
face, which on the 1080×1920 ``latentsync_demo1.mp4`` took 9 frames to find it again).

The child writes a tick per frame (the progress bar, and the parent's chance to stop it when the
speech fitting failed), then the result: the tracks' landmarks straight into temporary files this
process made before the fork (:class:`babelface.disk.DiskRows`, written with ``pwrite`` through the
inherited descriptors: nothing of the video's length passes the pipe), and, as JSON plus raw
arrays (never pickle), each frame's time, which faces were usable, the mouth bank's exemplars, its
notes and its stage seconds. A child that fails (or a fork that fails) leaves the pass to this
process, which raises the genuine error. Library choice: :class:`babelface.forking.ForkedServer`
(``os.fork`` and pipes), as the segments and ``eval``'s trackers.
"""

from __future__ import annotations

import json
import struct
from typing import Callable

import numpy as np

from babelface.disk import DiskRows
from babelface.dub.mouth_bank import Exemplar, MouthBank
from babelface.dub.tracking import MAX_TRACKS, _Tracks
from babelface.forking import ForkedServer, write_all

_TICK, _DONE = b"t", b"d"                  # child → parent: one frame tracked; the result follows
_SIZE = struct.Struct("<q")                # bytes of the JSON header that follows it

# what the pass returns: the raw tracks, the frame times (N,), the mouth bank of each track
Raw = tuple[_Tracks, np.ndarray, dict[int, MouthBank]]


class Failed(Exception):
    """The child ended without its result: the pass is run in this process instead."""


class TrackingBeside(ForkedServer):
    """A child running ``work(rows, tick)`` (the raw tracking pass: ``rows``, the files its tracks'
    landmarks go to; ``tick()`` called before each frame), forked now; :meth:`result` collects it."""

    def __init__(self, work: Callable[[list[DiskRows], Callable[[], None]], tuple[Raw, dict]]):
        self._rows = [DiskRows() for _ in range(MAX_TRACKS)]
        super().__init__(lambda _, answers: _serve(work, self._rows, answers))

    def ticks(self) -> "Ticks":
        """The child's progress, one item per frame tracked, ending with its result."""
        return Ticks(self)

    def __enter__(self) -> "TrackingBeside":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Ticks:
    """Iterates once per frame the child tracked; then :attr:`raw` (and :attr:`seconds` and
    :attr:`notes`) hold its result. Raises :class:`Failed` when the child ends without one."""

    def __init__(self, child: TrackingBeside):
        self._child = child
        self.raw: Raw | None = None
        self.seconds: dict[str, float] = {}
        self.notes: list[str] = []

    def __iter__(self):
        answers = self._child._answers          # buffered: a byte at a time costs no system call
        while (byte := answers.read(1)) == _TICK:
            yield
        if byte != _DONE:
            raise Failed
        size = answers.read(_SIZE.size)
        if len(size) < _SIZE.size:
            raise Failed
        head = answers.read(n := _SIZE.unpack(size)[0])
        if len(head) < n:
            raise Failed
        meta = json.loads(head)
        blob = answers.read(meta["bytes"])
        if len(blob) < meta["bytes"]:
            raise Failed
        self.raw = _unpack(meta, blob, self._child._rows)
        self.seconds, self.notes = meta["seconds"], meta["notes"]


def _serve(work, rows: list[DiskRows], answers: int) -> None:
    """The child: the pass, its ticks and its result (see the module's docstring)."""
    from babelface import progress
    progress.set_enabled(False)                     # the parent draws the bar from the ticks
    progress.set_listener(None)
    (tracks, times, banks), extra = work(rows, lambda: write_all(answers, _TICK))
    meta, blob = _pack(tracks, times, banks)
    head = json.dumps(meta | extra).encode()
    write_all(answers, _DONE + _SIZE.pack(len(head)) + head + blob)


_EXEMPLAR_ARRAYS = ("patch", "landmarks", "shape", "colour")


def _pack(tracks: _Tracks, times: np.ndarray, banks: dict[int, MouthBank]) -> tuple[dict, bytes]:
    """What the parent needs of the pass, as JSON-able facts and raw array bytes (in order)."""
    arrays = [np.ascontiguousarray(times, np.float64)]
    exemplars = []
    for k, bank in banks.items():
        for band, e in bank.exemplars.items():
            parts = [np.ascontiguousarray(getattr(e, a)) for a in _EXEMPLAR_ARRAYS]
            exemplars.append({"track": k, "band": band, "opening": float(e.opening), "yaw": float(e.yaw),
                              "arrays": [(str(a.dtype), a.shape) for a in parts]})
            arrays += parts
    meta = {"n": tracks.n, "size": tracks.size, "times": len(times), "banks": list(banks),
            "exemplars": exemplars,
            "tracks": [{"start": r.start, "rows": r.n, "ok": "".join("01"[o] for o in ok), "x": x}
                       for r, ok, x in zip(tracks.rows, tracks.ok, tracks.x)],
            "bytes": sum(a.nbytes for a in arrays)}
    return meta, b"".join(a.tobytes() for a in arrays)


def _unpack(meta: dict, blob: bytes, rows: list[DiskRows]) -> Raw:
    """:func:`_pack`'s inverse; the landmarks are in ``rows``, written by the child."""
    at = 0

    def take(dtype: str, shape) -> np.ndarray:
        nonlocal at
        a = np.frombuffer(blob, dtype, int(np.prod(shape, dtype=np.int64)), at).reshape(shape).copy()
        at += a.nbytes
        return a

    times = take("float64", (meta["times"],))
    banks = {k: MouthBank() for k in meta["banks"]}
    for e in meta["exemplars"]:
        patch, landmarks, shape, colour = (take(d, s) for d, s in e["arrays"])
        banks[e["track"]].exemplars[e["band"]] = Exemplar(
            patch, landmarks, shape, e["opening"], colour, e["yaw"])
    tracks = _Tracks(tuple(meta["size"]))
    tracks.n = meta["n"]
    for r, t in zip(rows, meta["tracks"]):
        r.start, r.n = t["start"], t["rows"]
        tracks.rows.append(r)
        tracks.ok.append([c == "1" for c in t["ok"]])
        tracks.x.append(t["x"])
    return tracks, times, banks
