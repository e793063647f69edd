"""The text path as a motion generator: speech + its transcript → motion.

``--model text``: the transcript's phonemes are timed on the speech
(:func:`babelface.phonetics.phone_align.align_speech`: English by pocketsphinx's acoustic model
where it is installed, else espeak-ng's phonemes by DTW over MFCCs against their synthesis,
:func:`babelface.phonetics.align.align_transcript`, the aeneas approach); the timed phonemes
give the articulation (:mod:`babelface.motion.articulation`), mapped linearly to motion
(:mod:`babelface.motion.articulatory_model`). No weights; the transcript and its language are required.

``--model text-audio`` (the default with a transcript, issue 11): that motion blended with the
audio-only ``muex-real`` motion of the same speech, a share of the transcript's and the rest of
the audio's, frame by frame (:func:`blend`): :data:`TEXT_SHARE` where the transcript is timed by
the acoustic model (English), :data:`TEXT_SHARE_DTW` where by DTW (:func:`text_share`). The two
err differently on real people — the transcript knows which phoneme is spoken (a closure, a
rounding), the audio how it was said (its energy, its own timing) — and their average follows
real lips better than either: on the real corpus's held-out test speakers the median TMDC at lag
0 is 0.411 against 0.379 (the text path alone, acoustic timing) and 0.385 (``muex-real``; session
42); with DTW timing (session 32) 0.367 against 0.241. Each share was chosen on the validation
speakers (RESULTS.md, "The text path blended with the audio"). ``weights`` of ``text-audio`` are the read-out's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from babelface.constants import SAMPLES_PER_FRAME
from babelface.errors import InputError
from babelface.models.protocols import GeneratedMotion

MOTION_WINDOW = 1500         # frames of motion drawn at once on the streamed text path (a minute)
TEXT_SHARE = 0.5             # text-audio: the transcript's share of the motion where it is timed acoustically
                             # (session 42: 0.4 ties it on TMDC and closes the lips less at /p b m/)
TEXT_SHARE_DTW = 0.3         # … where it is timed by DTW (each chosen on the real val speakers with its aligner)
AUDIO_PARTNER = "muex-real"  # text-audio: the audio-only generator it is blended with


def text_share(language: str | None) -> float:
    """``text-audio``'s share of the transcript for ``language``: :data:`TEXT_SHARE` where the
    transcript is aligned by the acoustic model (English with pocketsphinx installed), else
    :data:`TEXT_SHARE_DTW` (RESULTS.md, "The text path blended with the audio")."""
    from babelface.phonetics.phone_align import available
    return TEXT_SHARE if available(language) else TEXT_SHARE_DTW


def blend(text_motion: np.ndarray, audio_motion: np.ndarray, share: float = TEXT_SHARE) -> np.ndarray:
    """``share`` × the transcript's motion + (1 − ``share``) × the audio's, ``(T, L, 3)`` float32;
    the audio's motion is cut, or padded with the rest pose (zeros), to the transcript's length."""
    from babelface.models.protocols import fit_length
    audio = fit_length(np.asarray(audio_motion, np.float32), len(text_motion))
    return (np.float32(share) * np.asarray(text_motion, np.float32)
            + np.float32(1.0 - share) * audio)


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
        from babelface.phonetics.phone_align import align_speech
        if text is None or not language:
            raise InputError("the text path needs the transcript and its language (--text and --lang)")
        phonemes = align_speech(audio16k, text, language)
        return articulation_from_timeline(phonemes, n_frames), phonemes

    def audio_motion(self, read, n_samples: int) -> Iterator[np.ndarray] | None:
        """The audio-only motion this path blends in (none: the transcript alone)."""
        return None

    def windows(self, art: np.ndarray, audio_chunks: Iterator[np.ndarray] | None = None
                ) -> Iterator[np.ndarray]:
        """The streamed motion of articulation ``art`` ``(T, P)``: :meth:`motion_windows`."""
        return self.motion_windows(art)

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


class TranscriptAudioGenerator(TranscriptGenerator):
    """``text-audio``: the transcript's motion blended with :data:`AUDIO_PARTNER`'s (:func:`blend`).
    ``audio``: that generator, already loaded (``animate`` runs it in a process of its own), else
    loaded on first use from ``weights`` (the read-out's). ``share``: the transcript's share, by
    default :func:`text_share` of the language :meth:`timed` was last given."""

    name = "text-audio"

    def __init__(self, audio=None, weights: str | Path | None = None, share: float | None = None):
        self._audio, self.weights, self._share = audio, weights, share
        self.share = TEXT_SHARE if share is None else share

    def timed(self, audio16k, text: str | None, language: str | None, n_frames: int
              ) -> tuple[np.ndarray, list]:
        if self._share is None:
            self.share = text_share(language)
        return super().timed(audio16k, text, language, n_frames)

    @property
    def audio(self):
        if self._audio is None:
            from babelface.models.protocols import load_generator
            self._audio = load_generator(AUDIO_PARTNER, self.weights)
        return self._audio

    def generate(self, audio16k: np.ndarray, *, text: str | None = None,
                 language: str | None = None) -> GeneratedMotion:
        out = super().generate(audio16k, text=text, language=language)
        heard = self.audio.predict_motion(np.asarray(audio16k, np.float32))          # (T, L, 3)
        return GeneratedMotion(blend(out.motion, heard, self.share), out.articulation, out.phonemes)

    def audio_motion(self, read, n_samples: int) -> Iterator[np.ndarray]:
        """The partner's motion chunks for spooled speech (``read(start, stop)``), the first one
        computed now: a partner in a process of its own computes them all and exits here, before
        the transcript is aligned, so the two are never in memory at once."""
        from itertools import chain
        stream = getattr(self.audio, "stream", None)
        if stream is None:
            chunks: Iterator[np.ndarray] = iter([self.audio.predict_motion(read(0, n_samples))])
        else:
            chunks = stream(read, n_samples)
        first = next(chunks, None)
        return iter(()) if first is None else chain([first], chunks)

    def windows(self, art: np.ndarray, audio_chunks: Iterator[np.ndarray] | None = None
                ) -> Iterator[np.ndarray]:
        """The blended motion of ``art`` ``(T, P)``, chunk by chunk as ``audio_chunks`` come (a
        window of the partner's at a time; the transcript's motion is per frame): they join into
        :func:`blend` of the whole. Frames past the audio's end blend with the rest pose."""
        from babelface.motion.articulatory_model import motion_from_articulation
        pos, n = 0, len(art)
        for chunk in audio_chunks if audio_chunks is not None else ():
            k = min(len(chunk), n - pos)
            if k <= 0:
                break
            yield blend(motion_from_articulation(art[pos:pos + k]), chunk[:k], self.share)
            pos += k
        for a in range(pos, n, MOTION_WINDOW):
            text_motion = motion_from_articulation(art[a:a + MOTION_WINDOW])
            yield blend(text_motion, np.zeros_like(text_motion), self.share)


def generator(weights: str | Path | None = None) -> TranscriptGenerator:
    """The ``text`` entry of :data:`babelface.models.protocols.GENERATORS` (it has no weights)."""
    if weights is not None:
        raise InputError("the text path (--model text) has no weights: leave out --weights")
    return TranscriptGenerator()


def text_audio_generator(weights: str | Path | None = None) -> TranscriptAudioGenerator:
    """The ``text-audio`` entry of :data:`babelface.models.protocols.GENERATORS` (``weights``: the
    ``muex-real`` read-out's)."""
    return TranscriptAudioGenerator(weights=weights)
