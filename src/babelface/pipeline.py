"""Portrait + speech (+ text) → video: the one place where the stages are wired (STYLE.md §6).

    text ─► espeak-ng ─► timed phonemes ─┐                     (say)
    speech + transcript ─► DTW ──────────┤                     (animate --text)
    speech alone ─► MuEx ────────────────┴─► motion ─► renderer ─► mp4   (animate)

Every entry point returns a :class:`Result` (what ``--json`` prints).
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from babelface.concurrency import prefetch
from babelface.constants import (DEFAULT_MAX_PIXELS, FPS, H264_MAX_FRAME_PIXELS, H264_MAX_SIDE,
                                 LONG_RENDER_S, MAX_DURATION_S, SAMPLE_RATE)
from babelface.errors import InputError, LanguageError, SilenceError
from babelface.outputs import check_output_path
from babelface.progress import progress

log = logging.getLogger(__name__)
ESTIMATE_AFTER = 5             # frames timed before a long render's duration is estimated
MIN_MAX_PIXELS = 128 * 128     # --max-pixels below this leaves no face to find


def default_portrait() -> Path:
    """The bundled public-domain portrait (NASA, via scikit-image)."""
    return Path(str(resources.files("babelface.assets").joinpath("astronaut.png")))


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
    with a warning: outputs stay within what H.264 players decode, and work stays proportionate."""
    h, w = img.shape[:2]
    scale = min(1.0, math.sqrt(max_pixels / (h * w)), H264_MAX_SIDE / max(h, w))
    if scale >= 1.0:
        return img
    import cv2
    nw, nh = max(1, int(w * scale)), max(1, int(h * scale))
    warnings.warn(f"{name} is {w}×{h} ({w * h / 1e6:.1f} megapixels); rendering it at {nw}×{nh}, "
                  f"within --max-pixels {max_pixels} (H.264 level 5.1 plays at most "
                  f"{H264_MAX_FRAME_PIXELS} pixels, {H264_MAX_SIDE} px a side)", stacklevel=3)
    return cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)


def _portrait(image: str | Path | np.ndarray | None, max_pixels: int = DEFAULT_MAX_PIXELS):
    """The portrait within ``max_pixels``, its face found and, when rolled, levelled
    (:class:`babelface.render.upright.Upright`)."""
    from babelface.face.landmarks import detect_faces, detect_landmarks, load_image, pick_face
    from babelface.render.upright import MAX_PLAIN_ROLL_DEG, make_upright, roll_degrees
    if image is None:
        image = default_portrait()
    if isinstance(image, np.ndarray):
        img, name = image, "the image"
    else:
        img, name = load_image(image), str(image)
    if img.ndim == 3 and img.shape[2] == 3 and img.size:
        img = _fit_pixels(img, max_pixels, name)
    faces = detect_faces(img)
    if not faces or abs(roll_degrees(faces[0])) <= MAX_PLAIN_ROLL_DEG:
        return make_upright(img, pick_face(faces, source=name), detect_landmarks)
    return make_upright(img, faces[0], lambda up: detect_landmarks(up, source=f"{name} (levelled)"))


def _with_estimate(frames, total: int):
    """Pass ``frames`` through; after the first few, say how long the rest will take when long."""
    start = time.perf_counter()
    for i, frame in enumerate(frames):
        if i == ESTIMATE_AFTER and total > i:
            per = (time.perf_counter() - start) / i
            left = per * (total - i)
            if left > LONG_RENDER_S:
                log.warning("rendering %d frames (%.0f s of video) at %.2f s a frame: about %.0f min "
                            "left", total, total / FPS, per, left / 60)
        yield frame


def _render(portrait, motion: np.ndarray, out: Path, audio: np.ndarray, sample_rate: int,
            articulation: np.ndarray | None = None) -> int:
    from babelface.media import VideoWriter
    from babelface.render.upright import UprightRenderer
    renderer = UprightRenderer(portrait)
    with VideoWriter(out, fps=FPS, audio=audio, sample_rate=sample_rate) as writer:
        frames = prefetch(renderer.render_sequence(motion, articulation=articulation))
        for frame in _with_estimate(progress(frames, total=len(motion), desc="rendering", unit="frame"),
                                    len(motion)):
            writer.write(frame)
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
        rate: int | None = None, pitch: int | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS) -> Result:
    """Speech by espeak-ng, mouth by the phoneme path."""
    portrait_path = default_portrait() if image is None else image
    check_output_path(output, [portrait_path] if not isinstance(image, np.ndarray) else [])
    check_max_pixels(max_pixels)
    speech = speech_from_text(text, language, rate=rate, pitch=pitch)   # fails fast on bad text
    frames = _render(_portrait(image, max_pixels), speech.motion, Path(output), speech.audio, speech.sample_rate,
                     speech.articulation)
    return Result(str(output), frames, FPS, frames / FPS, len(speech.audio) / speech.sample_rate,
                  language, _count(speech.phonemes), "text")


def _count(phonemes) -> int:
    from babelface.phonetics.espeak import PAUSE
    return sum(p.ipa != PAUSE for p in phonemes)


def _load_speech(audio: str | Path, max_duration: float) -> tuple[np.ndarray, np.ndarray, int]:
    """(analysis audio mono 16 kHz, output audio at its own rate and channels, that rate)."""
    from babelface.media import load_audio, probe_audio
    analysis = load_audio(audio, max_duration=max_duration)
    rate = probe_audio(audio).sample_rate
    original = load_audio(audio, sample_rate=None, mono=False, max_duration=max_duration)
    return analysis, original, rate


def speech_from_audio(analysis: np.ndarray, text: str | None = None, language: str | None = None,
                      model: str | Path | None = None) -> tuple[np.ndarray, np.ndarray | None, list]:
    """Motion for real speech (mono 16 kHz): (motion, articulation or None, phonemes).

    With ``text``: espeak-ng phonemes DTW-aligned to the speech; else the audio-only MuEx model."""
    n = n_frames_for(len(analysis), SAMPLE_RATE)
    if text is not None and not language:
        raise InputError("--text needs --lang: the language of the transcript")
    from babelface.media import is_silent
    if is_silent(analysis):
        raise SilenceError("the audio holds only silence (below -60 dBFS): there is no speech to animate")
    if is_silent(analysis - analysis.mean(dtype=np.float64)):
        raise SilenceError("the audio is a constant (DC) level with no sound on it: there is no "
                           "speech to animate")
    if text is not None:
        from babelface.motion.articulation import articulation_from_timeline
        from babelface.motion.articulatory_model import motion_from_articulation
        from babelface.phonetics.align import align_transcript
        phonemes = align_transcript(analysis, text, language)
        art = articulation_from_timeline(phonemes, n)
        return motion_from_articulation(art), art, phonemes
    from babelface.models.muex import load_default, load_model
    muex = load_model(model) if model else load_default()
    motion = muex.predict_motion(analysis)
    if len(motion) < n:
        motion = np.concatenate([motion, np.zeros((n - len(motion),) + motion.shape[1:], motion.dtype)])
    return motion[:n], None, []


def animate(audio: str | Path, output: str | Path, image: str | Path | np.ndarray | None = None,
            text: str | None = None, language: str | None = None,
            max_duration: float = MAX_DURATION_S, model: str | Path | None = None,
            max_pixels: int = DEFAULT_MAX_PIXELS) -> Result:
    """Real speech drives the portrait. With ``text`` (its transcript) and ``language``, espeak-ng's
    phonemes are aligned to the speech by DTW; without, the audio-only MuEx model predicts motion.
    The output carries the user's own audio."""
    inputs = [audio, model] + ([] if isinstance(image, np.ndarray) else [image])
    check_output_path(output, inputs)
    check_max_pixels(max_pixels)
    if not (isinstance(max_duration, (int, float)) and math.isfinite(max_duration) and max_duration > 0):
        raise InputError(f"--max-duration must be a positive number of seconds, got {max_duration!r}")
    analysis, original, rate = _load_speech(audio, max_duration)
    motion, art, phonemes = speech_from_audio(analysis, text, language, model)
    frames = _render(_portrait(image, max_pixels), motion, Path(output), original, rate, art)
    return Result(str(output), frames, FPS, frames / FPS, len(analysis) / SAMPLE_RATE, language,
                  _count(phonemes), "transcript" if text is not None else "audio")
