"""A video read as a stream of timed frames, and the facts about it that its dub must keep.

Frames are decoded one at a time (PyAV); each comes with its presentation time in seconds from
the first frame and its pts in the stream's own time base, so the output can be written with the
very same timestamps (24, 25, 29.97, 30, 50, 60 fps or variable: nothing is resampled). The
display rotation is read from the first frame's side data and written back unchanged.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from fractions import Fraction
from itertools import chain
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from babelface.constants import SWSCALE_THREADS
from babelface.errors import InputError, MediaError
from babelface.media.audio import Decoded, _open, threaded_decoding
from babelface.notes import note

# encoder quality from the source's bits per pixel per frame: CRF 23 (x264's default) at
# BPP_AT_CRF23, CRF_PER_DOUBLING lower per doubling of the source's density, within CRF_RANGE.
# A re-encode loses more than the source's own encode did: the dense HDTF clip (0.53 bpp) gets
# CRF 8, whose untouched regions stay above 40 dB PSNR (RGB) on every frame (CRF 14: 38 dB,
# CRF 10: 39.8 dB on its worst frame).
BPP_AT_CRF23 = 0.08
CRF_PER_DOUBLING = 6.0
CRF_RANGE = (8, 28)
DEFAULT_CRF = 18
MIN_SHORTFALL_S = 0.1   # video that decodes this much (and 2 frames) short of its declared end is refused


@dataclass(frozen=True)
class Source:
    """What is known of a video before its frames are decoded."""

    path: Path
    width: int
    height: int
    rate: Fraction              # average frame rate
    time_base: Fraction
    duration_s: float
    n_frames: int               # estimated when the container does not say
    bit_rate: int | None
    has_audio: bool
    rotation: int = 0           # display rotation in degrees (side data of the first frame)
    audio_delay_s: float = 0.0  # the audio stream's start after the video's (the container's start times)

    def crf(self) -> int:
        """x264 CRF that keeps roughly the source's quality (:data:`BPP_AT_CRF23`)."""
        if not self.bit_rate:
            return DEFAULT_CRF
        bpp = self.bit_rate / (self.width * self.height * float(self.rate))
        crf = 23 - CRF_PER_DOUBLING * np.log2(bpp / BPP_AT_CRF23)
        return int(np.clip(round(crf), *CRF_RANGE))


def probe(path: str | Path, max_duration: float) -> Source:
    """The :class:`Source` of ``path``; a missing or over-long video is refused here."""
    path = Path(path)
    with _open(path) as c:
        if not c.streams.video:
            raise MediaError(f"{path} has no video track: dub needs a video of someone speaking")
        s = c.streams.video[0]
        rate = Fraction(s.average_rate or s.guessed_rate or 25)
        if s.duration is not None and s.time_base:
            dur = float(s.duration * s.time_base)
        elif c.duration is not None:
            dur = c.duration / av.time_base
        else:
            raise MediaError(f"{path} does not say how long it is: remux it (ffmpeg -i IN -c copy OUT.mp4)")
        if dur > max_duration + 0.5:
            raise InputError(f"{path} is {dur:.0f} s long; the limit is {max_duration:.0f} s "
                             "(raise it with --max-duration)")
        n = s.frames or int(round(dur * float(rate)))
        rotation = 0
        try:
            rotation = int(next(c.decode(s)).rotation or 0)
        except (StopIteration, av.error.FFmpegError) as e:
            raise MediaError(f"cannot decode the video of {path}: the file is corrupt or empty") from e
        return Source(path, s.codec_context.width, s.codec_context.height, rate,
                      Fraction(s.time_base or Fraction(1, 90000)), dur, n,
                      s.bit_rate or c.bit_rate, bool(c.streams.audio), rotation,
                      _start(c.streams.audio[0]) - _start(s) if c.streams.audio else 0.0)


def _start(s) -> float:
    return float(s.start_time * s.time_base) if s.start_time is not None and s.time_base else 0.0


@dataclass
class TimedFrame:
    image: np.ndarray          # (H, W, 3) uint8 RGB, as stored (rotation not applied)
    time: float                # seconds from the first frame
    pts: int                   # in Source.time_base, from the first frame
    rotation: int              # display rotation, degrees


def frames(source: Source, report: bool = True, threads: int | None = None, start: int = 0,
           stop: int | None = None) -> Iterator[TimedFrame]:
    """Decode ``source`` one frame at a time (bounded memory whatever its length); ``threads``:
    FFmpeg's decoding threads (default: :func:`babelface.threads.decoder_threads`, one on a budget
    of one, else FFmpeg's own choice; the frames are the same). ``start``,
    ``stop``: only frames ``start`` … ``stop − 1`` (numbered as decoded) are yielded, the ones
    before decoded but not converted to RGB, and decoding ends at ``stop``.

    Decoded packet by packet: a damaged packet loses its own frame(s), not the rest of the video
    (its neighbours keep their timestamps; with ``report``, a warning says how many packets were
    skipped). A video that yields no frame at all is a :class:`MediaError`."""
    with _open(source.path) as c:
        stream = threaded_decoding(c.streams.video[0], threads)
        first = None
        n = 0
        decoded = Decoded(c, stream)
        for frame in decoded:
            if n == stop:
                break
            pts = frame.pts if frame.pts is not None else n * int(1 / (source.rate * source.time_base))
            first = pts if first is None else first
            if n >= start:
                yield TimedFrame(frame.to_ndarray(format="rgb24", threads=SWSCALE_THREADS),
                                 float((pts - first) * source.time_base),
                                 pts - first, int(frame.rotation or 0))
            n += 1
    if n == 0:
        raise MediaError(f"cannot decode the video of {source.path}: the file is corrupt or holds no frames")
    if decoded.refused and report:
        note(f"{source.path}: {decoded.refused} damaged video packet(s) skipped; the frames around them keep "
             "their times", stacklevel=2)


def frames_from(source: Source, pts: np.ndarray, start: int, stop: int) -> Iterator[TimedFrame]:
    """Frames ``start`` … ``stop − 1`` as :func:`frames` numbers them, whose pts (from the first
    frame) are ``pts (N,)``, decoded on one thread from the keyframe at or before ``start``: a
    later run of a long video is reached without decoding all the frames before it. Each frame
    found there is checked against ``pts``; from the first that does not match (no timestamps, a
    keyframe that does not decode alone, a damaged packet) the rest come from :func:`frames`,
    decoded from the first frame. The same frames either way."""
    done, stop = start, min(stop, len(pts))
    if 0 < start < stop:
        try:
            with closing(_after_seek(source, int(pts[start]))) as found:
                for rel, frame in found:
                    if done == stop:
                        return
                    if rel is not None and rel < pts[start]:
                        continue                          # decoded up to the run: not converted
                    if rel != pts[done]:
                        break
                    yield TimedFrame(frame.to_ndarray(format="rgb24", threads=SWSCALE_THREADS),
                                     float(rel * source.time_base), rel, int(frame.rotation or 0))
                    done += 1
        except av.error.FFmpegError:
            pass
    if done < stop:
        yield from frames(source, report=False, threads=1, start=done, stop=stop)


SEEK_TRIES = 4           # seeks further back when the keyframe found shows after the frame sought


def _after_seek(source: Source, target: int) -> Iterator[tuple[int | None, "av.VideoFrame"]]:
    """``(pts from the first frame, frame)`` from a keyframe shown at or before ``target`` (pts
    from the first frame) on, so that no frame from ``target`` on needs one before it; nothing
    when no such keyframe is found; a frame without pts ends them. Of the frames shown before
    ``target``, those no other frame refers to are not decoded (FFmpeg's ``skip_frame``)."""
    with _open(source.path) as c:
        stream = c.streams.video[0]
        stream.codec_context.thread_count = 1
        first = next(c.decode(stream), None)
        if first is None or first.pts is None:
            return
        first, at = first.pts, first.pts + target
        for _ in range(SEEK_TRIES):
            c.seek(at, stream=stream, backward=True)
            packets = c.demux(stream)
            key = next(packets, None)
            if key is None or key.pts is None or not key.is_keyframe:
                return
            if key.pts <= first + target:
                break
            at = key.pts - 1
        else:
            return
        ctx = stream.codec_context
        for packet in chain([key], packets):
            # a frame shown before the target is decoded only if a later one refers to it: the
            # decoder skips the others (on the 1080p HEVC clip, 62 of the 125 frames before its
            # second segment: 0.48 against 0.82 CPU-s); none is shown from the target on
            ctx.skip_frame = "NONREF" if packet.pts is not None and packet.pts < first + target else "DEFAULT"
            try:
                decoded = packet.decode()
            except av.error.FFmpegError:                 # a damaged packet: skipped, as in frames()
                continue
            for frame in decoded:
                if frame.pts is None:
                    yield None, frame
                    return
                yield frame.pts - first, frame


def check_decoded(source: Source, last_time: float) -> None:
    """A video whose frames stop decoding before its declared end is refused (its dub would be
    shorter than the video and its soundtrack): a one-line :class:`MediaError`."""
    covered = last_time + 1 / float(source.rate)
    if covered < source.duration_s - max(2 / float(source.rate), MIN_SHORTFALL_S):
        raise MediaError(f"{source.path}: only {covered:.2f} s of its {source.duration_s:.2f} s of video "
                         f"decode (the file is damaged): repair or cut it, e.g. ffmpeg -i IN -t "
                         f"{covered:.2f} -c copy OUT.mp4")
