"""The new soundtrack of a dub and the mouth motion for it, on the video's timeline.

    original audio ─► voice activity ─► speech segments, span, speaker's pitch
    new speech (text │ voice-over + transcript │ voice-over) ─► fitted (segments │ stretch │ none)
        ─► parts placed on the timeline ─► motion (25 fps from t = 0) and the mix

The speech is fitted to the video, never the video to the speech. Motion is computed after the
fitting, from the fitted speech itself: text and transcript parts by their timed phonemes (a
transcript is aligned on the fitted voice-over), a voice-over alone by MuEx on the fitted audio.

Behaviour without an original audio track (``original=None``) or with no speech in it: there is
nothing to fit to, so the default fit is ``none`` (the new speech at its natural pace from t = 0);
an explicit ``segments`` or ``stretch`` fits it to the whole video, with a warning. Without a track
the output is 48 kHz stereo.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

import numpy as np

from babelface import heap
from babelface.constants import FPS, MAX_DURATION_S, SAMPLE_RATE
from babelface.dub import mix, vad
from babelface.disk import DiskRows, DiskSignal
from babelface.dub.timing import FIT_MODES, FRAME_S, Part
from babelface.errors import InputError, LanguageError
from babelface.face.indices import N_MOTION
from babelface.media.audio import resample
from babelface.models.transcript import AUDIO_PARTNER, TranscriptAudioGenerator
from babelface.phonetics.espeak import PAUSE, Phoneme
from babelface.progress import progress

OUTPUT_RATE, OUTPUT_CHANNELS = 48_000, 2    # the soundtrack of a video that had none
DEFAULT_BACKGROUND_DB = -24.0
STRETCH_WARNING = 1.5                       # time-scaling beyond this (or below its inverse) is audible
MOTION_BLOCK = 1500                         # motion frames computed at a time (one minute)


@dataclass
class DubTrack:
    audio: mix.Mixed             # (n, C) float32 final output audio, exactly the video's duration
                                 # (computed slice by slice; np.asarray(audio) gives it whole)
    sample_rate: int
    motion: DiskRows             # (T, L, 3) float32 at 25 fps from t = 0, T = ceil(duration × 25), on disk
    articulation: DiskRows | None     # (T, P) when phonemes drove it (on disk), else None
    phonemes: list               # timed phonemes on the video's timeline ([] for audio-only)
    driver: str                  # "text" | "transcript" | "audio"
    new_span: tuple[float, float] | None
    original_span: tuple[float, float] | None
    dur_err: float | None
    int_corr: float | None
    warnings: list[str]
    fit: str = "none"
    voice: str | None = None                       # espeak-ng voice (text driver)
    original_segments: list = field(default_factory=list)   # [(start_s, end_s)] original speech
    parts: list = field(default_factory=list)      # [(start_s, end_s, text, wpm, stretch)] placed speech
    speech: mix.DiskSignal | None = None           # (n,) float32 the new speech alone, at sample_rate (on disk)


def n_video_frames(duration_s: float) -> int:
    """Motion frames covering the video: ceil(duration × FPS)."""
    return max(1, int(np.ceil(round(duration_s * FPS, 6))))


def _driver(text: str | None, audio) -> str:
    if audio is None and text is None:
        raise InputError("no new speech: give --text TEXT --lang LANG, or --audio SPEECH (with --text "
                         "TRANSCRIPT --lang LANG when you have its transcript)")
    if audio is None:
        return "text"
    return "audio" if text is None else "transcript"


def _check_text(text: str | None, language: str | None) -> None:
    if text is None:
        return
    if not text.strip():
        raise LanguageError("the text is empty: give the words to speak")
    if not language:
        raise InputError("--text needs --lang: the language of the text (en, es, zh, ar, …)")
    from babelface.phonetics.espeak import resolve_voice
    resolve_voice(language)                                  # unknown language → LanguageError


def _fit_mode(fit: str | None, driver: str, has_speech: bool) -> str:
    """The fit asked for, or the default: ``segments`` for text over original speech, else ``none``."""
    fit = fit or ("segments" if driver == "text" and has_speech else "none")
    if fit not in FIT_MODES:
        raise InputError(f"unknown --fit {fit!r}: use one of {', '.join(FIT_MODES)}")
    return fit


def _original(original, rate: int | None, duration_s: float):
    """(original (n, C) float32 or None, its mono 16 kHz on disk, its speech segments within the
    video: the voice activity read block by block)."""
    if original is None:
        return None, None, []
    if not rate or rate <= 0:
        raise InputError("the original audio needs its sample rate")
    orig = original if isinstance(original, mix.DiskSignal) else np.asarray(original, np.float32)
    orig = orig[:, None] if orig.ndim == 1 else orig                  # (n, C), on disk or in memory
    mono16 = mix.mono16k_disk(orig, rate)
    segs = [(a, min(b, duration_s)) for a, b in vad.speech_segments(mono16) if a < duration_s]
    return orig, mono16, segs


# --- the three drivers ----------------------------------------------------------------------------

def _text_parts(text, language, voice_name, pitch, rng, fit, targets, warnings) -> Iterator[Part]:
    """The fitted parts one at a time (each is placed before the next is spoken: bounded memory)."""
    from babelface.dub import timing
    if fit == "segments":
        units = timing.make_units(text, language)
        groups = timing.assign(units, targets)
        for g in progress(groups, total=len(groups), desc="fitting speech", unit="part"):
            yield timing.fit_part(g.text, voice_name, g.start, g.end - g.start, pitch, rng, warnings)
        return
    audio, sr, phonemes = timing.speak(text, voice_name, timing.DEFAULT_RATE_WPM, pitch, rng)
    part = Part(targets[0][0], audio, sr, phonemes, text, timing.DEFAULT_RATE_WPM)
    if fit == "stretch":
        part = timing.stretch_part(part, targets[-1][1] - targets[0][0])
    yield part


def _voiceover_parts(path, fit, targets, max_duration) -> list[Part]:
    """The voice-over (mono at its own rate) as fitted parts: ``none`` as given from t = 0;
    ``stretch`` its speech span (VAD) time-scaled onto the target span; ``segments`` its own speech
    segments paired with the original's by :func:`babelface.dub.timing.assign` (cut only at its
    pauses) and each run time-scaled onto its run of original segments.

    The voice-over is decoded once to disk (:func:`babelface.media.spool.spool_speech`, its own
    rate only: the 16 kHz analysis is resampled from it), and the parts' audio stays there (a :class:`DiskSignal` or a
    :class:`~babelface.dub.mix.Span` of one): an hour of voice-over costs disk, not memory. A
    time-scaled run is scaled piece by piece, cut in its pauses (:func:`_stretched_run`)."""
    from babelface.dub import timing
    from babelface.errors import SilenceError
    from babelface.media import is_silent
    from babelface.media.spool import spool_speech
    with spool_speech(path, max_duration, mono=True, analysis=False) as speech:
        rate, n = speech.sample_rate, len(speech.original)
        mono = DiskSignal(n, 0, speech.original.path)     # (n,) at that rate; open: outlives the folder
    analysis = mix.mono16k_disk(mono, rate)
    if is_silent(analysis):
        raise SilenceError(f"{path} holds only silence (below -60 dBFS): there is no speech to dub")
    if fit == "none":
        return [Part(0.0, mono, rate, [], "")]
    segs = vad.speech_segments(analysis) or [(0.0, len(analysis) / SAMPLE_RATE)]
    if fit == "stretch":
        runs = [((segs[0][0], segs[-1][1]), (targets[0][0], targets[-1][1]))]
    else:
        units = [timing.Unit(f"{a:.2f}-{b:.2f}", b - a, True) for a, b in segs]
        runs = [((segs[g.units[0]][0], segs[g.units[1] - 1][1]), (g.start, g.end))
                for g in timing.assign(units, targets)]
    return [_stretched_run(mono, rate, a, b, start, end - start, segs) for (a, b), (start, end) in runs]


STRETCH_BLOCK_S = 60.0      # a longer run is time-scaled piece by piece, cut in its own pauses


def _stretched_run(mono, rate: int, a: float, b: float, start: float, duration: float, segs) -> Part:
    """The voice-over's ``[a, b)`` seconds time-scaled (PSOLA, :func:`babelface.dub.timing.time_stretch`)
    to last ``duration``, placed at ``start``, on disk. A run longer than :data:`STRETCH_BLOCK_S` is
    cut at the middle of its own pauses (``segs``: its speech segments) into pieces of about that
    length, each scaled by the same factor to the samples its span maps to: Praat holds a piece,
    not an hour of speech (three float64 copies of it). A shorter run is one piece, as before."""
    from babelface.dub.timing import time_stretch
    i0, i1 = int(round(a * rate)), int(round(b * rate))
    factor = duration / max((i1 - i0) / rate, 1e-9)
    n_out = int(round((i1 - i0) * factor))
    bounds = [i0] + [int(round(c * rate)) for c in _pause_cuts(segs, a, b, STRETCH_BLOCK_S)] + [i1]
    out, at = DiskSignal(n_out), 0
    for x0, x1 in zip(bounds, bounds[1:]):
        if len(bounds) == 2:                                    # one piece: the run's own factor
            y = time_stretch(mono[x0:x1], rate, factor)
        else:
            target = n_out - at if x1 == i1 else int(round((x1 - i0) * factor)) - at
            y = time_stretch(mono[x0:x1], rate, target / max(x1 - x0, 1))
        out.add(at, y)
        at += len(y)
    return Part(start, out, rate, [], "", stretch=factor)


def _pause_cuts(segs, a: float, b: float, block: float) -> list[float]:
    """Where to cut ``[a, b)`` (seconds) into pieces of at most about ``block``: at the middle of
    the pauses between consecutive speech segments ``segs``, each cut as late as keeps the piece
    before it within ``block`` (a piece with no pause inside it may run longer)."""
    mids = [(e + s) / 2 for (_, e), (s, _) in zip(segs, segs[1:]) if a < (e + s) / 2 < b]
    cuts, last, prev = [], a, None
    for m in mids + [b]:
        if m - last > block and prev is not None and prev > last:
            cuts.append(prev)
            last = prev
        prev = m
    return cuts


def _cut(p: Part, duration_s: float, warnings: list[str]) -> Part | None:
    """The part cut at the video's end (a warning says how much speech was lost); None when it
    starts after the end."""
    if p.start >= duration_s:
        warnings.append(f"new speech from {p.start:.2f} s starts after the video's end: dropped")
        return None
    if p.end > duration_s:
        keep = duration_s - p.start
        if p.end - duration_s >= FRAME_S / 2:
            warnings.append(f"the new speech runs {p.end - duration_s:.2f} s past the video's end "
                            f"({duration_s:.2f} s): cut there")
        k = int(round(keep * p.sample_rate))
        p = replace(p, audio=p.audio[:k] if isinstance(p.audio, np.ndarray) else mix.Span(p.audio, 0, k),
                    phonemes=[replace(q, end=min(q.end, keep)) for q in p.phonemes if q.start < keep])
    return p


# --- motion ----------------------------------------------------------------------------------------

def timeline(parts: list[Part], duration_s: float) -> list[Phoneme]:
    """The parts' phonemes on the video's timeline, gaps filled with pauses, from 0 to the end."""
    out: list[Phoneme] = []
    t = 0.0
    for p in sorted(parts, key=lambda p: p.start):
        for q in p.phonemes:
            a, b = p.start + q.start, min(p.start + q.end, duration_s)
            if b <= t:
                continue
            a = max(a, t)
            if a > t:
                out.append(Phoneme(PAUSE, t, a))
            out.append(replace(q, start=a, end=b))
            t = b
    if t < duration_s:
        out.append(Phoneme(PAUSE, t, duration_s))
    return out


def _phoneme_motion(phonemes, n_frames) -> tuple[DiskRows, DiskRows]:
    """Motion of timed phonemes, on disk: the articulation ``(T, P)`` (a few bytes a frame) is
    computed whole, the motion ``(T, L, 3)`` from it :data:`MOTION_BLOCK` frames at a time (the
    articulatory model is frame by frame). The visual lead is the portrait path's, from
    motion/calibration.json: the sync expert reads both in sync with it ("sync_lead_scan")."""
    from babelface.motion.articulation import articulation_from_timeline
    from babelface.motion.articulatory_model import motion_from_articulation
    art = articulation_from_timeline(phonemes, n_frames, FPS)                   # (T, P)
    motion = DiskRows.of((motion_from_articulation(art[i:i + MOTION_BLOCK])
                          for i in range(0, n_frames, MOTION_BLOCK)), (N_MOTION, 3))
    return motion, DiskRows.of([art], art.shape[1:])


def check_audio_model(model) -> None:
    """``dub --model``: a registered motion model's name or MuEx weights (a ``.safetensors`` path),
    else a one-line :class:`InputError` (before the video is read)."""
    from babelface.models.protocols import GENERATORS
    if model is None or str(model) in GENERATORS or Path(model).suffix == ".safetensors" or Path(model).exists():
        return
    raise InputError(f"unknown motion model {str(model)!r}: choose one of {', '.join(sorted(GENERATORS))}, "
                     "or give MuEx weights (.safetensors)")


def _audio_motion(parts: list[Part], n_frames: int, model) -> DiskRows:
    """The audio-only model on each fitted part, placed at its frame; rest elsewhere. ``model``: a
    registered generator's name (``muex``, ``muex-real``, …) or MuEx weights (checked by
    :func:`check_audio_model`); None: MuEx. Loaded once for all the parts. A part's 16 kHz speech
    is made on disk, block by block, for a part on disk (a voice-over)."""
    from itertools import chain

    from babelface.media.audio import check_audible
    from babelface.models.protocols import GENERATORS, load_generator
    named = model is not None and str(model) in GENERATORS
    generator = load_generator(str(model)) if named else load_generator("muex", model)
    chunks = []
    for p in parts:
        f0 = int(np.floor(p.start * FPS))
        lead = np.zeros(int(round((p.start - f0 / FPS) * SAMPLE_RATE)), np.float32)   # start inside its frame
        if isinstance(p.audio, np.ndarray):
            chunks.append((f0, np.concatenate([lead, resample(p.audio, p.sample_rate, SAMPLE_RATE)])))
            continue
        n16 = len(mix.Resampled(p.audio, p.sample_rate, SAMPLE_RATE))         # (nothing read)
        x = DiskSignal.of(chain([lead], mix.mono16k_blocks(p.audio, p.sample_rate)), len(lead) + n16)
        check_audible(x)
        chunks.append((f0, x))
    return chunks_motion(chunks, n_frames, generator)


def chunks_motion(chunks, n_frames: int, generator) -> DiskRows:
    """Motion ``(n_frames, L, 3)`` (on disk): ``generator`` on each ``(first frame, 16 kHz
    speech from that frame's start)`` (an array, or sliced like one: a ``DiskSignal``), placed
    there (a part ends where the next one starts); the rest pose elsewhere. Written as it is
    made: a generator that streams (MuEx, ``muex-real``) runs window by window
    (:mod:`babelface.models.streaming`: the whole-utterance motion for a part of up to a minute,
    within its stated tolerance beyond), so a long voice-over never holds the model's activations
    for all of it, nor the motion of the whole video in memory."""
    from babelface.media.audio import check_audible
    from babelface.models.protocols import speech_motion
    stream = getattr(generator, "stream", None)
    if getattr(generator, "needs_text", False):
        stream = None
    rows = DiskRows(row=(N_MOTION, 3))
    chunks = sorted(chunks, key=lambda c: c[0])
    pos = 0

    def rest(k: int) -> None:
        for a in range(0, max(k, 0), MOTION_BLOCK):
            rows.append(np.zeros((min(MOTION_BLOCK, k - a), N_MOTION, 3), np.float32))

    for i, (f0, x) in enumerate(chunks):
        stop = min(n_frames, chunks[i + 1][0] if i + 1 < len(chunks) else n_frames)
        if f0 >= stop:
            continue
        rest(f0 - pos)
        pos = f0
        if stream is not None:
            if isinstance(x, np.ndarray):       # (speech on disk was checked when it was placed)
                check_audible(x)
            pieces = stream(lambda a, b, x=x: np.asarray(x[a:b], np.float32), len(x))   # (t, L, 3) chunks
        else:
            pieces = iter([speech_motion(np.asarray(x, np.float32), generator=generator).motion])
        for m in pieces:
            take = min(len(m), stop - pos)
            if take <= 0:
                break
            rows.append(np.asarray(m[:take], np.float32))
            pos += take
            heap.trim()         # a window's activations are freed: handed back before the next
        close = getattr(pieces, "close", None)
        if close is not None:
            close()
    rest(n_frames - pos)
    return rows


# --- loudness and measurement -----------------------------------------------------------------------

def _match_loudness(p: Part, reference, orig, rate: int, contour: bool) -> Part:
    """The part as loud (BS.1770) as the original speech over its ``reference`` span; with
    ``contour`` (espeak-ng's flat delivery), first given the original's slow loudness contour
    over the span it occupies (:func:`babelface.dub.mix.follow_contour`). Measured block by block;
    a part on disk (a voice-over) comes back as a scaled view of itself."""
    a, b = reference
    audio = p.audio
    if contour:
        under = mix.to_mono(orig[int(round(p.start * rate)):int(round(p.end * rate))])
        audio = mix.follow_contour(audio, resample(under, rate, p.sample_rate), p.sample_rate)
    ref = mix.Span(orig, int(round(a * rate)), int(round(b * rate)))           # (m, C), mixed when read
    gain = mix.matching_gain(mix.Resampled(audio, p.sample_rate, rate), ref, rate)
    if isinstance(audio, np.ndarray):                  # (a sentence: its samples kept in memory)
        return replace(p, audio=(audio * gain).astype(np.float32))
    return replace(p, audio=mix.Span(audio, 0, len(audio), gain))


def _span16(audio16k) -> tuple[float, float] | None:
    from babelface.metrics.dubbing import span_of
    return span_of(vad.speech_segments(audio16k))


BACKGROUND_DB_RANGE = (-120.0, 0.0)     # a duck lowers the original under the new speech, never raises it


def check_background_db(background_db: float | None) -> None:
    """``background_db`` is None (the original dropped under speech) or finite within
    :data:`BACKGROUND_DB_RANGE`; anything else is an :class:`InputError`."""
    lo, hi = BACKGROUND_DB_RANGE
    if background_db is not None and not (np.isfinite(background_db) and lo <= background_db <= hi):
        raise InputError(f"--background-db must be between {lo:g} and {hi:g} dB (or 'off'), "
                         f"got {background_db!r}")


def build_track(duration_s: float, original: np.ndarray | None, original_rate: int | None, *,
                text: str | None = None, language: str | None = None, audio: str | Path | None = None,
                fit: str | None = None, background_db: float | None = DEFAULT_BACKGROUND_DB,
                model: str | Path | None = None, max_duration: float = MAX_DURATION_S,
                voice: str | None = None) -> DubTrack:
    """New speech for a video of ``duration_s`` seconds whose own audio is ``original`` ((n, C) or
    (n,) float32 at ``original_rate``, an array or a :class:`babelface.dub.mix.DiskSignal`, or
    None), fitted by ``fit`` and mixed over the original.

    Drivers: ``text`` + ``language`` (espeak-ng, voice suited to the original speaker, or the
    espeak-ng variant ``voice`` such as ``"f2"`` or ``"m3"``); ``audio`` + ``text`` + ``language``
    (voice-over and its transcript, aligned); ``audio`` alone (MuEx). ``fit``: ``segments``
    (default for text), ``stretch``, ``none`` (default for a voice-over). ``background_db``: the original under speech
    (None drops it). See the module docstring for a video without audio.
    """
    from babelface.metrics.dubbing import span_of
    if not duration_s or duration_s <= 0:
        raise InputError(f"the video's duration must be positive, got {duration_s}")
    if duration_s > max_duration + 0.5:
        raise InputError(f"the video is {duration_s:.0f} s long; the limit is {max_duration:.0f} s "
                         "(raise it with --max-duration)")
    check_background_db(background_db)
    driver = _driver(text, audio)
    _check_text(text, language)
    _fit_mode(fit, driver, True)                             # a bad --fit fails before any work
    warnings: list[str] = []
    orig, orig16, segments = _original(original, original_rate, duration_s)
    fit = _fit_mode(fit, driver, bool(segments))
    original_span = span_of(segments)
    targets = _targets(segments, fit, duration_s, orig is None, warnings)
    pairs, voice_name = _new_speech(driver, fit, targets, segments, orig16, text, language,
                                    audio, voice, max_duration, warnings)
    rate = original_rate if orig is not None else OUTPUT_RATE
    channels = orig.shape[1] if orig is not None else OUTPUT_CHANNELS
    n = int(round(duration_s * rate))
    stem = mix.DiskSignal(n)                                                          # (n,)
    parts = []
    for p, reference in pairs:
        p = _cut(p, duration_s, warnings)
        if p is None:
            continue
        if orig is not None and segments:
            p = _match_loudness(p, reference, orig, rate, driver == "text")
        mix.place(stem, p.start, p.audio, p.sample_rate, rate)
        parts.append(p if driver == "audio" else _placed(p))
    out = mix.mix(orig, stem, rate, segments + [(p.start, p.end) for p in parts], background_db,
                  channels)                                                           # (n, C)
    motion, art, phonemes = _motion(driver, parts, stem, rate, duration_s, text, language, model)
    new_span, dur, ic = _measure(driver, fit, parts, stem, out, rate, orig16, original_span)
    _short_warning(fit, new_span, original_span, warnings)
    return DubTrack(out, rate, motion, art, phonemes, driver, new_span, original_span, dur, ic,
                    warnings, fit, voice_name, segments,
                    [(p.start, p.end, p.text, p.wpm, p.stretch) for p in parts], stem)


SHORT_GAP_S = 2.0       # the new speech ending this much (and a quarter of the original's span)
                        # before the original speech: said, since its speaker then sits silent


def _short_warning(fit: str, new_span, original_span, warnings: list[str]) -> None:
    """A warning when speech placed as given (``--fit none``) ends well before the original speech
    does: the rest of the video shows a closed mouth over the ducked original voice."""
    if fit != "none" or new_span is None or original_span is None:
        return
    gap = original_span[1] - new_span[1]
    if gap >= max(SHORT_GAP_S, 0.25 * (original_span[1] - original_span[0])):
        warnings.append(f"the new speech ends at {new_span[1]:.2f} s, the original speech at "
                        f"{original_span[1]:.2f} s: after that the mouth stays closed under the ducked "
                        "original voice (--fit stretch or --fit segments fits the new speech to it)")


def _targets(segments, fit: str, duration_s: float, no_track: bool, warnings: list[str]) -> list:
    """Where the new speech goes: the original segments (``segments``), their span (``stretch``,
    ``none``), or the whole video when there is no original speech (with a warning)."""
    if not segments:
        if fit != "none":
            why = "has no audio track" if no_track else "has no speech the detector can hear"
            warnings.append(f"the video {why}: the new speech is fitted to the whole video")
        return [(0.0, duration_s)]
    return list(segments) if fit == "segments" else [(segments[0][0], segments[-1][1])]


def _placed(p: Part) -> Part:
    """A part whose audio is in the stem: its samples dropped (a zero-stride view of its length
    keeps its duration), its phonemes and timing kept for the motion and the report."""
    return replace(p, audio=np.broadcast_to(np.float32(0), p.audio.shape))


def _new_speech(driver, fit, targets, segments, orig16, text, language, audio, voice, max_duration,
                warnings) -> tuple[Iterator[tuple[Part, tuple]], str | None]:
    """The fitted parts, each with the original span it is loudness-matched to (one at a time for
    text), and the espeak-ng voice."""
    from babelface.dub.voice import Voice, calibrate_pitch, choose_voice
    voice_name = None
    if driver == "text":
        chosen = calibrate_pitch(Voice(voice) if voice else choose_voice(orig16, segments), text, language)
        voice_name = chosen.name(language)
        start = targets[0][0] if fit == "none" and segments else 0.0
        plan = targets if fit != "none" else [(start, float("inf"))]
        parts = _text_parts(text, language, voice_name, chosen.pitch, chosen.pitch_range, fit, plan, warnings)
        pairs = ((p, (p.start, p.end)) for p in parts)
    else:
        parts = _voiceover_parts(audio, fit, targets, max_duration)
        span = (segments[0][0], segments[-1][1]) if segments else (0.0, float("inf"))
        pairs = ((p, span) for p in parts)
    return _stretch_warnings(pairs, warnings), voice_name


def _stretch_warnings(pairs, warnings: list[str]):
    for p, reference in pairs:
        if not 1 / STRETCH_WARNING <= p.stretch <= STRETCH_WARNING:
            warnings.append(f"{p.text[:40] or 'the voice-over'!r} is time-scaled {p.stretch:.2f}×: it "
                            "will sound unnatural (a text or voice-over closer to the original's length "
                            "fits better)")
        yield p, reference


def _motion(driver, parts, stem, rate, duration_s, text, language, model):
    """(motion (T, L, 3), articulation (T, P) or None, phonemes on the video's timeline)."""
    n_frames = n_video_frames(duration_s)
    if driver == "audio":
        return _audio_motion(parts, n_frames, model), None, []
    timed = [_aligned(stem, rate, parts, text, language)] if driver == "transcript" else parts
    phonemes = timeline(timed, duration_s)
    motion, art = _phoneme_motion(phonemes, n_frames)
    if driver == "transcript" and (model is None or str(model) == TranscriptAudioGenerator.name):
        motion = _blended(motion, _audio_motion(timed, n_frames, AUDIO_PARTNER), language)   # (the placed span of the stem)
    return motion, art, phonemes


def _blended(text: DiskRows, heard: DiskRows, language: str) -> DiskRows:
    """``text-audio`` for a voice-over and its transcript (the default; ``--model text``: the
    transcript alone): the transcript's motion blended with the audio partner's, frame by frame
    (:func:`babelface.models.transcript.blend`, the share of ``language``'s aligner),
    :data:`MOTION_BLOCK` frames at a time."""
    from babelface.models.transcript import blend, text_share
    share = text_share(language)
    return DiskRows.of((blend(text[i:i + MOTION_BLOCK], heard[i:i + MOTION_BLOCK], share)
                        for i in range(0, len(text), MOTION_BLOCK)), (N_MOTION, 3))


def _measure(driver, fit, parts, stem, out, rate, orig16, original_span):
    """(new speech span, Dur-Err, Int-Corr) — see :mod:`babelface.metrics.dubbing`."""
    from babelface.metrics.dubbing import dur_err, int_corr_of_blocks, span_of
    new_span = span_of([(p.start, p.end) for p in parts])    # trimmed speech: its exact extent
    if driver != "text" and fit == "none":                     # a voice-over as given: measured
        new_span = _span16(mix.mono16k_disk(stem, rate)) or new_span
    ic = None
    if orig16 is not None:                                     # block by block: bounded memory
        n16 = -(-len(stem) * SAMPLE_RATE // rate)
        ic = int_corr_of_blocks(_slices(orig16, n16), mix.mono16k_blocks(out, rate))
    return new_span, dur_err(new_span, original_span), ic


def _slices(x, n: int, block: int = 30 * SAMPLE_RATE):
    """``x`` (an array or a :class:`DiskSignal`) cut or zero-padded to ``n`` samples, in blocks."""
    return (mix.fit_length(x[i:min(i + block, n)], min(block, n - i)) for i in range(0, n, block))


def _aligned(stem, rate: int, parts: list[Part], text: str, language: str) -> Part:
    """The transcript's phonemes aligned (:func:`babelface.phonetics.phone_align.align_speech`) on
    the fitted voice-over as placed (the stem from the first part's start to the last one's end,
    pauses included: the text path of
    :func:`babelface.models.protocols.speech_motion`), read through views: the voice-over is
    resampled and aligned a block at a time, never held whole (issue 16)."""
    from babelface.media.audio import check_audible
    from babelface.phonetics.phone_align import align_speech
    start, end = min(p.start for p in parts), max(p.end for p in parts)
    audio = mix.Span(stem, int(round(start * rate)), int(round(end * rate)))
    speech = mix.Resampled(audio, rate, SAMPLE_RATE)                        # (n16,) where sliced
    check_audible(speech)
    return Part(start, audio, rate, align_speech(speech, text, language), text)
