"""The text path as a motion generator (``--model text``): speech + its transcript → motion.

espeak-ng's phonemes for the transcript are aligned to the speech by DTW over MFCCs
(:func:`babelface.phonetics.align.align_transcript`, the aeneas approach); the timed phonemes give
the articulation (:mod:`babelface.motion.articulation`), mapped linearly to motion
(:mod:`babelface.motion.articulatory_model`). No weights; the transcript and its language are required.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from babelface.constants import SAMPLES_PER_FRAME
from babelface.errors import InputError
from babelface.models.protocols import GeneratedMotion

MOTION_WINDOW = 1500         # frames of motion drawn at once on the streamed text path (a minute)


class TranscriptGenerator:
    """:class:`~babelface.models.protocols.MotionGenerator` of the transcript path."""

    name = "text"
    needs_text = True

    def generate(self, audio16k: np.ndarray, *, text: str | None = None,
                 language: str | None = None) -> GeneratedMotion:
        """Motion ``(ceil(n / 640), L, 3)``, articulation and the timed phonemes of the transcript."""
        from babelface.motion.articulatory_model import motion_from_articulation
        art, phonemes = self.timed(audio16k, text, language, max(1, -(-len(audio16k) // SAMPLES_PER_FRAME)))
        return GeneratedMotion(motion_from_articulation(art), art, phonemes)

    def timed(self, audio16k, text: str | None, language: str | None, n_frames: int
              ) -> tuple[np.ndarray, list]:
        """(articulation ``(n_frames, P)``, the transcript's phonemes timed on the speech):
        ``audio16k`` an array or anything sliced like one (a :class:`babelface.disk.DiskSignal`:
        the speech is then read a block at a time)."""
        from babelface.motion.articulation import articulation_from_timeline
        from babelface.phonetics.align import align_transcript
        if text is None or not language:
            raise InputError("the text path needs the transcript and its language (--text and --lang)")
        phonemes = align_transcript(audio16k, text, language)
        return articulation_from_timeline(phonemes, n_frames), phonemes

    @staticmethod
    def motion_windows(art: np.ndarray, window: int = MOTION_WINDOW) -> Iterator[np.ndarray]:
        """Motion ``(t, L, 3)`` of ``art`` ``(T, P)``, ``window`` frames at a time (the map is per
        frame: the windows join into :func:`motion_from_articulation` of the whole)."""
        from babelface.motion.articulatory_model import motion_from_articulation
        for a in range(0, len(art), window):
            yield motion_from_articulation(art[a:a + window])

    def predict_motion(self, audio16k: np.ndarray, *, text: str | None = None,
                       language: str | None = None) -> np.ndarray:
        return self.generate(audio16k, text=text, language=language).motion


def generator(weights: str | Path | None = None) -> TranscriptGenerator:
    """The ``text`` entry of :data:`babelface.models.protocols.GENERATORS` (it has no weights)."""
    if weights is not None:
        raise InputError("the text path (--model text) has no weights: leave out --weights")
    return TranscriptGenerator()
