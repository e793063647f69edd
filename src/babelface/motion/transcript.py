"""The text path as a motion generator (``--model text``): speech + its transcript → motion.

espeak-ng's phonemes for the transcript are aligned to the speech by DTW over MFCCs
(:func:`babelface.phonetics.align.align_transcript`, the aeneas approach); the timed phonemes give
the articulation (:mod:`babelface.motion.articulation`), mapped linearly to motion
(:mod:`babelface.motion.articulatory_model`). No weights; the transcript and its language are required.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from babelface.constants import SAMPLES_PER_FRAME
from babelface.errors import InputError
from babelface.models.protocols import GeneratedMotion


class TranscriptGenerator:
    """:class:`~babelface.models.protocols.MotionGenerator` of the transcript path."""

    name = "text"
    needs_text = True

    def generate(self, audio16k: np.ndarray, *, text: str | None = None,
                 language: str | None = None) -> GeneratedMotion:
        """Motion ``(ceil(n / 640), L, 3)``, articulation and the timed phonemes of the transcript."""
        from babelface.motion.articulation import articulation_from_timeline
        from babelface.motion.articulatory_model import motion_from_articulation
        from babelface.phonetics.align import align_transcript
        if text is None or not language:
            raise InputError("the text path needs the transcript and its language (--text and --lang)")
        phonemes = align_transcript(audio16k, text, language)
        art = articulation_from_timeline(phonemes, max(1, -(-len(audio16k) // SAMPLES_PER_FRAME)))
        return GeneratedMotion(motion_from_articulation(art), art, phonemes)

    def predict_motion(self, audio16k: np.ndarray, *, text: str | None = None,
                       language: str | None = None) -> np.ndarray:
        return self.generate(audio16k, text=text, language=language).motion


def generator(weights: str | Path | None = None) -> TranscriptGenerator:
    """The ``text`` entry of :data:`babelface.models.protocols.GENERATORS` (it has no weights)."""
    if weights is not None:
        raise InputError("the text path (--model text) has no weights: leave out --weights")
    return TranscriptGenerator()
