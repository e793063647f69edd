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

The joined file is the H.264 + AAC mp4 that :class:`VideoWriter` always writes (browser-playable,
``+faststart``, audio interleaved). A segment is at most one x264 GOP (``SEGMENT_FRAMES`` = its
default keyint), so a long video has the IDR frames it had with one encoder; the decoded frames
differ from one encoder's only by x264's own choices near the cuts (rate control looking across
them). The plan depends on the length alone, not on the thread budget: one thread and two threads
write the same bytes.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from concurrent.futures import CancelledError, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import av
import numpy as np

from babelface import heap

if TYPE_CHECKING:
    from babelface.media.video import VideoWriter

SEGMENT_FRAMES = 250        # x264's default keyint: a segment is at most one GOP of one encoder
MIN_SEGMENT_FRAMES = 50     # 2 s: shorter runs would add IDR frames for little parallel work


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

    def options(self) -> dict[str, str]:
        """The x264 options of every segment (and of the joined stream's header)."""
        return {"crf": str(self.crf), "preset": self.preset, "threads": "1"}

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
        ctx.options = self.options()
        ctx.open()
        return ctx


def encode_segments(writer: "VideoWriter", segments: Iterable[Callable[[], Iterable]],
                    workers: int) -> Iterator[None]:
    """Encode segments on ``workers`` threads and join them into ``writer`` in order; yields once
    per frame encoded, in whichever segment (a progress tick).

    Each item of ``segments`` makes its segment's frames (images, or ``(image, pts)``: see
    :meth:`SegmentEncoder.encode`) when called, on the worker thread: the
    frames are drawn and encoded on one core, in one pass, with no hand-over between threads. At most
    ``workers`` segments are in flight (their packets, a few MB each, wait in memory to be joined).
    Stopping early (an error, Ctrl-C) stops the workers at their next frame."""
    encoder = writer.segment_encoder()
    ticks: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()

    def run(make: Callable[[], Iterable]) -> EncodedSegment:
        def counted() -> Iterator:
            for frame in make():
                if stop.is_set():
                    raise CancelledError
                yield frame
                ticks.put(None)
        return encoder.encode(counted())

    items = iter(segments)
    pending: deque = deque()
    with ThreadPoolExecutor(max(workers, 1), thread_name_prefix="babelface-segment") as pool:
        try:
            for make in items:
                pending.append(pool.submit(run, make))
                pending[-1].add_done_callback(ticks.put)
                if len(pending) < workers:
                    continue
                yield from _ticks_until(pending[0], ticks)
                writer.write_segment(pending.popleft().result())
                heap.trim()                  # a segment's frames and packets are freed: hand them back
            while pending:
                yield from _ticks_until(pending[0], ticks)
                writer.write_segment(pending.popleft().result())
            while not ticks.empty():
                if ticks.get() is None:
                    yield
        finally:
            stop.set()
            for future in pending:
                future.cancel()


def _ticks_until(future, ticks: queue.SimpleQueue) -> Iterator[None]:
    """Yield the workers' frame ticks (None) until ``future`` is done (done futures are queued too)."""
    while not future.done():
        if ticks.get() is None:
            yield
