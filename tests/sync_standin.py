"""A minimal stand-in for the synthetic benchmark (issue 4), for the sync expert's tests only.

espeak-ng speech with its phoneme timeline, and the project's articulatory model
(:func:`babelface.motion.articulatory_model.timeline_to_motion`: Cohen–Massaro coarticulation,
then the motion bases) for the motion, returned as the benchmark datasets' dicts: ``mel`` (4T, 80)
log-mel, ``motion`` (T, 111, 3), ``audio`` (16 kHz), ``language``. The real corpus, with its
sentences, voices and recorded augmentations, comes from ``babelface bench build``.
"""

from __future__ import annotations

import numpy as np

from babelface.constants import SAMPLE_RATE, SAMPLES_PER_FRAME
from babelface.media.audio import resample
from babelface.media.features import log_mel
from babelface.motion.articulatory_model import timeline_to_motion
from babelface.phonetics.espeak import synthesize
from babelface.phonetics.samples import SAMPLES


def make_clip(language: str, rng: np.random.Generator, n_words: int = 8) -> dict:
    """One stand-in clip: random words of the language's sample text with random pauses (commas,
    full stops), a random rate and pitch."""
    words = list(rng.choice(SAMPLES[language].split(), size=min(n_words, len(SAMPLES[language].split())),
                            replace=False))
    text = words[0] + "".join(rng.choice([" ", " ", " ", ", ", ". "]) + w for w in words[1:])
    syn = synthesize(text, language, rate=int(rng.integers(130, 230)), pitch=int(rng.integers(20, 80)))
    audio = resample(syn.audio, syn.sample_rate, SAMPLE_RATE)
    t = len(audio) // SAMPLES_PER_FRAME
    audio = audio[: t * SAMPLES_PER_FRAME]
    return {"mel": log_mel(audio)[: 4 * t], "motion": timeline_to_motion(syn.phonemes, t),
            "language": language, "audio": audio}
