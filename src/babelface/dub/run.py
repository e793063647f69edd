"""Dubbing one video, streamed: the new speech fitted to the video, a tracking pass that keeps
only landmarks, then a render pass that decodes, re-renders and encodes frame by frame.

    video ─► probe ─► original audio ─► new speech + motion (25 fps)      (babelface.dub.track)
    frames ─► face mesh + tracking ─► smoothed landmarks, rest mouth, mouth bank   (pass 1)
    frames ─► warp to rest mouth + motion at each frame's time ─► encoder         (pass 2)

Memory is bounded by a few frames: the landmarks, the original audio and its 16 kHz analysis
copy, the new speech stem, the 25 fps motion and the mix are on disk or computed slice by slice
(:mod:`babelface.disk`); the output keeps the input's size, timestamps (so its frame rate, constant
or variable), display rotation and duration, at a CRF that matches the source's bit density.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from babelface import heap
from babelface.concurrency import prefetch
from babelface.constants import FPS, MAX_DURATION_S, SAMPLE_RATE
from babelface.dub import stream
from babelface.dub.mouth_bank import MouthBank
from babelface.dub.render import Frame, FrameRenderer
from babelface.dub.tracking import SPEAKER_WINDOW_S, finish, track_faces
from babelface.errors import BabelfaceError, InputError
from babelface.media import load_audio
from babelface.media.video import DEFAULT_QUALITY, QUALITY
from babelface.notes import collected
from babelface.progress import progress

MAX_CRF = 51                 # x264's CRF scale for 8-bit video: 0 (lossless) … 51

INTERIORS = ("video", "synth")
STAGES = ("decode", "tracking", "motion", "adapt", "render", "encode", "sync")


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
    speaker_style: dict | None         # their mouth range (motion.style.Style), the motion's scale
    stages: dict[str, float] = field(default_factory=dict)     # seconds per stage
    warnings: list[str] = field(default_factory=list)
    adaptation: dict | None = None     # --adapt: frames learnt from (dub.adapt.Adaptation)
    transcript: str | None = None      # --transcribe: the words the recogniser heard in the voice-over

    def to_dict(self) -> dict:
        return asdict(self)


class _Clock:
    """Seconds spent per stage."""

    def __init__(self):
        self.seconds = {s: 0.0 for s in STAGES}
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self, stage: str):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - t)

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:                                 # segment workers add side by side
            self.seconds[stage] += seconds

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


@contextmanager
def _original_audio(source: stream.Source, max_duration: float):
    """The video's own audio as a ``(n, C)`` float32 :class:`~babelface.dub.mix.DiskSignal` read
    from the speech spool (decoded once to disk, :mod:`babelface.media.spool`), sample 0 playing
    with the first video frame, and its rate; ``(None, None)`` without an audio track."""
    if not source.has_audio:
        yield None, None
        return
    from babelface.dub.mix import DiskSignal
    from babelface.media.spool import spool_speech
    with spool_speech(source.path, max_duration, analysis=False) as speech:
        o = speech.original
        delay = int(round(source.audio_delay_s * speech.sample_rate))
        yield DiskSignal(max(len(o) + delay, 0), o.shape[1], o.path, delay), speech.sample_rate


def _mono16k(audio, rate: int | None, seconds: float) -> np.ndarray | None:
    """The first ``seconds`` of ``audio`` as mono 16 kHz (the speaker choice's evidence)."""
    if audio is None:
        return None
    from babelface.dub.mix import mono16k
    return mono16k(audio[:int(seconds * rate)], rate)


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
    track = build_track(source.duration_s, original, rate, **kw)
    heap.trim()            # its blocks (audio, VAD, the model's windows) are freed: handed back before
    return track           # the tracking pass ends and the render starts (10 minutes: 77 MiB)


def _raw_tracks(source: stream.Source, clock: _Clock, threads: int, check=lambda: None, rows=None):
    """Decoding, MediaPipe and the mouth banks: ``(raw tracks, frame times, bank per track)``; with
    ``threads`` > 1 the next frames are decoded on another thread while MediaPipe tracks this one
    (the same frames in the same order: the same tracks). ``check()`` is called before each frame
    is tracked: an error it raises stops the pass. ``rows``: files for the tracks' landmarks."""
    banks: dict[int, MouthBank] = {}

    def on_face(k, image, lm):
        banks.setdefault(k, MouthBank()).add(image, lm)

    decoded = stream.frames(source)
    if threads > 1:
        decoded = prefetch(decoded, depth=4)
    decoded = _checked(decoded, check)
    frames = progress(clock.timed(decoded, "decode"), total=source.n_frames,
                      desc="tracking", unit="frame")
    tracks, times = track_faces(frames, (source.width, source.height), on_face, rows)
    return tracks, times, banks


@contextmanager
def _beside(source: stream.Source, threads: int):
    """The tracking pass forked into a process of its own now (:mod:`babelface.dub.tracked`),
    where that pays and is safe (a budget of two threads or more, ``os.fork``, no MediaPipe graph
    made in this process yet: a child forked after one aborts making its own), killed and reaped
    on leaving; else None. Call it before any other thread starts: the fork copies this one only."""
    import os

    from babelface.dub.tracked import TrackingBeside
    from babelface.face.landmarks import _mediapipe, graphs_made
    if threads < 2 or not hasattr(os, "fork") or graphs_made():
        yield None
        return
    def imports():
        _mediapipe()
        importlib.import_module("mediapipe.python.solutions.face_mesh")

    alone = threading.active_count() == 1
    if not alone:            # another thread (of a server) may hold a module's import lock at the
        imports()            # fork: imported here, not in the child
                             # (else in the child, beside the speech: 0.27 s off this one's start)

    def work(rows, tick):           # (one core there: a read-ahead thread only trades the GIL,
        clock = _Clock()            # 3.6-4.3 against 4.6 CPU-s on the 1080p clip)
        heap.keep_freed()           # each frame's 6 MiB reused, not mapped and faulted in anew
        imports()
        with collected() as notes:
            raw = _raw_tracks(source, clock, 1, tick, rows)
        return raw, {"notes": notes, "seconds": clock.seconds}
    try:
        child = TrackingBeside(work)
    except OSError:                                      # no process to be had: on this one
        yield None
        return
    with child:
        yield child


def _tracked_beside(child, source, clock: _Clock, check):
    """The tracking pass's result from its process (:func:`_beside`), the bar drawn from its ticks
    and ``check()`` called at each; None when the child failed (the pass is then run here)."""
    from babelface.dub.tracked import Failed
    from babelface.notes import note
    ticks = child.ticks()
    try:
        check()
        for module in ("scipy.ndimage", "scipy.signal"):    # what the pass's end needs, while it runs
            importlib.import_module(module)
        for _ in progress(ticks, total=source.n_frames, desc="tracking", unit="frame"):
            check()
    except Failed:
        return None
    finally:
        child.close()                                    # (it has finished: reaped now)
    for message in ticks.notes:
        note(message)
    clock.add("decode", ticks.seconds["decode"])           # (its tracking: this process's wait)
    return ticks.raw


def _track_pass(source: stream.Source, clock: _Clock, audio16k, face: int | None, threads: int = 1,
                check=lambda: None, child=None):
    """The tracking pass (:func:`_raw_tracks`, or its result from ``child``, :func:`_beside`) and
    the speaker's smoothed landmarks, rest mouth and mouth bank from it."""
    with clock("tracking"):
        raw = _tracked_beside(child, source, clock, check) if child is not None else None
        if raw is None:
            raw = _raw_tracks(source, clock, threads, check)
        tracks, times, banks = raw
        stream.check_decoded(source, float(times[-1]))
        tracking = finish(tracks, times, float(source.rate),
                          source.duration_s, audio16k, face, str(source.path))
    clock.seconds["tracking"] -= clock.seconds["decode"]
    return tracking, banks.get(tracking.track)


def _speech_and_tracking(source, original, rate, clock: _Clock, face, threads: int, speech: dict,
                         child=None):
    """The new speech fitted to the video (:func:`babelface.dub.track.build_track`) and the tracking
    pass: ``(track, (tracking, bank), the tracking pass's notes)``. Neither needs the other, so with
    ``threads`` > 1 the speech is fitted on its own thread while the video is tracked, in ``child``
    (a process of its own, forked earlier: :func:`_beside`; issue 16) or on this thread. The
    tracking pass's notes are collected in its own context (:mod:`babelface.notes`): warnings of
    the speech thread go where they go at one thread. A failed speech fitting stops the tracking
    pass at its next frame; either way the error raised is the one a single thread would raise
    first."""
    def fit():
        with clock("motion"):
            return _speech(source, original, rate, **speech)

    def track(check=lambda: None, child=None):
        with collected() as notes:
            return _track_pass(source, clock, _mono16k(original, rate, SPEAKER_WINDOW_S), face,
                               threads, check, child), notes

    if threads < 2:
        return (fit(), *track())
    with ThreadPoolExecutor(1, thread_name_prefix="babelface-speech") as pool:
        fitted = pool.submit(fit)

        def speech_ok():
            if fitted.done():
                fitted.result()                          # the speech's error, raised here

        try:
            tracked = track(speech_ok, child)
        except BaseException:
            if child is not None:
                child.kill()                             # (the speech's error may take a while)
            fitted.result()                              # the speech's error first, as on one thread
            raise
        return (fitted.result(), *tracked)


def _checked(iterable, check):
    """``iterable`` with ``check()`` called before each item is handed on."""
    for item in iterable:
        check()
        yield item


class _Decoders:
    """Sequential decoders of one video shared by its segment jobs (issue 16): a job takes the
    idle decoder furthest along but not past its first frame (or opens one) and decodes forward
    to it, so each of the ``workers`` decoders reads the video once and the frames, damaged
    packets skipped, are numbered exactly as in the tracking pass (whose frame ``times`` give
    them). A job in a segment's own process decodes from the keyframe before its first frame
    (:func:`babelface.dub.stream.frames_from`)."""

    def __init__(self, source: stream.Source, times: np.ndarray):
        self.source = source
        self._pts = np.rint(times / float(source.time_base)).astype(np.int64)   # (N,) from the first frame
        self._idle: list[list] = []                      # [frames iterator, index of its next frame]
        self._lock = threading.Lock()

    def frames(self, start: int, stop: int):
        """Frames ``start`` … ``stop − 1`` of the video as ``(index, TimedFrame)``."""
        from babelface.media.segments import in_segment_process
        # a segment's own process (one core) opens a decoder of its own, on one thread: the
        # parent's decoders share their file offsets with it
        forked = in_segment_process()
        if forked:                    # (from the keyframe before it: no other segment's frames)
            yield from enumerate(stream.frames_from(self.source, self._pts, start, stop), start)
            return
        with self._lock:
            ready = [d for d in self._idle if d[1] <= start]
            d = max(ready, key=lambda d: d[1]) if ready else \
                [stream.frames(self.source, report=False, start=start), start]
            if ready:
                self._idle.remove(d)
        try:
            while d[1] < stop:
                f = next(d[0], None)
                if f is None:
                    return
                d[1] += 1
                if d[1] > start:
                    yield d[1] - 1, f
        finally:
            with self._lock:
                self._idle.append(d)

    def close(self) -> None:
        for it, _ in self._idle:
            it.close()


def _render_pass(source, tracking, renderer, track, motion, out: Path, crf: int, clock: _Clock,
                 threads: int, quality: str) -> int:
    """The video cut into segments (:func:`babelface.media.segments.plan_segments`), each decoded,
    re-rendered and encoded by its own x264 on one worker, ``render_workers`` segments side by side
    and joined in order (:func:`babelface.media.segments.encode_segments`), the audio interleaved;
    the frames keep the video's own timestamps. The plan depends on the length alone, so one and
    two threads write the same bytes. Stage seconds are summed over the workers."""
    from babelface.media import VideoWriter
    from babelface.media.segments import encode_segments, in_segment_process, plan_segments
    from babelface.threads import render_workers

    n = len(tracking.times)
    plan = plan_segments(n)
    workers = render_workers(threads)
    inner = workers if len(plan) == 1 else 1            # one segment: its frames on every thread
    decoders = _Decoders(source, tracking.times)
    _palette(renderer, decoders)

    def job(start: int, stop: int):
        def frames():
            pts = deque()

            def items():
                for i, f in clock.timed(decoders.frames(start, stop), "decode"):
                    teeth, tongue = _hints(track.articulation, f.time)
                    pts.append(f.pts)
                    yield Frame(f.image, i, at_time(motion, f.time), teeth, tongue)

            # read ahead on a thread of its own only where the budget has one (a segment's
            # process has one core; at --threads 1 the read-ahead thread took a second core)
            ahead = items() if in_segment_process() or workers < 2 else prefetch(items(), depth=4)
            images = clock.timed(renderer.frames(ahead, inner), "render")
            for image in images:
                t = time.perf_counter()
                yield image, pts.popleft()
                clock.add("encode", time.perf_counter() - t)        # the encoder's share of the job
        return frames

    writer = VideoWriter(out, fps=source.rate, audio=track.audio, sample_rate=track.sample_rate,
                         crf=crf, quality=quality, threads=threads, time_base=source.time_base,
                         rotation=source.rotation)
    try:
        ticks = encode_segments(writer, (job(a, b) for a, b in plan), workers, processes=len(plan) > 1,
                                counters=(lambda: _counts(clock, renderer), lambda c: _add_counts(clock, renderer, c)))
        for _ in progress(ticks, total=n, desc="dubbing", unit="frame"):
            pass
        with clock("encode"):
            writer.close()
    except BaseException:
        writer.close(ok=False)
        raise
    finally:
        decoders.close()
    return writer.n_frames


def _counts(clock: _Clock, renderer) -> dict[str, float]:
    """What the segment jobs add up: seconds per stage, frames passed through."""
    return dict(clock.seconds, passed_through=renderer.passed_through)


def _add_counts(clock: _Clock, renderer, counts: dict[str, float]) -> None:
    """A segment process's :func:`_counts` added to this process's."""
    counts = dict(counts)
    renderer.passed_through += int(counts.pop("passed_through"))
    for stage, seconds in counts.items():
        clock.add(stage, seconds)


def _palette(renderer, decoders: _Decoders) -> None:
    """The interior's colours measured on the first edited frame, before the segments start."""
    first = np.flatnonzero(renderer.tracking.weight > 0)
    if len(first):
        for i, f in decoders.frames(int(first[0]), int(first[0]) + 1):
            renderer.measure_palette(f.image, i)


STYLE_SAMPLE = 3000      # frames of the new motion its own style is measured on (bounded memory)


def _styled(motion, style):
    """The new motion ``(T, L, 3)`` (an array or :class:`~babelface.disk.DiskRows`) scaled to the
    speaker's own mouth range (the phoneme path opens wider than most real speakers), on disk,
    :data:`~babelface.dub.track.MOTION_BLOCK` frames at a time; unchanged when the video did not
    show enough of it. The motion's own range is measured on at most :data:`STYLE_SAMPLE` evenly
    spaced frames (its float64 copies would otherwise grow with the video)."""
    from babelface.disk import DiskRows
    from babelface.dub.track import MOTION_BLOCK
    from babelface.motion.style import apply_style, measure_style
    if style is None:
        return motion
    try:
        own = measure_style(motion[np.arange(0, len(motion), max(1, len(motion) // STYLE_SAMPLE))])
    except InputError:                                   # too short or at rest: nothing to scale
        return motion
    return DiskRows.of((apply_style(motion[i:i + MOTION_BLOCK], style, own)
                        for i in range(0, len(motion), MOTION_BLOCK)), motion.shape[1:])


SYNC_WINDOW_S = 120.0    # the output's AV offset is measured on its first minutes (bounded memory)


def _av_offset(path: Path, warn: list[str]) -> int | None:
    """The sync expert's AV offset of the output (:func:`babelface.sync.analyze`) over its first
    :data:`SYNC_WINDOW_S` seconds, or None (with a warning) when it cannot be measured."""
    from itertools import islice

    from babelface.face.landmarks import landmarks_sequence
    from babelface.media import iter_frames
    from babelface.sync import _align_audio_start, analyze, check_speech
    try:
        head = load_audio(path, first_seconds=SYNC_WINDOW_S + 10)        # not the whole soundtrack
        audio = _align_audio_start(path, head)[:int(SYNC_WINDOW_S * SAMPLE_RATE)]
        check_speech(audio, str(path))
        landmarks = landmarks_sequence(islice(iter_frames(path, fps=FPS), int(SYNC_WINDOW_S * FPS)))
        return int(analyze(audio, landmarks, source=str(path)).offset_frames)
    except BabelfaceError as e:
        warn.append(f"AV offset not measured: {e}")
        return None


def dub(video: str | Path, output: str | Path, *, text: str | None = None,
        language: str | None = None, audio: str | Path | None = None, fit: str | None = None,
        background_db: float | None = -24.0, face: int | None = None,
        max_duration: float = MAX_DURATION_S, crf: int | None = None,
        model: str | Path | None = None, interior: str = "video",
        check_sync: bool = True, threads: int | None = None,
        quality: str = DEFAULT_QUALITY, adapt: bool = False, transcribe: bool = False) -> DubResult:
    """Dub ``video`` into ``output`` (see :func:`babelface.pipeline.dub`); ``threads``: the job's
    thread budget (:mod:`babelface.threads`), ``quality``: the x264 preset's name
    (:data:`babelface.media.video.QUALITY`; the CRF follows the source unless ``crf`` is given);
    ``adapt``: the ``muex-real`` read-out refitted to the speaker on the video's own speech and lips
    (:mod:`babelface.dub.adapt`); ``transcribe``: the voice-over (English) recognised offline
    (:mod:`babelface.phonetics.recognise`) and dubbed as with its transcript."""
    from babelface.threads import job
    with job(threads) as budget:
        if transcribe:
            text, language = _transcribed(audio, text, language, model, adapt, max_duration)
        result = _dub(video, output, text=text, language=language, audio=audio, fit=fit,
                      background_db=background_db, face=face, max_duration=max_duration, crf=crf,
                      model=model, interior=interior, check_sync=check_sync, threads=budget,
                      quality=quality, adapt=adapt)
    if transcribe:
        result.transcript = text
    return result


def _transcribed(audio, text, language, model, adapt, max_duration) -> tuple[str, str]:
    """``--transcribe``: (the words heard in the voice-over, its language), one-line errors first."""
    if audio is None:
        raise InputError("--transcribe recognises the voice-over: give it with --audio SPEECH")
    from babelface.disk import DiskSignal
    from babelface.media.spool import spool_speech
    from babelface.phonetics.recognise import check_request, transcribe
    language = check_request(text, language, model, adapt)
    with spool_speech(audio, max_duration) as speech:
        return transcribe(DiskSignal(speech.n_samples, path=speech.analysis_path), language), language


def _dub(video, output, *, text, language, audio, fit, background_db, face, max_duration, crf,
         model, interior, check_sync, threads, quality, adapt=False) -> DubResult:
    if crf is not None and not (isinstance(crf, int) and 0 <= crf <= MAX_CRF):
        raise InputError(f"--crf must be an integer from 0 (lossless) to {MAX_CRF}, got {crf!r}")
    if text is None and audio is None:
        raise InputError("give the new speech: --text TEXT --lang LANG, --audio SPEECH [--text "
                         "TRANSCRIPT --lang LANG], or --audio SPEECH alone")
    if text is not None and not language:
        raise InputError("--text needs --lang: the language of the new speech")
    if language:
        from babelface.phonetics.espeak import resolve_voice
        resolve_voice(language)             # an unknown language is refused before the video is read
    if quality not in QUALITY:
        raise InputError(f"quality must be one of {', '.join(QUALITY)}, got {quality!r}")
    if interior not in INTERIORS:
        raise InputError(f"interior must be one of {', '.join(INTERIORS)}, got {interior!r}")
    from babelface.dub.track import check_audio_model
    check_audio_model(model)
    if adapt:
        from babelface.dub.adapt import check_adapt
        check_adapt(model, audio is not None and text is None)
        model = "muex-real"
    output = Path(output)
    clock = _Clock()
    source = stream.probe(video, max_duration)
    with (_uncached_primitives(), _beside(source, threads) as child,
          _original_audio(source, max_duration) as (original, rate)):
        track, (tracking, bank), caught = _speech_and_tracking(
            source, original, rate, clock, face, threads,
            dict(text=text, language=language, audio=audio, fit=fit, background_db=background_db,
                 model=model, max_duration=max_duration), child)
        notes = list(track.warnings) + caught
        renderer = FrameRenderer(tracking, bank if interior == "video" else None)
        crf = source.crf() if crf is None else crf
        adaptation = None
        if adapt:
            with clock("adapt"):
                track.motion, adaptation = _adapted(track, tracking, original, rate, source.duration_s,
                                                    notes)
        motion = _styled(track.motion, tracking.style)
        n = _render_pass(source, tracking, renderer, track, motion, output, crf, clock, threads, quality)
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
        0 if bank is None else len(bank), None if tracking.style is None else tracking.style.to_dict(),
        {k: round(v, 3) for k, v in clock.seconds.items()}, notes,
        None if adaptation is None else adaptation.to_dict())


@contextmanager
def _uncached_primitives() -> Iterator[None]:
    """oneDNN's primitive cache off while the dub runs (unless the environment sets it), before the
    speech's model runs here: a streaming model's windows see a different number of tokens each,
    each a new cached primitive, and the cache grew with the voice-over's length (`build_track`'s
    peak on 1 and 10 minutes: 406 and 430 MiB cached, 400 and 400 uncached). As in the forked
    generator of ``animate`` (:data:`babelface.models.forked.PRIMITIVE_CACHE`); the same motion.
    The caller's environment is restored afterwards (an in-process dub leaked it into every
    process the caller started later)."""
    import os

    from babelface.models.forked import PRIMITIVE_CACHE
    if PRIMITIVE_CACHE in os.environ:
        yield
        return
    os.environ[PRIMITIVE_CACHE] = "0"
    try:
        yield
    finally:
        os.environ.pop(PRIMITIVE_CACHE, None)


def _adapted(track, tracking, original, rate, duration_s: float, notes: list[str]):
    """``(motion, Adaptation)``: the new speech's motion by the read-out refitted to the speaker
    (:mod:`babelface.dub.adapt`), or the track's own (the shipped read-out) with a note why not."""
    from babelface.dub.adapt import ADAPT_WINDOW_S, fit_speaker, new_motion
    from babelface.models.protocols import load_generator
    generator = load_generator("muex-real")
    readout, info = fit_speaker(generator, tracking, _mono16k(original, rate, ADAPT_WINDOW_S), duration_s)
    notes.extend(info.warnings())
    if info.skipped:
        return track.motion, info
    generator.readout = readout
    return new_motion(generator, track, len(track.motion)), info
