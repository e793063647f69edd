"""Portrait + speech (+ text) → video: the one place where the stages are wired (STYLE.md §6).

    text ─► espeak-ng ─► timed phonemes ─┐                     (say)
    speech + transcript ─► DTW ──────────┤                     (animate --text: generator "text")
    speech alone ─► MotionGenerator ─────┴─► motion ─► MotionRenderer ─► mp4   (animate --model muex|…)
    video + new speech ─► fitted track ─► tracking ─► per-frame re-render ─► mp4   (dub)

The generator and the renderer are picked by name from the registries of
:mod:`babelface.models.protocols` (``GENERATORS``, ``RENDERERS``; ``--model``, ``--renderer``).
Every entry point returns a :class:`Result` (what ``--json`` prints).

The stages stream, each on its own thread(s), joined by bounded queues (issue 16): the speech is
decoded once into a spool on disk (:mod:`babelface.media.spool`); a generator that streams (MuEx)
runs window by window (:mod:`babelface.models.streaming`) one window ahead of the renderer
(:func:`prefetch`), or, at two cores, in a process of its own that spools every window to disk
and exits before the render starts (:mod:`babelface.models.forked`); the video is cut into
segments (:mod:`babelface.media.segments`), each drawn — mouth, then head — and encoded by its
own single-threaded x264 on one of :func:`babelface.threads.render_workers` threads (with two or
more, in a process forked for the segment: no shared GIL), and joined in order with the audio
interleaved. Memory stays flat in the length of the speech.
:func:`render_frames` is the reusable part: motion chunks in, encoded video out.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from babelface import heap
from babelface.constants import (DEFAULT_MAX_PIXELS, FPS, H264_MAX_FRAME_PIXELS, H264_MAX_SIDE,
                                 LONG_RENDER_S, MAX_DURATION_S, SAMPLE_RATE)
from babelface.errors import InputError, LanguageError, SilenceError
from babelface.models.protocols import DEFAULT_RENDERER, GENERATORS, pick_generator, speech_motion
from babelface.models.protocols import fit_length as _fit_length   # (kept under its old name here)
from babelface.outputs import check_output_path
from babelface.progress import progress

HEAD_BLOCK_FRAMES = 1500         # prosody of long speech is analysed a minute at a time (issue 14)
DEFAULT_QUALITY = "balanced"      # babelface.media.video.QUALITY (not imported here: PyAV loads late)
log = logging.getLogger(__name__)
ESTIMATE_AFTER = 100           # frames timed (from the first) before a long render's duration is estimated,
ESTIMATE_WINDOW_S = 2.0        # or seconds, whichever comes first
MIN_MAX_PIXELS = 128 * 128     # --max-pixels below this leaves no face to find


def default_portrait() -> Path:
    """The bundled public-domain portrait (NASA, via scikit-image)."""
    return Path(str(resources.files("babelface.assets").joinpath("astronaut.png")))


def default_landmarks() -> np.ndarray:
    """MediaPipe's landmarks ``(478, 3)`` pixels of :func:`default_portrait`, detected once and
    shipped (assets/astronaut_landmarks.npy; a test checks them against a fresh detection): `say`
    with the default portrait needs no MediaPipe (0.5 s of CPU to import it, issue 16)."""
    return np.load(str(resources.files("babelface.assets").joinpath("astronaut_landmarks.npy")))


@dataclass
class Result:
    output: str
    frames: int
    fps: int
    duration_s: float          # of the video
    audio_duration_s: float    # of the speech it carries
    language: str | None
    phonemes: int              # timed phonemes that drove the mouth (0 for the audio-only model)
    driver: str                # "text", "transcript" or "audio"
    adaptation: dict | None = None   # --adapt: what the read-out learnt from (dub.adapt.Adaptation)
    transcript: str | None = None    # --transcribe: the words the recogniser heard

    def to_dict(self) -> dict:
        return asdict(self)


def n_frames_for(n_samples: int, sample_rate: int) -> int:
    """Video frames covering ``n_samples`` of audio: ceil(duration × FPS) (video ≥ audio, < 1 frame longer)."""
    return max(1, -(-n_samples * FPS // sample_rate))


def check_max_pixels(max_pixels: int) -> int:
    """``max_pixels`` when a whole number within what a portrait can be worked at."""
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) \
            or not MIN_MAX_PIXELS <= max_pixels <= H264_MAX_FRAME_PIXELS:
        raise InputError(f"--max-pixels must be between {MIN_MAX_PIXELS} and {H264_MAX_FRAME_PIXELS} "
                         "(H.264 level 5.1's largest frame)")
    return max_pixels


def _fit_pixels(img: np.ndarray, max_pixels: int, name: str) -> np.ndarray:
    """``img`` scaled down (area filter) to at most ``max_pixels`` and ``H264_MAX_SIDE`` per side,
    with a warning naming the limit: outputs stay within what H.264 players decode (the work on a
    large face is bounded by render/workbox.py)."""
    h, w = img.shape[:2]
    scale = min(1.0, math.sqrt(max_pixels / (h * w)), H264_MAX_SIDE / max(h, w))
    if scale >= 1.0:
        return img
    import cv2
    nw, nh = max(1, int(w * scale)), max(1, int(h * scale))
    if max_pixels >= H264_MAX_FRAME_PIXELS or scale < math.sqrt(max_pixels / (h * w)):
        limit = f"H.264 level 5.1 plays at most {H264_MAX_FRAME_PIXELS} pixels, {H264_MAX_SIDE} px a side"
    else:
        limit = f"--max-pixels {max_pixels}; up to {H264_MAX_FRAME_PIXELS} keeps more of it"
    warnings.warn(f"{name} is {w}×{h} ({w * h / 1e6:.1f} megapixels); scaling it to {nw}×{nh} "
                  f"({limit})", stacklevel=3)
    return cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)


def _portrait(image: str | Path | np.ndarray | None, max_pixels: int = DEFAULT_MAX_PIXELS):
    """(image within ``max_pixels``, landmarks of its face). A rolled face's landmarks are passed
    on unchecked: :func:`render_frames` levels it and checks the face upright."""
    from babelface.face.landmarks import detect_faces, load_image, pick_face
    from babelface.render.upright import MAX_PLAIN_ROLL_DEG, roll_degrees
    if image is None:
        image = default_portrait()
        img = load_image(image)
        if img.shape[0] * img.shape[1] <= max_pixels:          # as shipped: its landmarks are too
            return img, default_landmarks()
    if isinstance(image, np.ndarray):
        img, name = image, "the image"
    else:
        img, name = load_image(image), str(image)
    if img.ndim == 3 and img.shape[2] == 3 and img.size:
        img = _fit_pixels(img, max_pixels, name)
    faces = detect_faces(img)
    if faces and abs(roll_degrees(faces[0])) > MAX_PLAIN_ROLL_DEG:
        return img, faces[0]
    return img, pick_face(faces, source=name)


def _with_estimate(frames, total: int):
    """Pass ``frames`` through; once the render has settled, say how long the rest will take when long.
    The rate is timed from the first frame, not from the call (the set-up before it — the model's
    first window, the workers' start — is not the rate of the rest), over ``ESTIMATE_AFTER``
    frames or ``ESTIMATE_WINDOW_S`` seconds, whichever comes first."""
    start, estimated = None, False
    for i, frame in enumerate(frames):
        now = time.perf_counter()
        if start is None:
            start = now
        elif not estimated and (i >= ESTIMATE_AFTER or now - start >= ESTIMATE_WINDOW_S) and total > i:
            estimated = True
            per = (now - start) / i
            left = per * (total - i)
            if left > LONG_RENDER_S:
                log.warning("rendering %d frames (%.0f s of video) at %.3f s a frame: about %.0f min "
                            "left", total, total / FPS, per, left / 60)
        yield frame


@dataclass(frozen=True)
class HeadOptions:
    """Issue 14, what moves beyond the mouth (docs/head.md): ``amount`` scales head pose, gaze and
    brows (0 = still … 1 = natural), ``blink`` lets the eyelids blink, ``seed`` draws the motion;
    ``still`` renders the mouth alone, exactly as before."""

    amount: float = 1.0
    blink: bool = True
    seed: int = 0
    still: bool = False


def head_motion(audio: np.ndarray, sample_rate: int, n_frames: int,
                options: HeadOptions) -> np.ndarray | None:
    """Head motion ``(T, C)`` driven by the speech's prosody, or None for a still portrait."""
    if options.still:
        return None
    from babelface.motion.head_model import HeadModel
    from babelface.motion.prosody import analyse
    mono = audio.mean(1) if audio.ndim == 2 else audio
    return HeadModel.load().generate(analyse(mono, n_frames, sample_rate), seed=options.seed,
                                     amount=options.amount, blink=options.blink)


def _head_motion_of(audio: np.ndarray, sample_rate: int, n_frames: int, options: dict) -> np.ndarray | None:
    """:func:`head_motion` with its options as plain values (a :class:`ForkedCall`'s)."""
    return head_motion(audio, sample_rate, n_frames, HeadOptions(**options))


def _import_head_motion() -> None:
    """What :func:`head_motion` imports: Praat (parselmouth), the head model (its filters are
    :mod:`babelface.motion.filters1d`, not SciPy's: issue 16)."""
    import parselmouth  # noqa: F401

    import babelface.motion.head_model  # noqa: F401
    import babelface.motion.prosody  # noqa: F401


@contextmanager
def _head_beside(threads: int, options: HeadOptions) -> Iterator:
    """``moves(audio, sample_rate, n_frames)`` → something whose ``result()`` is :func:`head_motion`.
    At two cores or more, in a process forked now (enter this before starting any thread) that
    imports Praat and the head model while this one makes the speech: ~0.15 s of
    CPU off `say`'s critical path, and ~70 MB it never touches (issue 16: `say` RTF). Else
    computed here when asked for; ``options.still``: None."""
    import os
    if options.still or threads < 2 or not hasattr(os, "fork"):
        yield lambda audio, rate, n: _Later(head_motion, (audio, rate, n, options))
        return
    from babelface.forked_call import ForkedCall
    forked = ForkedCall(_head_motion_of, _import_head_motion)
    try:
        yield lambda audio, rate, n: forked.call(audio, sample_rate=rate, n_frames=n, options=asdict(options))
    finally:
        forked.close()


def head_motion_spooled(speech, n_frames: int, options: HeadOptions) -> np.ndarray | None:
    """:func:`head_motion` for spooled speech of any length: prosody analysed block by block
    (``HEAD_BLOCK_FRAMES`` frames; each block normalised on its own), so hours stay in bounded memory."""
    if options.still:
        return None
    from babelface.constants import SAMPLES_PER_FRAME
    from babelface.motion.head_model import HeadModel
    from babelface.motion.prosody import analyse, concatenate
    blocks = []
    for start in range(0, n_frames, HEAD_BLOCK_FRAMES):
        n = min(HEAD_BLOCK_FRAMES, n_frames - start)
        audio = speech.read(start * SAMPLES_PER_FRAME, (start + n) * SAMPLES_PER_FRAME)
        blocks.append(analyse(audio, n, SAMPLE_RATE))
        heap.trim()     # Praat's analysis of the block is freed: handed back, not kept beside the next
    moves = HeadModel.load().generate(concatenate(blocks), seed=options.seed, amount=options.amount,
                                      blink=options.blink)
    heap.trim()         # (its arrays scale with the length: not kept while MuEx's process runs)
    return moves


def render_frames(image, landmarks, chunks: Iterable[np.ndarray], n_frames: int, out: Path, *,
                  audio=None, sample_rate: int | None = None, articulation: np.ndarray | None = None,
                  threads: int | None = None, quality: str = DEFAULT_QUALITY,
                  head: np.ndarray | None = None, renderer: str = DEFAULT_RENDERER) -> int:
    """Render motion ``chunks`` (``n_frames`` frames in all) onto the portrait with the renderer
    registered as ``renderer`` and encode them with ``audio`` (an array, or
    :class:`~babelface.media.spool.DiskAudio`); returns the frames written. ``head``: head motion
    ``(n_frames, C)`` (issue 14), or None for the mouth alone, or something whose ``result()`` gives
    either (computed beside: asked for once the renderer is set up). The warp renderer levels a rolled
    face (a tilted head, a photo on its side), renders it, and pastes it back; a large face is
    rendered at a sane size in a box around it and pasted back at full size (issue 17)."""
    from babelface.media import VideoWriter
    from babelface.media.segments import encode_segments, plan_segments
    from babelface.models.protocols import make_renderer
    from babelface.render.segments import segment_jobs
    from babelface.render.workbox import work_box
    from babelface.threads import render_workers
    box = work_box(image, landmarks)
    if box is not None:
        image, landmarks = box.image, box.landmarks
    motion_renderer = make_renderer(renderer, image, landmarks)
    if hasattr(head, "result"):       # computed beside: waited for once the renderer is set up
        head = head.result()
    upright = getattr(motion_renderer, "portrait", None)
    stage = None
    if head is not None and upright is not None and upright.matrix is not None:
        warnings.warn(f"the face is tilted by {upright.roll:.0f}°: head motion is off; the mouth "
                      "moves on the levelled face", stacklevel=2)
    elif head is not None:    # issue 14: head, eyelids, irises, brows over the mouth's frames
        from babelface.render.head import HeadRenderer
        stage = HeadRenderer(landmarks, image.shape[:2])
    if box is not None:           # issue 17: each frame of the work box pasted back at full size
        stage = box.stage(stage)
        head = np.zeros((n_frames, 0), np.float32) if head is None else head
    # issue 16: segments drawn and encoded side by side, one per core, joined in order
    with VideoWriter(out, fps=FPS, audio=audio, sample_rate=sample_rate, quality=quality) as writer:
        workers = render_workers(threads)
        plan = plan_segments(n_frames)
        jobs = segment_jobs(motion_renderer, chunks, plan, articulation=articulation,
                            head_stage=stage, head=head, workers=workers)
        # each job holds its motion: segments side by side in processes of their own (one segment:
        # its frames on the budget's threads, in this process)
        ticks = encode_segments(writer, jobs, workers, processes=len(plan) > 1)
        for _ in _with_estimate(progress(ticks, total=n_frames, desc="rendering", unit="frame"), n_frames):
            pass
    return writer.n_frames


@dataclass
class Speech:
    """What drives a render: the audio it carries and the motion it asks for."""

    audio: np.ndarray                  # (n,) or (n, C) float32, at sample_rate
    sample_rate: int
    motion: np.ndarray                 # (T, L, 3) float32, 25 fps
    articulation: np.ndarray | None    # (T, P) when phonemes drove it
    phonemes: list                     # timed phonemes (empty for the audio-only model)


def speech_from_text(text: str, language: str, rate: int | None = None,
                     pitch: int | None = None) -> Speech:
    """espeak-ng speech for ``text`` and the motion of its timed phonemes."""
    from babelface.motion.articulation import articulation_from_timeline
    from babelface.motion.articulatory_model import motion_from_articulation
    from babelface.phonetics.espeak import synthesize
    syn = synthesize(text, language, rate=rate, pitch=pitch)
    if not _count(syn.phonemes):
        raise LanguageError(f"nothing to say: {text[:40]!r} gives no phonemes in {language!r} "
                            "(only punctuation or symbols?)")
    art = articulation_from_timeline(syn.phonemes, n_frames_for(len(syn.audio), syn.sample_rate))
    return Speech(syn.audio, syn.sample_rate, motion_from_articulation(art), art, syn.phonemes)


def say(text: str, language: str, output: str | Path, image: str | Path | np.ndarray | None = None,
        rate: int | None = None, pitch: int | None = None, threads: int | None = None,
        quality: str = DEFAULT_QUALITY, head: HeadOptions = HeadOptions(),
        max_pixels: int = DEFAULT_MAX_PIXELS, renderer: str = DEFAULT_RENDERER) -> Result:
    """Speech by espeak-ng, mouth by the phoneme path, head and eyes by its prosody; frames by the
    renderer registered as ``renderer``."""
    from babelface.threads import job
    portrait_path = default_portrait() if image is None else image
    check_output_path(output, [] if isinstance(image, np.ndarray) else [portrait_path])
    check_max_pixels(max_pixels)
    with job(threads) as threads, _head_beside(threads, head) as head_moves:
        with _background(_portrait, image, max_pixels) as portrait:     # MediaPipe while espeak-ng speaks
            speech = speech_from_text(text, language, rate=rate, pitch=pitch)   # fails fast on bad text
            moves = head_moves(speech.audio, speech.sample_rate, len(speech.motion))
            image, landmarks = portrait.result()
        frames = render_frames(image, landmarks, [speech.motion], len(speech.motion), Path(output),
                               audio=speech.audio, sample_rate=speech.sample_rate,
                               articulation=speech.articulation, threads=threads, quality=quality,
                               head=moves, renderer=renderer)
    return Result(str(output), frames, FPS, frames / FPS, len(speech.audio) / speech.sample_rate,
                  language, _count(speech.phonemes), "text")


def _count(phonemes) -> int:
    from babelface.phonetics.espeak import PAUSE
    return sum(p.ipa != PAUSE for p in phonemes)


def speech_from_audio(analysis: np.ndarray, text: str | None = None, language: str | None = None,
                      model: str | Path | None = None, weights: str | Path | None = None
                      ) -> tuple[np.ndarray, np.ndarray | None, list]:
    """Motion for real speech (mono 16 kHz): (motion, articulation or None, phonemes), by
    :func:`babelface.models.protocols.speech_motion`: with ``text``, the transcript's phonemes aligned
    to the speech; else the audio-only MuEx model (or the one ``model`` names, from ``weights``)."""
    out = speech_motion(analysis, text, language, model, weights)
    return out.motion, out.articulation, out.phonemes


@contextmanager
def _background(fn, *args) -> Iterator[Future]:
    """``fn(*args)`` on a thread of its own while the body runs; its error is raised by
    ``result()``, and leaving the block waits for it."""
    with ThreadPoolExecutor(1, thread_name_prefix="babelface-setup") as pool:
        yield pool.submit(fn, *args)


@contextmanager
def _beside(threads: int) -> Iterator:
    """``beside(fn, *args)`` → something whose ``result()`` is ``fn(*args)``: run on a thread of
    its own beside the body when the thread budget has two cores or more (leaving the block waits
    for it), computed when asked for with one core (issue 16: the budget decides)."""
    if threads < 2:
        yield lambda fn, *args: _Later(fn, args)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="babelface-beside") as pool:
        yield pool.submit


@dataclass
class _Later:
    fn: object
    args: tuple

    def result(self):
        return self.fn(*self.args)


def animate(audio: str | Path, output: str | Path, image: str | Path | np.ndarray | None = None,
            text: str | None = None, language: str | None = None,
            max_duration: float = MAX_DURATION_S, model: str | Path | None = None,
            threads: int | None = None, quality: str = DEFAULT_QUALITY,
            head: HeadOptions = HeadOptions(), style_video: str | Path | None = None,
            max_pixels: int = DEFAULT_MAX_PIXELS, weights: str | Path | None = None,
            renderer: str = DEFAULT_RENDERER, refine: str | None = None, adapt: bool = False,
            transcribe: bool = False) -> Result:
    """Real speech drives the portrait. The motion generator is picked by name (``model``, from
    ``weights`` or its shipped default; :func:`pick_generator`): with ``text`` (its transcript) and
    ``language`` and no ``model``, espeak-ng's phonemes are aligned to the speech by DTW; without,
    the audio-only MuEx model predicts motion, window by window (any length in constant memory; a
    generator that cannot stream runs on the whole utterance). The motion takes the mouth range of
    the person in ``style_video``, else the real corpus's median speaker (motion/style.py); the
    renderer registered as ``renderer`` draws it. ``refine="kmtalk"`` completes the motion again from its
    key motions at the phoneme boundaries (KMTalk's CMC, :func:`refine_motion`; the whole utterance is
    then read at once). ``adapt`` (with ``style_video``): the ``muex-real`` read-out refitted to the
    person in that video, on its own speech and lips (:func:`babelface.dub.adapt.fit_video`).
    ``transcribe``: English speech without its transcript is recognised offline
    (:mod:`babelface.phonetics.recognise`) and drives the text path. The output carries the user's
    own audio."""
    from babelface.media.spool import spool_speech
    from babelface.models.forked import generator_beside
    from babelface.motion.style import MEDIAN_STYLE, apply_style_stream, style_of_video
    from babelface.threads import job
    from babelface.media.audio import CONSTANT_SPEECH, SILENT_SPEECH
    if transcribe:
        from babelface.phonetics.recognise import check_request
        language = check_request(text, language, model, adapt)
    if text is not None and not language:
        raise InputError("--text needs --lang: the language of the transcript")
    if language:
        from babelface.phonetics.espeak import resolve_voice
        resolve_voice(language)             # an unknown language is refused before the audio is read
    check_output_path(output, [audio, weights, style_video] + ([] if isinstance(image, np.ndarray) else [image])
                      + ([] if model is None or str(model) in GENERATORS else [model]))
    check_max_pixels(max_pixels)
    if adapt:
        _check_adapt(style_video, model, weights, text, refine)
        model = "muex-real"
    if not (isinstance(max_duration, (int, float)) and math.isfinite(max_duration) and max_duration > 0):
        raise InputError(f"--max-duration must be a positive number of seconds, got {max_duration!r}")
    choice = pick_generator(model, weights, "" if transcribe else text)
    # text-audio (the default with a transcript): its audio partner is the model loaded beside
    paired = choice[0] == "text-audio" and refine is None
    # the one-off work overlaps: the portrait's landmarks (MediaPipe) on a thread of its own, and
    # the model's load (torch) in a process of its own at two cores (else on a thread: the
    # fork comes first, before the other threads start) while the speech decodes
    with (job(threads) as threads,
          generator_beside(_partner(choice) if paired else choice, threads,
                           streaming=refine is None and not adapt) as loading,
          _background(_portrait, image, max_pixels) as portrait,
          spool_speech(audio, max_duration) as speech,
          _beside(threads) as beside):
        if speech.is_silent():
            raise SilenceError(SILENT_SPEECH)
        if speech.is_constant():
            raise SilenceError(CONSTANT_SPEECH)
        n = n_frames_for(speech.n_samples, SAMPLE_RATE)
        moves = beside(head_motion_spooled, speech, n, head)     # the prosody's: needs no model
        if transcribe:
            from babelface.disk import DiskSignal
            from babelface.phonetics.recognise import transcribe as recognise
            text = recognise(DiskSignal(speech.n_samples, path=speech.analysis_path), language)
        generator = loading.result()
        if paired:
            from babelface.models.transcript import TranscriptAudioGenerator
            generator = TranscriptAudioGenerator(audio=generator)
        adaptation = None
        if adapt:                       # (loaded in this process: its read-out is swapped here)
            from babelface.dub.adapt import fit_video
            generator.readout, adaptation, style = fit_video(generator, style_video)
            for message in adaptation.warnings():
                warnings.warn(message)
        else:
            style = style_of_video(style_video) if style_video is not None else MEDIAN_STYLE
        art, phonemes = None, []
        stream = getattr(generator, "stream", None)
        if stream is not None and not generator.needs_text and refine is None:
            chunks: Iterable[np.ndarray] = stream(speech.reader, speech.n_samples)
        elif refine is None and callable(getattr(generator, "timed", None)):
            # the text path: aligned on the spooled speech, its motion drawn a window at a time
            # (text-audio: blended with its partner's, computed first: see audio_motion)
            from babelface.disk import DiskSignal
            heard = generator.audio_motion(speech.reader, speech.n_samples)
            art, phonemes = generator.timed(DiskSignal(speech.n_samples, path=speech.analysis_path),
                                            text, language, n)
            chunks = generator.windows(art, heard)
        else:
            from babelface.models.protocols import generate
            analysis = speech.read()
            out = generate(generator, analysis, text=text, language=language)
            motion, art, phonemes = _fit_length(out.motion, n), out.articulation, out.phonemes
            if refine is not None:
                motion = refine_motion(refine, motion, analysis, phonemes)
            chunks = [motion]
        chunks = apply_style_stream(chunks, style)
        image, landmarks = portrait.result()
        frames = render_frames(image, landmarks, chunks, n, Path(output), audio=speech.original,
                               sample_rate=speech.sample_rate, articulation=art, threads=threads,
                               quality=quality, head=moves.result(), renderer=renderer)
    return Result(str(output), frames, FPS, frames / FPS, speech.duration_s, language,
                  _count(phonemes), "transcript" if generator.needs_text else "audio",
                  None if adaptation is None else adaptation.to_dict(), text if transcribe else None)


def _partner(choice: tuple) -> tuple:
    """(name, weights) of the audio-only generator ``text-audio`` blends in (its weights: the read-out's)."""
    from babelface.models.transcript import AUDIO_PARTNER
    return AUDIO_PARTNER, choice[1]


def _check_adapt(style_video, model, weights, text, refine) -> None:
    """``animate --adapt`` refits the ``muex-real`` read-out on ``--style-video``: anything else is
    refused before the speech is read."""
    if style_video is None:
        raise InputError("--adapt learns the person's articulation from a video of them: give it "
                         "with --style-video VIDEO")
    if (model is not None and str(model) != "muex-real") or weights is not None:
        raise InputError(f"--adapt refits the muex-real read-out; it cannot adapt --model {model or weights}")
    if text is not None or refine is not None:
        raise InputError("--adapt drives the portrait by the audio-only muex-real read-out: drop "
                         + ("--text" if text is not None else "--refine"))


def refine_motion(name: str, motion: np.ndarray, analysis: np.ndarray, phonemes: list) -> np.ndarray:
    """``--refine NAME``: another generator's motion ``(T, L, 3)`` completed again from its key motions
    (KMTalk supplement §A); key frames at the timeline's phoneme boundaries when there is one, else
    where the refiner detects them in the audio."""
    from babelface.models.protocols import load_generator
    refiner = load_generator(name)
    if not callable(getattr(refiner, "refine", None)):
        raise InputError(f"the motion model {name!r} cannot refine another model's motion: use kmtalk")
    return refiner.refine(motion, analysis, timeline=phonemes or None)


def dub(video: str | Path, output: str | Path, text: str | None = None, language: str | None = None,
        audio: str | Path | None = None, fit: str | None = None, background_db: float | None = -24.0,
        face: int | None = None, max_duration: float = MAX_DURATION_S, crf: int | None = None,
        model: str | Path | None = None, interior: str = "video", check_sync: bool = True,
        threads: int | None = None, quality: str = DEFAULT_QUALITY, adapt: bool = False,
        transcribe: bool = False):
    """A real video made to speak new speech: ``text`` + ``language`` (espeak-ng), ``audio`` +
    ``text`` + ``language`` (a voice-over and its transcript) or ``audio`` alone (MuEx). Returns a
    :class:`babelface.dub.run.DubResult`; the work is done in :mod:`babelface.dub`. ``threads``:
    the thread budget; ``quality``: the x264 preset (the CRF follows the source unless ``crf``);
    ``adapt``: with ``audio`` alone, learn the speaker's articulation from the video's own speech
    and lips (:mod:`babelface.dub.adapt`); ``transcribe``: an English voice-over recognised offline and
    dubbed as with its transcript."""
    from babelface.dub.run import dub as _dub
    check_output_path(output, [video, audio, model])       # issue 17: never over an input
    return _dub(video, output, text=text, language=language, audio=audio, fit=fit,
                background_db=background_db, face=face, max_duration=max_duration, crf=crf,
                model=model, interior=interior, check_sync=check_sync, threads=threads,
                quality=quality, adapt=adapt, transcribe=transcribe)
