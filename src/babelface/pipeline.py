"""Portrait + speech (+ text) → video: the one place where the stages are wired (STYLE.md §6).

    text ─► espeak-ng ─► timed phonemes ─┐                     (say)
    speech + transcript ─► DTW ──────────┤                     (animate --text)
    speech alone ─► MuEx ────────────────┴─► motion ─► renderer ─► mp4   (animate)
    video + new speech ─► fitted track ─► tracking ─► per-frame re-render ─► mp4   (dub)

Every entry point returns a :class:`Result` (what ``--json`` prints).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from babelface.concurrency import prefetch
from babelface.constants import FPS, MAX_DURATION_S, SAMPLE_RATE
from babelface.errors import InputError, SilenceError
from babelface.progress import progress



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


def _portrait(image: str | Path | np.ndarray | None):
    from babelface.face.landmarks import detect_landmarks, load_image
    if image is None:
        image = default_portrait()
    if isinstance(image, np.ndarray):
        img, name = image, "the image"
    else:
        img, name = load_image(image), str(image)
    return img, detect_landmarks(img, source=name)


def _render(image, landmarks, motion: np.ndarray, out: Path, audio: np.ndarray, sample_rate: int,
            articulation: np.ndarray | None = None) -> int:
    from babelface.media import VideoWriter
    from babelface.render import Renderer
    renderer = Renderer(image, landmarks)
    with VideoWriter(out, fps=FPS, audio=audio, sample_rate=sample_rate) as writer:
        frames = prefetch(renderer.render_sequence(motion, articulation=articulation))
        for frame in progress(frames, total=len(motion), desc="rendering", unit="frame"):
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
    art = articulation_from_timeline(syn.phonemes, n_frames_for(len(syn.audio), syn.sample_rate))
    return Speech(syn.audio, syn.sample_rate, motion_from_articulation(art), art, syn.phonemes)


def say(text: str, language: str, output: str | Path, image: str | Path | np.ndarray | None = None,
        rate: int | None = None, pitch: int | None = None) -> Result:
    """Speech by espeak-ng, mouth by the phoneme path."""
    speech = speech_from_text(text, language, rate=rate, pitch=pitch)   # fails fast on bad text
    image, landmarks = _portrait(image)
    frames = _render(image, landmarks, speech.motion, Path(output), speech.audio, speech.sample_rate,
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
            max_duration: float = MAX_DURATION_S, model: str | Path | None = None) -> Result:
    """Real speech drives the portrait. With ``text`` (its transcript) and ``language``, espeak-ng's
    phonemes are aligned to the speech by DTW; without, the audio-only MuEx model predicts motion.
    The output carries the user's own audio."""
    analysis, original, rate = _load_speech(audio, max_duration)
    motion, art, phonemes = speech_from_audio(analysis, text, language, model)
    image, landmarks = _portrait(image)
    frames = _render(image, landmarks, motion, Path(output), original, rate, art)
    return Result(str(output), frames, FPS, frames / FPS, len(analysis) / SAMPLE_RATE, language,
                  _count(phonemes), "transcript" if text is not None else "audio")


def dub(video: str | Path, output: str | Path, text: str | None = None, language: str | None = None,
        audio: str | Path | None = None, fit: str | None = None, background_db: float | None = -24.0,
        face: int | None = None, max_duration: float = MAX_DURATION_S, crf: int | None = None,
        model: str | Path | None = None, interior: str = "video", check_sync: bool = True):
    """A real video made to speak new speech: ``text`` + ``language`` (espeak-ng), ``audio`` +
    ``text`` + ``language`` (a voice-over and its transcript) or ``audio`` alone (MuEx). Returns a
    :class:`babelface.dub.run.DubResult`; the work is done in :mod:`babelface.dub`."""
    from babelface.dub.run import dub as _dub
    return _dub(video, output, text=text, language=language, audio=audio, fit=fit,
                background_db=background_db, face=face, max_duration=max_duration, crf=crf,
                model=model, interior=interior, check_sync=check_sync)
