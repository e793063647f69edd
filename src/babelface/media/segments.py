"""A video encoded as independent H.264 segments, side by side on the cores, joined losslessly (issue 16).

x264 alone scales poorly to a second core at 512² (frame threads: 135 → 180 frames/s on this
machine), and a frame-parallel encoder on the caller's thread is the pipeline's floor. So a long
video is cut into runs of frames (:func:`plan_segments`), each encoded by its own single-threaded
x264 with the writer's settings (:class:`SegmentEncoder`, any thread) into packets held in memory;
:meth:`babelface.media.VideoWriter.write_segment` joins them, in order, into the one mp4:

* each segment opens with an IDR frame and its GOPs are closed (x264's default), so every one
  decodes on its own, and so does the joined stream;
* the encoders' settings, hence their SPS/PPS (the mp4's ``avcC``), are identical: the writer
  checks the bytes;
* timestamps are offset by the frames before; x264's B-frame delay is the same for every segment,
  so the decoding timestamps run on without a gap or a repeat.

With two workers or more a caller may have each segment drawn and encoded in a process forked for
it (``encode_segments(..., processes=True)``): the packets come back through a pipe, the same
bytes as from a thread, and the workers' Python no longer shares one GIL.

The joined file is the H.264 + AAC mp4 that :class:`VideoWriter` always writes (browser-playable,
``+faststart``, audio interleaved). A segment is at most one x264 GOP (``SEGMENT_FRAMES`` = its
default keyint), so a long video has the IDR frames it had with one encoder; the decoded frames
differ from one encoder's only by x264's own choices near the cuts (rate control looking across
them). The plan depends on the length alone, not on the thread budget: one thread and two threads
write the same bytes.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import struct
import threading
from collections import deque
from concurrent.futures import CancelledError, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import av
import numpy as np

from babelface import heap
from babelface.forking import write_all

if TYPE_CHECKING:
    from babelface.media.video import VideoWriter

SEGMENT_FRAMES = 250        # x264's default keyint: a segment is at most one GOP of one encoder
MIN_SEGMENT_FRAMES = 25     # 1 s: a sentence of `say` (2-4 s) is cut in two, so both cores draw and
                            # encode it (session 28: its wall 0.85x of one segment's); shorter runs
                            # would add IDR frames for little parallel work


def plan_segments(n_frames: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``n_frames``: the fewest runs of at most ``SEGMENT_FRAMES``,
    their number made even where each keeps ``MIN_SEGMENT_FRAMES`` (so two cores share the work
    evenly), lengths differing by at most one frame."""
    k = max(-(-n_frames // SEGMENT_FRAMES), 1)
    if k % 2 and n_frames >= (k + 1) * MIN_SEGMENT_FRAMES:
        k += 1
    bounds = [round(i * n_frames / k) for i in range(k + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


@dataclass
class EncodedSegment:
    """A run of frames encoded on its own: packets in decoding order, timestamps from 0."""

    n_frames: int
    width: int
    height: int
    extradata: bytes            # SPS/PPS (avcC)
    packets: list
    timed: bool = False         # the frames came with their own pts (the video's): not offset when joined


@dataclass(frozen=True)
class SegmentEncoder:
    """x264 settings for segments of one video; :meth:`encode` may run on any thread."""

    crf: int
    preset: str
    time_base: Fraction
    framerate: Fraction | None = None    # the stream's nominal rate (default: 1 / time_base)

    def options(self, width: int | None = None) -> dict[str, str]:
        """The x264 options of every segment (and of the joined stream's header) of frames
        ``width`` pixels wide (:func:`x264_options`)."""
        return x264_options(self.crf, self.preset, 1, width)

    def encode(self, frames: Iterable) -> EncodedSegment:
        """Encode RGB uint8 frames ``(H, W, 3)`` (even sides) with a fresh encoder. A frame may
        come as ``(image, pts)``: its own timestamp in ``time_base`` (a video's, kept as it is,
        variable frame rate included); otherwise frames are numbered from 0 and the joined stream
        offsets them by the frames before."""
        ctx = None
        packets: list = []
        n = 0
        timed = False
        from babelface.media.video import _even
        for frame in frames:
            pts = n
            if isinstance(frame, tuple):
                frame, pts = frame
                timed = True
            frame = _even(np.ascontiguousarray(frame, dtype=np.uint8))
            if ctx is None:
                ctx = self._open(frame.shape[1], frame.shape[0])
            vf = av.VideoFrame.from_numpy_buffer(frame, format="rgb24")   # no copy under the GIL
            vf.pts = pts
            packets += ctx.encode(vf)
            n += 1
        if ctx is None:
            raise ValueError("a segment needs at least one frame")
        packets += ctx.encode(None)
        return EncodedSegment(n, ctx.width, ctx.height, bytes(ctx.extradata), packets, timed)

    def _open(self, width: int, height: int):
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
        ctx.time_base = self.time_base
        ctx.framerate = self.framerate or 1 / self.time_base
        ctx.flags |= av.codec.context.Flags.global_header      # SPS/PPS apart, as mp4 stores them
        ctx.options = self.options(width)
        ctx.open()
        return ctx


def deterministic_width(width: int) -> bool:
    """Whether libx264's macroblock-tree rate control gives the same bytes from run to run at
    this frame width: only where the width in macroblocks is a multiple of 8 (256, 384, 512, 640,
    1280, 1920 px). At other widths (160, 192, 224, 320, 848 …) the same frames at one thread encoded
    twice in a row in one process came out different (presets veryfast and slower; superfast and
    ultrafast, whose look-ahead is off, do not use the tree): the bundled libx264 reads something
    it did not set (session 29: 6 encodes of one 100-frame clip per width; a test)."""
    return -(-width // 16) % 8 == 0


def x264_options(crf: int, preset: str, threads: int, width: int | None = None) -> dict[str, str]:
    """x264's options: rate factor, preset, threads; and ``mbtree=0`` at a frame ``width`` where
    the macroblock tree is not reproducible (:func:`deterministic_width`): the same input then
    gives the same bytes (files 1 % smaller to 4 % larger at the same CRF on talking heads)."""
    options = {"crf": str(crf), "preset": preset, "threads": str(threads)}
    if width is not None and not deterministic_width(width):
        options["x264-params"] = "mbtree=0"
    return options


def encode_segments(writer: "VideoWriter", segments: Iterable[Callable[[], Iterable]],
                    workers: int, *, processes: bool = False,
                    counters: tuple[Callable[[], dict], Callable[[dict], None]] | None = None) -> Iterator[None]:
    """Encode segments on ``workers`` threads and join them into ``writer`` in order; yields once
    per frame encoded, in whichever segment (a progress tick).

    Each item of ``segments`` makes its segment's frames (images, or ``(image, pts)``: see
    :meth:`SegmentEncoder.encode`) when called, on the worker thread: the
    frames are drawn and encoded on one core, in one pass, with no hand-over between threads. A
    worker that finishes takes the next segment at once, whether or not the segments before its
    own are done (so no worker waits for a slower one), and with two workers or more the next
    segments are handed out before a finished one is joined (the joining, and the audio encoded
    with it, runs beside them). Finished segments wait in memory to be joined, their packets a few
    MB each: at most ``2 × workers`` segments are held. Stopping early (an error, Ctrl-C) stops the
    workers at their next frame.

    ``processes``: with two workers or more, each segment is drawn and encoded in a child process
    forked for it (:func:`_forked`) instead of on the worker thread, so the workers' Python does
    not wait for one GIL (issue 16: two threads of the renderer spent a third more CPU than one,
    handing the GIL to and fro). Only for jobs that need nothing but what they hold (no open file
    read by two segments, no shared state written): the caller decides. ``counters``: ``(read,
    add)`` for numbers a job adds up as it runs (seconds per stage): what a child added
    (``read()`` at its end less at its start) is ``add``-ed in the parent."""
    encoder = writer.segment_encoder()
    ticks: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()
    workers = max(workers, 1)

    def run(make: Callable[[], Iterable]) -> EncodedSegment:
        def counted() -> Iterator:
            for frame in make():
                if stop.is_set():
                    raise CancelledError
                yield frame
                ticks.put(None)
        return encoder.encode(counted())

    def forked(make: Callable[[], Iterable]) -> EncodedSegment:
        return _forked(encoder, make, ticks, stop, counters) or run(make)

    fork = processes and workers > 1 and hasattr(os, "fork")
    items = iter(segments)
    pending: deque = deque()            # submitted, in the video's order; joined from the left

    def hand_out() -> None:
        """Submit segments while a worker is free (and at most ``2 × workers`` are held), none
        after one has failed."""
        while (sum(not f.done() for f in pending) < workers and len(pending) < 2 * workers
               and not any(f.done() and not f.cancelled() and f.exception() for f in pending)):
            make = next(items, None)
            if make is None:
                return
            pending.append(pool.submit(forked if fork else run, make))
            pending[-1].add_done_callback(ticks.put)

    with ThreadPoolExecutor(workers, thread_name_prefix="babelface-segment") as pool:
        try:
            hand_out()
            while pending:
                if ticks.get() is None:
                    yield
                    continue
                while pending and pending[0].done():
                    if workers > 1:          # one core: the joining waits, as the budget says
                        hand_out()
                    writer.write_segment(pending.popleft().result())
                    heap.trim()          # a segment's frames and packets are freed: hand them back
                hand_out()
            while not ticks.empty():
                if ticks.get() is None:
                    yield
        finally:
            stop.set()
            for future in pending:
                future.cancel()


_in_child = False              # True in a segment's own process


def in_segment_process() -> bool:
    """Whether this is a segment's own (forked) process: it has one core, so a job's helpers
    (decoder threads, read-ahead threads) only hand the GIL to and fro there."""
    return _in_child


_FORK = threading.Lock()       # held by a fork and while a child's counters are added: no child
                               # is forked while a parent thread holds the counters' lock
_TICK, _DONE_SEGMENT = b"t", b"s"          # child → parent: one frame encoded; the segment follows
_SEGMENT = struct.Struct("<iii?ii")        # n_frames, width, height, timed, len(extradata), packets
_PACKET = struct.Struct("<qqq?i")          # pts, dts, duration, keyframe, size


def _forked(encoder: SegmentEncoder, make: Callable[[], Iterable], ticks: queue.SimpleQueue,
            stop: threading.Event, counters=None) -> EncodedSegment | None:
    """One segment drawn and encoded in a child process forked from this thread (it holds the job
    and everything it reads, copy-on-write); the child sends a tick per frame, then the packets
    and what it added to ``counters`` through a pipe (raw bytes and JSON, no pickle) and exits.
    None when the child failed: the caller runs the job on its own thread, which raises the
    error one thread would."""
    with _FORK:               # (no other child forked holding this pipe's write end: EOF comes)
        r, w = os.pipe()
        try:
            pid = os.fork()
        except OSError:                             # no process to be had: the job on this thread
            os.close(r)
            os.close(w)
            return None
        if pid:
            os.close(w)
    if pid == 0:                                    # the child: nothing of the parent's unwinds here
        global _in_child
        _in_child = True
        code = 1
        try:
            os.close(r)
            heap.keep_freed()                       # its frames' blocks reused, not faulted in anew
            before = counters[0]() if counters else {}
            segment = encoder.encode(_ticked(make(), w))
            added = {k: v - before[k] for k, v in counters[0]().items()} if counters else {}
            write_all(w, _DONE_SEGMENT + _pack(segment) + json.dumps(added).encode())
            code = 0
        finally:
            os._exit(code)
    try:
        with os.fdopen(r, "rb") as pipe:
            while (kind := pipe.read(1)) == _TICK:
                if stop.is_set():
                    raise CancelledError
                ticks.put(None)
            data = pipe.read() if kind == _DONE_SEGMENT else b""
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        _, status = os.waitpid(pid, 0)
    if status or not data:
        return None
    segment, at = _unpack(data, encoder)
    if counters:
        with _FORK:
            counters[1](json.loads(data[at:]))
    return segment


def _ticked(frames: Iterable, fd: int) -> Iterator:
    for frame in frames:
        yield frame
        os.write(fd, _TICK)


def _pack(seg: EncodedSegment) -> bytes:
    """A segment as bytes: its header, the SPS/PPS, each packet's timing and data."""
    parts = [_SEGMENT.pack(seg.n_frames, seg.width, seg.height, seg.timed, len(seg.extradata),
                           len(seg.packets)), seg.extradata]
    for p in seg.packets:
        data = bytes(p)
        parts += [_PACKET.pack(p.pts, p.dts, p.duration, p.is_keyframe, len(data)), data]
    return b"".join(parts)


def _unpack(data: bytes, encoder: SegmentEncoder) -> tuple[EncodedSegment, int]:
    """:func:`_pack`'s inverse (packets in the encoder's time base, as it made them), and where in
    ``data`` the segment ends."""
    n, width, height, timed, n_extra, n_packets = _SEGMENT.unpack_from(data)
    at = _SEGMENT.size + n_extra
    extradata = data[_SEGMENT.size:at]
    packets = []
    for _ in range(n_packets):
        pts, dts, duration, key, size = _PACKET.unpack_from(data, at)
        at += _PACKET.size
        p = av.Packet(data[at:at + size])
        at += size
        p.pts, p.dts, p.duration, p.is_keyframe = pts, dts, duration, key
        p.time_base = encoder.time_base
        packets.append(p)
    return EncodedSegment(n, width, height, extradata, packets, timed), at
