"""An espeak-ng voice that suits the original speaker: register, pitch and pitch range.

The original speech's F0 (Praat's autocorrelation pitch through praat-parselmouth, voiced frames
inside the speech segments) gives the speaker's median pitch and spread. The register is the
espeak-ng variant ``LOW`` (``m3``, ≈ 100 Hz at the default pitch) below a median of 142 Hz (the
geometric middle of ``m3`` and ``f3``), else ``HIGH`` (``f2``, ≈ 188 Hz, which reaches down to
≈ 140 Hz, where ``f3`` stops at ≈ 160 Hz); the ``pitch`` parameter then moves the voice to the
speaker's median (calibrated on the text itself: two syntheses, measured and corrected) and
``pitch_range`` scales its intonation to the speaker's spread (10th–90th percentile, in semitones).
Pitch is a guess at register, not at identity: a low female or a high male voice can land in the
other register; ``voice=`` overrides it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from babelface.constants import SAMPLE_RATE

LOW, HIGH = "m3", "f2"              # espeak-ng variants (voices/!v): ≈ 100 and 188 Hz at pitch 50
BOUNDARY_HZ = 142.0                 # speakers above this median F0 get the higher register
PITCH_UNITS_PER_OCTAVE = 74.0       # espeak-ng pitch 20 → 80 spans ≈ 0.8 octave (measured)
DEFAULT_PITCH, DEFAULT_RANGE = 50, 50
ESPEAK_SPREAD_ST = 5.7              # espeak-ng's 10–90 % F0 spread at range 50, in semitones
MIN_VOICED_FRAMES = 20              # fewer voiced frames: the original says nothing about pitch
PITCH_SAMPLE_S = 30.0               # the speaker's pitch is read from this much of their speech
CALIBRATION_CHARS = 120             # espeak-ng's own pitch is measured on this much of the text
CALIBRATION_STEPS = 2               # measure, correct, measure, correct (the scale bends near 0)


@dataclass(frozen=True)
class Voice:
    variant: str | None            # espeak-ng variant, None = the language's own voice
    pitch: int | None = None       # espeak-ng 0–100
    pitch_range: int | None = None
    f0_median: float | None = None  # Hz, of the original speaker

    def name(self, language: str) -> str:
        base = language.split("+")[0]
        return f"{base}+{self.variant}" if self.variant else language


def f0_track(audio16k: np.ndarray, segments) -> np.ndarray:
    """Voiced F0 values (Hz) of the original inside its speech ``segments`` (the first
    ``PITCH_SAMPLE_S`` seconds of speech: Praat's pitch analysis costs ≈ 20 ms per second)."""
    import parselmouth
    from babelface.dub.timing import PITCH_CEILING, PITCH_FLOOR
    total, upto = 0.0, segments[-1][1]
    for a, b in segments:
        total += b - a
        if total >= PITCH_SAMPLE_S:
            upto = b
            break
    audio16k = audio16k[:int(upto * SAMPLE_RATE)]
    pitch = parselmouth.Sound(np.asarray(audio16k, np.float64), SAMPLE_RATE).to_pitch(
        0.01, PITCH_FLOOR, PITCH_CEILING)
    f0 = pitch.selected_array["frequency"]
    t = pitch.xs()
    inside = np.zeros(len(t), bool)
    for a, b in segments:
        inside |= (t >= a) & (t < b)
    return f0[inside & (f0 > 0)]


def median_f0(audio: np.ndarray, sample_rate: int) -> float | None:
    """Median F0 (Hz) of a mono signal's voiced frames, None when almost nothing is voiced."""
    import parselmouth
    from babelface.dub.timing import PITCH_CEILING, PITCH_FLOOR
    f0 = parselmouth.Sound(np.asarray(audio, np.float64), sample_rate).to_pitch(
        0.01, PITCH_FLOOR, PITCH_CEILING).selected_array["frequency"]
    f0 = f0[f0 > 0]
    return float(np.median(f0)) if len(f0) >= MIN_VOICED_FRAMES else None


def choose_voice(audio16k: np.ndarray | None, segments) -> Voice:
    """Register and intonation range for the speaker of ``audio16k`` (None → espeak's defaults)."""
    if audio16k is None or not segments:
        return Voice(None)
    f0 = f0_track(audio16k, segments)
    if len(f0) < MIN_VOICED_FRAMES:
        return Voice(None)
    med = float(np.median(f0))
    variant = HIGH if med > BOUNDARY_HZ else LOW
    lo, hi = np.percentile(f0, [10, 90])
    spread = 12.0 * np.log2(hi / lo)
    rng = int(np.clip(round(DEFAULT_RANGE * spread / ESPEAK_SPREAD_ST), 10, 100))
    return Voice(variant, None, rng, med)


def calibrate_pitch(voice: Voice, text: str, language: str) -> Voice:
    """Set ``pitch`` so espeak-ng speaks ``text`` at the speaker's median F0 (two measure-and-correct
    steps on the first clauses of ``text``)."""
    if voice.f0_median is None:
        return voice
    from babelface.dub.timing import split_clauses
    from babelface.phonetics.espeak import synthesize
    sample = ""
    for clause in split_clauses(text) or [text]:
        sample = f"{sample} {clause}".strip()
        if len(sample) >= CALIBRATION_CHARS:
            break
    pitch = float(DEFAULT_PITCH)
    for _ in range(CALIBRATION_STEPS):
        syn = synthesize(sample, voice.name(language), pitch=int(round(pitch)), pitch_range=voice.pitch_range)
        own = median_f0(syn.audio, syn.sample_rate)
        if own is None:
            break
        pitch = float(np.clip(pitch + PITCH_UNITS_PER_OCTAVE * np.log2(voice.f0_median / own), 0, 100))
    return Voice(voice.variant, int(round(pitch)), voice.pitch_range, voice.f0_median)
