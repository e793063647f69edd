"""Dubbing one video, streamed: the new speech fitted to the video, a tracking pass that keeps
only landmarks, then a render pass that decodes, re-renders and encodes frame by frame.

    video ─► probe ─► original audio ─► new speech + motion (25 fps)      (babelface.dub.track)
    frames ─► face mesh + tracking ─► smoothed landmarks, rest mouth, mouth bank   (pass 1)
    frames ─► warp to rest mouth + motion at each frame's time ─► encoder         (pass 2)

Memory is bounded by a frame or two, the per-frame landmarks and the audio, never by the frames
of the whole video; the output keeps the input's size, timestamps (so its frame rate, constant
or variable), display rotation and duration, at a CRF that matches the source's bit density.
"""

from __future__ import annotations

import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from babelface.concurrency import prefetch
from babelface.constants import FPS, MAX_DURATION_S, SAMPLE_RATE
from babelface.dub import stream
from babelface.dub.mouth_bank import MouthBank
from babelface.dub.render import FrameRenderer
from babelface.dub.tracking import finish, track_faces
from babelface.errors import BabelfaceError, InputError
from babelface.progress import progress

INTERIORS = ("video", "synth")
STAGES = ("decode", "tracking", "motion", "render", "encode", "sync")


@dataclass
class DubResult:
    """What ``babelface dub --json`` prints."""

    output: str
    frames: int
    frames_with_face: int
    frames_passed_through: int
    fps: float
    width: int
    height: int
    duration_s: float                  # of the input video (and the output)
    speech_duration_s: float | None    # of the new speech's span on the timeline
    driver: str                        # "text", "transcript" or "audio"
    language: str | None
    face: int                          # the speaker, numbered left to right
    faces: int
    face_choice: str
    dur_err: float | None              # JUST-DUB-IT Dur-Err, seconds
    int_corr: float | None             # JUST-DUB-IT Int-Corr
    av_offset_frames: int | None       # measured on the output by the sync expert
    crf: int
    mouth_bank: int                    # exemplars of the speaker's open mouth found in the video
    stages: dict[str, float] = field(default_factory=dict)     # seconds per stage
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class _Clock:
    """Seconds spent per stage."""

    def __init__(self):
        self.seconds = {s: 0.0 for s in STAGES}

    @contextmanager
    def __call__(self, stage: str):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - t

    def timed(self, iterable, stage: str):
        """Iterate ``iterable`` charging the time of each ``next`` to ``stage``."""
        it = iter(iterable)
        while True:
            with self(stage):
                try:
                    item = next(it)
                except StopIteration:
                    return
            yield item


def _original_audio(source: stream.Source, max_duration: float):
    """The video's own audio ``(n, C)`` float32 and its rate, or ``(None, None)``."""
    if not source.has_audio:
        return None, None
    from babelface.media import load_audio, probe_audio
    from babelface.sync import _align_audio_start
    rate = probe_audio(source.path).sample_rate
    audio = load_audio(source.path, sample_rate=None, mono=False, max_duration=max_duration)
    channels = [_align_audio_start(source.path, audio[:, c]) for c in range(audio.shape[1])]
    return np.stack(channels, 1), rate


def _mono16k(audio: np.ndarray | None, rate: int | None) -> np.ndarray | None:
    if audio is None:
        return None
    from babelface.media.audio import resample
    return resample(audio.mean(1), rate, SAMPLE_RATE)


def at_time(series: np.ndarray | None, t: float) -> np.ndarray | None:
    """A 25 fps ``series (T, ...)`` linearly interpolated at ``t`` seconds (held at its ends)."""
    if series is None:
        return None
    x = min(max(t * FPS, 0.0), len(series) - 1.0)
    i = int(np.floor(x))
    j = min(i + 1, len(series) - 1)
    return series[i] + (series[j] - series[i]) * (x - i)


def _hints(articulation: np.ndarray | None, t: float) -> tuple[float | None, float | None]:
    if articulation is None:
        return None, None
    from babelface.phonetics.ipa import ARTICULATORY_PARAMS
    a = at_time(articulation, t)
    return float(a[ARTICULATORY_PARAMS.index("teeth")]), float(a[ARTICULATORY_PARAMS.index("tongue")])


def _speech(source, original, rate, **kw):
    from babelface.dub.track import build_track
    return build_track(source.duration_s, original, rate, **kw)


def _track_pass(source: stream.Source, clock: _Clock, audio16k, face: int | None):
    banks: dict[int, MouthBank] = {}

    def on_face(k, image, lm):
        banks.setdefault(k, MouthBank()).add(image, lm)

    frames = progress(clock.timed(stream.frames(source), "decode"), total=source.n_frames,
                      desc="tracking", unit="frame")
    with clock("tracking"):
        tracks, times = track_faces(frames, (source.width, source.height), on_face)
        stream.check_decoded(source, float(times[-1]))
        tracking = finish(tracks, times, float(source.rate),
                          source.duration_s, audio16k, face, str(source.path))
    clock.seconds["tracking"] -= clock.seconds["decode"]
    return tracking, banks.get(tracking.track)


def _render_pass(source, tracking, renderer, track, out: Path, crf: int, clock: _Clock) -> int:
    from babelface.media import VideoWriter

    def rendered():
        for i, f in enumerate(clock.timed(stream.frames(source, report=False), "decode")):
            if i >= len(tracking.times):
                break
            with clock("render"):
                teeth, tongue = _hints(track.articulation, f.time)
                img = renderer(f.image, i, at_time(track.motion, f.time), teeth, tongue)
            yield img, f.pts

    n = 0
    # the per-frame solves are small: BLAS threads only spin against each other (5× slower here)
    limits = threadpool_limits(limits=1, user_api="blas")
    writer = VideoWriter(out, fps=source.rate, audio=track.audio, sample_rate=track.sample_rate,
                         crf=crf, time_base=source.time_base, rotation=source.rotation)
    try:
        for img, pts in progress(prefetch(rendered()), total=len(tracking.times),
                                 desc="dubbing", unit="frame"):
            with clock("encode"):
                writer.write(img, pts=pts)
            n += 1
    except BaseException:
        writer.close(ok=False)
        raise
    finally:
        limits.restore_original_limits()
    with clock("encode"):
        writer.close()
    return n


def _av_offset(path: Path, warn: list[str]) -> int | None:
    from babelface.sync import analyze_video
    try:
        return int(analyze_video(path).offset_frames)
    except BabelfaceError as e:
        warn.append(f"AV offset not measured: {e}")
        return None


def dub(video: str | Path, output: str | Path, *, text: str | None = None,
        language: str | None = None, audio: str | Path | None = None, fit: str | None = None,
        background_db: float | None = -24.0, face: int | None = None,
        max_duration: float = MAX_DURATION_S, crf: int | None = None,
        model: str | Path | None = None, interior: str = "video",
        check_sync: bool = True) -> DubResult:
    """Dub ``video`` into ``output`` (see :func:`babelface.pipeline.dub`)."""
    if text is None and audio is None:
        raise InputError("give the new speech: --text TEXT --lang LANG, --audio SPEECH [--text "
                         "TRANSCRIPT --lang LANG], or --audio SPEECH alone")
    if text is not None and not language:
        raise InputError("--text needs --lang: the language of the new speech")
    if interior not in INTERIORS:
        raise InputError(f"interior must be one of {', '.join(INTERIORS)}, got {interior!r}")
    output = Path(output)
    clock = _Clock()
    source = stream.probe(video, max_duration)
    original, rate = _original_audio(source, max_duration)
    with clock("motion"):
        track = _speech(source, original, rate, text=text, language=language, audio=audio, fit=fit,
                        background_db=background_db, model=model, max_duration=max_duration)
    audio16k = _mono16k(original, rate)
    del original                       # the mix holds what is kept of it: one soundtrack less in memory
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tracking, bank = _track_pass(source, clock, audio16k, face)
    del audio16k
    notes = list(track.warnings) + [str(w.message) for w in caught]
    renderer = FrameRenderer(tracking, bank if interior == "video" else None)
    crf = source.crf() if crf is None else crf
    n = _render_pass(source, tracking, renderer, track, output, crf, clock)
    offset = None
    if check_sync:
        with clock("sync"):
            offset = _av_offset(output, notes)
    span = track.new_span
    return DubResult(
        str(output), n, int(tracking.usable.sum()), renderer.passed_through, float(source.rate),
        source.width, source.height, source.duration_s,
        None if span is None else float(span[1] - span[0]), track.driver, language,
        tracking.face, tracking.n_faces, tracking.choice, track.dur_err, track.int_corr, offset, crf,
        0 if bank is None else len(bank), {k: round(v, 3) for k, v in clock.seconds.items()}, notes)
