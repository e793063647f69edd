"""Reading video frames and writing browser-playable H.264 + AAC mp4 (PyAV).

Frames are RGB uint8 arrays ``(H, W, 3)``. Output: H.264 (libx264, yuv420p, +faststart) at
25 fps by default, AAC audio; written to a temporary file beside the target and renamed into place.
yuv420p needs even dimensions: an odd width or height is padded by one replicated pixel row/column.

Audio is interleaved with the video as frames are written (each frame's audio follows it), so the
muxer never holds more than a frame's worth of either, whatever the length.

``--quality`` (:data:`QUALITY`) names an x264 rate factor and preset (lower CRF: higher quality
and a larger file; a slower preset: a smaller file at the same CRF). Encoder CPU per 512² frame of
real talking-head video, one thread, and the size relative to ``balanced``:

=========  ====  =========  ============  =====  ============================================
quality    CRF   preset     CPU ms/frame  size   for
=========  ====  =========  ============  =====  ============================================
fast       20    superfast  4.5           0.87×  previews and long batches
balanced   18    veryfast   7.5           1×     the default: visually lossless talking heads
best       16    medium     21            1.4×   delivery, where quality matters more than size
=========  ====  =========  ============  =====  ============================================
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator

import av
import numpy as np

from babelface.constants import FPS, H264_MAX_FRAME_PIXELS, SWSCALE_THREADS
from babelface.errors import MediaError
from babelface.media._atomic import atomic_path
from babelface.media.audio import _open, decodable, threaded_decoding
from babelface.media.segments import EncodedSegment, SegmentEncoder

QUALITY = {"fast": (20, "superfast"), "balanced": (18, "veryfast"), "best": (16, "medium")}
DEFAULT_QUALITY = "balanced"
AUDIO_FRAME = 1024 * 16          # samples per AudioFrame handed to the AAC encoder


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    n_frames: int | None          # from the container; None when it does not say
    duration_s: float | None
    has_audio: bool
    codec: str


def probe_video(path: str | Path) -> VideoInfo:
    with _open(path) as c:
        if not c.streams.video:
            raise MediaError(f"{path} has no video track")
        s = decodable(c.streams.video[0], path)
        fps = float(s.average_rate or s.guessed_rate or FPS)
        dur = float(s.duration * s.time_base) if s.duration is not None and s.time_base else (
            c.duration / av.time_base if c.duration is not None else None)
        n = s.frames or (int(round(dur * fps)) if dur else None)
        return VideoInfo(s.codec_context.width, s.codec_context.height, fps, n, dur,
                         bool(c.streams.audio), s.codec_context.name)


def iter_frames(path: str | Path, fps: float | None = None) -> Iterator[np.ndarray]:
    """Yield RGB uint8 frames ``(H, W, 3)``.

    With ``fps`` given, frames are resampled to that rate by nearest timestamp (drop/duplicate), the
    way ffmpeg's ``fps`` filter does; the n-th output frame shows the input at time n / fps.
    """
    with _open(path) as c:
        if not c.streams.video:
            raise MediaError(f"{path} has no video track")
        stream = threaded_decoding(decodable(c.streams.video[0], path))
        next_t = 0.0
        step = 1.0 / fps if fps else None
        last = None
        try:
            for frame in c.decode(stream):
                img = frame.to_ndarray(format="rgb24", threads=SWSCALE_THREADS)
                if step is None:
                    yield img
                    continue
                t = float(frame.time) if frame.time is not None else (last[0] + step if last else 0.0)
                # emit every output timestamp that this frame is the nearest to
                while last is not None and next_t < (last[0] + t) / 2:
                    yield last[1]
                    next_t += step
                last = (t, img)
            if step is not None and last is not None:
                end = last[0] + (1.0 / float(stream.average_rate or fps))
                while next_t < end - 1e-6:
                    yield last[1]
                    next_t += step
        except av.error.FFmpegError as e:
            if last is None and step is not None:
                raise MediaError(f"cannot decode the video of {path}: the file is corrupt or truncated") from e


def read_frames(path: str | Path, fps: float | None = None, max_frames: int | None = None) -> np.ndarray:
    """All frames as one array ``(T, H, W, 3)`` uint8 (for short clips; stream long ones)."""
    frames = []
    for img in iter_frames(path, fps=fps):
        frames.append(img)
        if max_frames is not None and len(frames) >= max_frames:
            break
    if not frames:
        raise MediaError(f"{path}: the video track holds no decodable frames")
    return np.stack(frames)


def _even(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    if h % 2 or w % 2:
        img = np.pad(img, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return img


def _check_frame_size(width: int, height: int, path: Path) -> None:
    """H.264 level 5.1's largest frame (36,864 macroblocks): beyond it players and browsers fail."""
    if width * height > H264_MAX_FRAME_PIXELS:
        raise MediaError(f"frames of {width}×{height} for {path} exceed H.264 level 5.1's limit of "
                         f"{H264_MAX_FRAME_PIXELS} pixels: scale them down")


class VideoWriter:
    """Stream frames into an mp4, the audio interleaved with them; ``close()`` renames it into place.

    >>> with VideoWriter("out.mp4", fps=25, audio=wave, sample_rate=16000) as w:
    ...     for frame in frames: w.write(frame)

    ``audio``: float32 ``(n,)`` or ``(n, C)``, encoded to AAC a frame's worth at a time (any object
    that slices like an array will do, e.g. :class:`babelface.media.spool.DiskAudio`).
    ``quality`` (:data:`QUALITY`) sets ``crf`` and ``preset`` unless they are given; ``threads``:
    x264 threads (default: :func:`babelface.threads.encoder_threads`).
    ``fps`` may be a Fraction (30000/1001). To keep a source's own timing (variable frame rate),
    give its ``time_base`` and each frame's ``pts`` in it; ``rotation`` (degrees) is written as
    the display-matrix rotation players apply.
    """

    def __init__(self, path: str | Path, fps: int | Fraction = FPS, audio: np.ndarray | None = None,
                 sample_rate: int | None = None, crf: int | None = None, preset: str | None = None,
                 quality: str = DEFAULT_QUALITY, threads: int | None = None,
                 time_base: Fraction | None = None, rotation: int = 0):
        if audio is not None and not sample_rate:
            raise ValueError("sample_rate is required with audio")
        if quality not in QUALITY:
            raise ValueError(f"quality must be one of {', '.join(QUALITY)}, got {quality!r}")
        self.path = Path(path)
        self.fps = fps
        self.audio = audio
        self.sample_rate = sample_rate
        self.crf = QUALITY[quality][0] if crf is None else crf
        self.preset = QUALITY[quality][1] if preset is None else preset
        self.threads = threads
        self.time_base = time_base or Fraction(1, 1) / Fraction(fps)
        self.rotation = rotation
        self.n_frames = 0
        self._last_dts: int | None = None    # of the last video packet joined from a timed segment
        self._audio_done = 0                 # samples of ``audio`` encoded so far
        self._audio_pts = 0
        self._ctx = atomic_path(self.path, suffix=".mp4")
        self._tmp = self._ctx.__enter__()
        self._container = av.open(str(self._tmp), mode="w", format="mp4",
                                  options={"movflags": "+faststart"})
        self._vstream = None
        self._astream = None
        if audio is not None:
            channels = 1 if audio.ndim == 1 else audio.shape[1]
            self._astream = aac_stream(self._container, sample_rate, channels)

    def _open_video(self, width: int, height: int, options: dict[str, str]) -> None:
        _check_frame_size(width, height, self.path)
        s = self._container.add_stream("libx264", rate=Fraction(self.fps))
        s.width, s.height = width, height
        s.pix_fmt = "yuv420p"
        s.options = options
        s.codec_context.time_base = self.time_base
        if self.rotation:
            s.set_display_rotation(self.rotation)
        self._vstream = s

    def write(self, frame: np.ndarray, pts: int | None = None) -> None:
        """Encode one RGB frame; ``pts`` in ``time_base`` units (default: the frame's index)."""
        frame = _even(np.ascontiguousarray(frame, dtype=np.uint8))
        if self._vstream is None:
            from babelface.media.segments import x264_options
            from babelface.threads import encoder_threads
            self._open_video(frame.shape[1], frame.shape[0], x264_options(
                self.crf, self.preset, encoder_threads(self.threads), frame.shape[1]))
        vf = av.VideoFrame.from_numpy_buffer(frame, format="rgb24")   # no copy (the encoder converts it)
        vf.pts = self.n_frames if pts is None else pts
        for packet in self._vstream.encode(vf):
            self._container.mux(packet)
        self.n_frames += 1
        self._interleave(float(vf.pts * self.time_base) + 1 / float(self.fps))

    def segment_encoder(self) -> SegmentEncoder:
        """This writer's x264 settings for segments encoded apart, on any thread, and joined by
        :meth:`write_segment` (:mod:`babelface.media.segments`)."""
        return SegmentEncoder(self.crf, self.preset, self.time_base, Fraction(self.fps))

    def write_segment(self, segment: EncodedSegment) -> None:
        """Append a segment from :meth:`segment_encoder` (its frames follow those written so far;
        a writer takes segments or frames, not both). Its SPS/PPS must be the stream's."""
        if self._vstream is None:
            self._open_video(segment.width, segment.height, self.segment_encoder().options(segment.width))
            self._container.start_encoding()
        if bytes(self._vstream.codec_context.extradata or b"") != segment.extradata:
            raise MediaError(f"a segment of {self.path} was encoded with other settings than the "
                             "stream's (its SPS/PPS differ): it cannot be joined")
        offset = 0 if segment.timed else self.n_frames   # timed: the video's own pts, kept
        for packet in segment.packets:           # decoding order; timestamps from the segment's start
            packet.pts += offset
            packet.dts += offset
            if segment.timed:                    # x264 starts its dts from its first frames' spacing:
                packet.dts = self._next_dts(packet)   # where the video's spacing changes, it may repeat
            until = float((packet.dts + 1) * self.time_base)   # (muxing rescales it to the stream's)
            packet.stream = self._vstream
            self._container.mux(packet)
            self._interleave(until)
        self.n_frames += segment.n_frames

    def _next_dts(self, packet) -> int:
        """The packet's dts raised, if need be, just past the last one muxed (decoding order only;
        never past its own pts); a segment whose order cannot be kept is a :class:`MediaError`."""
        dts = packet.dts if self._last_dts is None else max(packet.dts, self._last_dts + 1)
        if dts > packet.pts:
            raise MediaError(f"a segment of {self.path} cannot be joined: its timestamps overlap "
                             "the previous segment's")
        self._last_dts = dts
        return dts

    def _interleave(self, until_s: float | None) -> None:
        """Mux the audio up to ``until_s`` seconds (``None``: all of it, then flush its encoder)."""
        if self.audio is not None:
            n = len(self.audio) if until_s is None else min(int(np.ceil(until_s * self.sample_rate)),
                                                           len(self.audio))
            while self._audio_done < n:
                self._encode_audio(self._audio_done, min(self._audio_done + AUDIO_FRAME, n))
            if until_s is None:
                for packet in self._astream.encode(None):
                    self._container.mux(packet)

    def _encode_audio(self, start: int, stop: int) -> None:
        chunk = np.clip(self.audio[start:stop], -1.0, 1.0).astype(np.float32)
        planar = np.ascontiguousarray(chunk[None, :] if chunk.ndim == 1 else chunk.T[:2])   # (C, n)
        af = av.AudioFrame.from_ndarray(planar, format="fltp", layout=self._astream.layout.name)
        af.sample_rate = self.sample_rate
        af.pts = self._audio_pts
        self._audio_pts += planar.shape[1]
        self._audio_done = stop
        for packet in self._astream.encode(af):
            self._container.mux(packet)

    def close(self, ok: bool = True) -> None:
        if self._container is None:
            return
        try:
            if ok:
                if self._vstream is None:
                    raise MediaError(f"no frames were written to {self.path}")
                for packet in self._vstream.encode(None):
                    self._container.mux(packet)
                self._interleave(None)
            self._container.close()
            self._container = None
            if ok:
                self._ctx.__exit__(None, None, None)
            else:
                self._ctx.__exit__(RuntimeError, RuntimeError("aborted"), None)
        except BaseException as e:
            if self._container is not None:
                self._container.close()
                self._container = None
            self._ctx.__exit__(type(e), e, None)
            raise

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(ok=exc_type is None)


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: int = FPS,
                audio: np.ndarray | None = None, sample_rate: int | None = None,
                quality: str = DEFAULT_QUALITY) -> Path:
    """Write ``frames`` (RGB uint8) and optional ``audio`` (float32, mono or (n, C)) to an mp4."""
    with VideoWriter(path, fps=fps, audio=audio, sample_rate=sample_rate, quality=quality) as w:
        for f in frames:
            w.write(f)
    return Path(path)


AAC_BIT_RATE = 128_000
# FFmpeg's AAC coder: "fast" (its default from 2018, "sounds better than twoloop at higher
# bitrates"; libavcodec 62 defaults to twoloop again). On real speech at 128 kb/s, session 28:
# 1.5-2.2x less CPU per second of audio (4x on espeak-ng's), and the decoded audio as close to the
# input or closer (SNR 39.8 -> 51.1 dB French at 22.05 kHz, 28.3 -> 30.1 dB at 48 kHz, 39.3 -> 40.9
# Japanese at 16 kHz), the stream 1-25 % larger (it spends the bit rate asked for)
AAC_CODER = "fast"


def aac_stream(container, rate: int, channels: int):
    """An AAC stream of ``container``: mono or stereo (more channels are downmixed by the caller)."""
    stream = container.add_stream("aac", rate=rate)
    stream.layout = "mono" if channels == 1 else "stereo"
    stream.bit_rate = AAC_BIT_RATE
    stream.options = {"aac_coder": AAC_CODER}
    return stream


def replace_audio(src: str | Path, dst: str | Path, audio: np.ndarray, sample_rate: int) -> Path:
    """``dst``: the video of ``src`` with ``audio`` ``(n, C)`` (float in [-1, 1], at ``sample_rate``)
    as its sound track. The video packets are copied (remuxed) when the container takes them,
    else the frames are re-encoded as H.264; the audio is encoded as AAC. Not atomic: write to
    a temporary (``babelface.media._atomic``)."""
    try:
        _remux(Path(src), Path(dst), audio, sample_rate)
    except (av.error.FFmpegError, ValueError):            # the container refuses this video codec
        write_video(dst, iter_frames(src), fps=FPS, audio=audio, sample_rate=sample_rate)
    return Path(dst)


def _remux(src: Path, dst: Path, audio: np.ndarray, rate: int) -> None:
    """Video packets of ``src`` copied into ``dst``, with ``audio`` ``(n, C)`` encoded as AAC."""
    with av.open(str(src)) as inp, av.open(str(dst), mode="w") as outp:
        vin = inp.streams.video[0]
        vout = outp.add_stream_from_template(vin)
        channels = audio.shape[1]
        aout = aac_stream(outp, rate, channels)
        for packet in inp.demux(vin):
            if packet.dts is None:
                continue
            packet.stream = vout
            outp.mux(packet)
        planar = np.ascontiguousarray(np.clip(audio, -1, 1).T[: 2], dtype=np.float32)
        step, pts = 1024 * 16, 0
        for s in range(0, planar.shape[1], step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar[:, s:s + step]), format="fltp",
                                               layout=aout.layout.name)
            frame.sample_rate = rate
            frame.pts = pts
            pts += frame.samples
            for p in aout.encode(frame):
                outp.mux(p)
        for p in aout.encode(None):
            outp.mux(p)
