"""The seams between the pipeline and the learned models (issue 12, part 1).

A *motion generator* turns speech into mouth motion; a *motion renderer* turns motion into frames.
``pipeline.py`` picks both by name (``--model muex|muex-real|vqtalker|kmtalk|text|text-audio``, ``--renderer warp``)
through the registries below, so a new model is a model file, a config, a test and one line here.

The registries name ``"module:attribute"`` factories, imported only when that name is asked for:
``babelface say`` must not pay for torch, and ``--help`` lists every name without importing any.

Optional members a pipeline uses when present: a generator's ``generate(audio16k, *, text,
language) -> GeneratedMotion`` (articulation, timed phonemes) and ``stream(read, n_samples)``
(motion chunks for speech of any length read a window at a time by ``read(start, stop)``, in
constant memory: MuEx's windowed streaming; a generator without it runs on the whole utterance);
a renderer's ``portrait`` (:class:`babelface.render.upright.Upright`: when its ``matrix`` is set,
the face was levelled and head motion is off).

Motion is canonical face-aligned landmark offsets from the rest pose, ``(T, L, 3)`` float32 at
25 fps (``babelface.constants.FPS``), ``L = babelface.face.indices.N_MOTION``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, Iterator, Protocol, runtime_checkable

import numpy as np

from babelface.constants import SAMPLES_PER_FRAME
from babelface.errors import InputError


@dataclass
class GeneratedMotion:
    """What a generator returns: the motion, and what it knows about how it was made."""

    motion: np.ndarray                         # (T, L, 3) float32, 25 fps
    articulation: np.ndarray | None = None     # (T, P) articulatory parameters, when phonemes drove it
    phonemes: list = field(default_factory=list)   # timed phonemes (empty for audio-only models)


@runtime_checkable
class MotionGenerator(Protocol):
    """Speech → motion. ``predict_motion`` is the whole contract; ``generate`` adds the optional
    articulation and phoneme timeline (see :func:`generate`)."""

    name: str
    needs_text: bool          # True: the transcript and language are required (the text path)

    def predict_motion(self, audio16k: np.ndarray, *, text: str | None = None,
                       language: str | None = None) -> np.ndarray:
        """Mono 16 kHz speech ``(n,)`` → motion ``(ceil(n / 640), L, 3)`` float32."""
        ...


@runtime_checkable
class MotionRenderer(Protocol):
    """Motion → frames, one at a time (a generator: a long video is never held in memory)."""

    name: str

    def render_sequence(self, motion: np.ndarray, articulation: np.ndarray | None = None,
                        workers: int = 1) -> Iterator[np.ndarray]:
        """Frames ``(H, W, 3)`` uint8 for motion ``(T, L, 3)``."""
        ...


def check_speech(audio16k: np.ndarray) -> tuple[np.ndarray, int]:
    """The ``predict_motion`` input check every generator shares: mono finite 16 kHz speech →
    (float32 samples, ``T = ceil(n / 640)`` frames); one-line :class:`InputError` otherwise."""
    from babelface.constants import SAMPLES_PER_FRAME
    audio = np.asarray(audio16k, dtype=np.float32)
    if audio.ndim != 1 or len(audio) == 0:
        raise InputError(f"predict_motion needs mono 16 kHz audio (n,), got shape {audio.shape}")
    if not np.isfinite(audio).all():
        raise InputError("the audio holds NaN or infinite samples: decode it again")
    return audio, -(-len(audio) // SAMPLES_PER_FRAME)


def generate(generator: MotionGenerator, audio16k: np.ndarray, text: str | None = None,
             language: str | None = None) -> GeneratedMotion:
    """:class:`GeneratedMotion` from any generator: its own ``generate`` when it has one."""
    own = getattr(generator, "generate", None)
    if own is not None:
        return own(audio16k, text=text, language=language)
    return GeneratedMotion(generator.predict_motion(audio16k, text=text, language=language))


# name → "module:factory"; factory(weights: str | Path | None = None) → MotionGenerator
GENERATORS: dict[str, str] = {
    "muex": "babelface.models.muex:generator",
    "muex-real": "babelface.models.real_readout:generator",
    "text": "babelface.models.transcript:generator",
    "text-audio": "babelface.models.transcript:text_audio_generator",
    "kmtalk": "babelface.models.kmtalk:load_generator",
    "vqtalker": "babelface.models.vqtalker:generator",
}
# name → "module:factory"; factory(image (H, W, 3) uint8, landmarks, **options) → MotionRenderer
RENDERERS: dict[str, str] = {
    "warp": "babelface.render.upright:warp_renderer",
}
DEFAULT_GENERATOR = "muex"             # speech alone
TEXT_GENERATOR = "text-audio"          # speech + transcript (animate --text without --model)
DEFAULT_RENDERER = "warp"


def _factory(table: dict[str, str], kind: str, name: str):
    if name not in table:
        known = ", ".join(sorted(table)) or "none"
        raise InputError(f"unknown {kind} {name!r}: choose one of {known}")
    module, attr = table[name].split(":")
    return getattr(import_module(module), attr)


def load_generator(name: str, weights: str | Path | None = None) -> MotionGenerator:
    """The generator registered as ``name``, from ``weights`` or its shipped default; torch, when it
    brought it, pinned to one thread inside a job (:func:`babelface.threads.pin_torch`)."""
    import sys

    from babelface.threads import pin_torch
    generator = _factory(GENERATORS, "motion model", name)(weights)
    if "torch" in sys.modules:
        pin_torch()
    return generator


def pick_generator(model: str | Path | None, weights: str | Path | None = None,
                   text: str | None = None) -> tuple[str, str | Path | None]:
    """(registered generator name, weights) for ``--model``, ``--weights`` and a transcript.

    No ``model``: the text path with a transcript, MuEx without. ``model`` that is not a registered
    name but a weights file (the old ``--model PATH``) is read as MuEx weights, with a warning."""
    if model is not None and str(model) not in GENERATORS:
        if not (Path(model).suffix == ".safetensors" or Path(model).exists()):
            raise InputError(f"unknown motion model {str(model)!r}: choose one of "
                             f"{', '.join(sorted(GENERATORS))} (weights go to --weights)")
        if weights is not None:
            raise InputError("--model names a weights file and --weights is given too: use --model NAME --weights PATH")
        warnings.warn(f"--model {model}: a weights path given to --model is read as MuEx weights; "
                      f"write --model muex --weights {model} (--model PATH will go)", FutureWarning, stacklevel=3)
        return (TEXT_GENERATOR, None) if text is not None else (DEFAULT_GENERATOR, model)
    if model is None:
        return (TEXT_GENERATOR if text is not None else DEFAULT_GENERATOR), weights
    return str(model), weights


def fit_length(motion: np.ndarray, n: int) -> np.ndarray:
    """``motion`` ``(T, ...)`` cut, or padded with the rest pose (zeros), to ``n`` frames."""
    if len(motion) < n:
        motion = np.concatenate([motion, np.zeros((n - len(motion),) + motion.shape[1:], motion.dtype)])
    return motion[:n]


def speech_motion(audio16k: np.ndarray, text: str | None = None, language: str | None = None,
                  model: str | Path | None = None, weights: str | Path | None = None,
                  generator: MotionGenerator | None = None) -> GeneratedMotion:
    """Motion for mono 16 kHz speech by the generator :func:`pick_generator` names (or
    ``generator``, already loaded: one load for many calls), exactly ``ceil(n / 640)`` frames
    (:func:`babelface.media.audio.check_audible` first)."""
    from babelface.media.audio import check_audible
    if text is not None and not language:
        raise InputError("--text needs --lang: the language of the transcript")
    check_audible(audio16k)
    generator = generator or load_generator(*pick_generator(model, weights, text))
    out = generate(generator, audio16k, text=text, language=language)
    out.motion = fit_length(out.motion, max(1, -(-len(audio16k) // SAMPLES_PER_FRAME)))
    return out


def make_renderer(name: str, image: np.ndarray, landmarks: np.ndarray, **options: Any) -> MotionRenderer:
    """The renderer registered as ``name`` for this portrait."""
    return _factory(RENDERERS, "renderer", name)(image, landmarks, **options)
