"""Prosody at the video rate: what drives the head, the eyelids and the brows (issue 14).

From mono 16 kHz speech, one value per 25 fps frame:

* ``f0``: fundamental frequency in semitones above the clip's voiced median (0 where unvoiced), by
  Praat's autocorrelation pitch tracker (Boersma 1993, through praat-parselmouth);
* ``energy``: frame RMS in dB below the clip's loud level (its 95th percentile);
* ``speech``: voice activity: voiced, or loud enough (``SPEECH_DB`` below the loud level and
  ``NOISE_MARGIN_DB`` above the noise floor), gaps shorter than a pause filled;
* ``pause``: silences of at least ``MIN_PAUSE_S``; ``boundary``: the last frame of speech before
  each pause (a phrase end);
* ``accent``: pitch accents: peaks of the smoothed F0 that rise at least ``ACCENT_MIN_ST`` above
  the voiced F0 of the surrounding second, valued by that rise (semitones, capped).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from babelface.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from babelface.motion.head import runs

F0_FLOOR_HZ = 70.0
F0_CEILING_HZ = 500.0
PITCH_STEP_S = 0.01
LOUD_QUANTILE = 95             # the clip's "loud" level: this percentile of frame RMS
SPEECH_DB = -30.0              # frames within this of the loud level count as speech, and
NOISE_MARGIN_DB = 10.0         # ... at least this far above the noise floor (5th percentile)
MIN_PAUSE_S = 0.2              # shorter silences are part of the phrase (stop closures, breaths)
ACCENT_MIN_ST = 1.0            # a pitch accent rises this far above the surrounding F0
ACCENT_CONTEXT_S = 0.5         # ... the voiced F0 within ± this
ACCENT_MIN_GAP_S = 0.2         # accents closer than this: the stronger one
ACCENT_CAP_ST = 6.0


@dataclass(frozen=True)
class Prosody:
    """Per-frame prosody, each ``(T,)`` at 25 fps (see the module docstring)."""

    f0: np.ndarray
    energy: np.ndarray
    speech: np.ndarray
    pause: np.ndarray
    boundary: np.ndarray
    accent: np.ndarray

    def __len__(self) -> int:
        return len(self.f0)


def pitch_track(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """F0 in Hz ``(n,)`` every ``PITCH_STEP_S`` (0 = unvoiced), frame k centred at ``k * step``."""
    n = int(np.ceil(len(audio) / sample_rate / PITCH_STEP_S))
    f0 = np.zeros(n)
    if len(audio) * F0_FLOOR_HZ <= 3 * sample_rate:     # Praat needs three periods of the floor
        return f0                                         # (fuzz seed 383: 62 samples, 4 ms): unvoiced
    import parselmouth
    snd = parselmouth.Sound(np.asarray(audio, np.float64), sampling_frequency=sample_rate)
    pitch = snd.to_pitch(time_step=PITCH_STEP_S, pitch_floor=F0_FLOOR_HZ, pitch_ceiling=F0_CEILING_HZ)
    if pitch.n_frames:
        k = np.round(pitch.xs() / PITCH_STEP_S).astype(int)                  # frame centres → slots
        keep = (k >= 0) & (k < n)
        f0[k[keep]] = pitch.selected_array["frequency"][keep]
    return f0


def _fill_short(mask: np.ndarray, min_len: int, value: bool) -> np.ndarray:
    """Runs of ``not value`` shorter than ``min_len`` inside ``mask`` become ``value``."""
    out = mask.copy()
    for s, e in runs(mask != value):
        if e - s < min_len and s > 0 and e < len(mask):
            out[s:e] = value
    return out


def analyse(audio: np.ndarray, n_frames: int, sample_rate: int = SAMPLE_RATE) -> Prosody:
    """:class:`Prosody` of mono speech ``(n,)`` for ``n_frames`` video frames."""
    from babelface.media.audio import rms_envelope
    from babelface.motion.filters1d import gaussian_filter1d, maximum_filter1d
    audio = np.asarray(audio, np.float32)
    if sample_rate != SAMPLE_RATE:
        from babelface.media.audio import resample
        audio = resample(audio, sample_rate, SAMPLE_RATE)
    rms = _fit(rms_envelope(audio, SAMPLES_PER_FRAME), n_frames)
    db = 20 * np.log10(np.maximum(rms, 1e-5))
    energy = np.maximum(db - np.percentile(db, LOUD_QUANTILE), -60.0)
    hz = pitch_track(audio)
    per = int(round(1 / (FPS * PITCH_STEP_S)))                                # 4 pitch frames / frame
    hz = _fit(hz, n_frames * per).reshape(n_frames, per)
    voiced = (hz > 0).mean(1) >= 0.5
    f0 = np.zeros(n_frames)
    if voiced.any():
        v = hz[voiced]
        st = 12 * np.log2(v.sum(1) / (v > 0).sum(1))                           # mean of voiced slots
        f0[voiced] = st - np.median(st)
    min_pause = int(round(MIN_PAUSE_S * FPS))
    threshold = max(SPEECH_DB, np.percentile(energy, 5) + NOISE_MARGIN_DB)
    speech = _fill_short((energy > threshold) | voiced, min_pause, True)
    pause = ~speech
    boundary = np.zeros(n_frames, bool)
    for s, e in runs(pause):
        if s > 0:
            boundary[s - 1] = True
    # pitch accents: local F0 peaks above the voiced context
    smooth = np.where(voiced, gaussian_filter1d(f0, 1.5), np.nan)
    ctx = int(round(ACCENT_CONTEXT_S * FPS))
    accent = np.zeros(n_frames)
    for t in np.flatnonzero(voiced):
        lo, hi = max(t - ctx, 0), min(t + ctx + 1, n_frames)
        window = smooth[lo:hi]
        rise = smooth[t] - np.nanmedian(window)
        if rise >= ACCENT_MIN_ST and smooth[t] >= np.nanmax(smooth[max(t - 2, 0):t + 3]):
            accent[t] = min(rise, ACCENT_CAP_ST)
    gap = int(round(ACCENT_MIN_GAP_S * FPS))
    accent[accent < maximum_filter1d(accent, 2 * gap + 1)] = 0
    return Prosody(f0.astype(np.float32), energy.astype(np.float32), speech, pause, boundary,
                   accent.astype(np.float32))


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` cut or edge-padded to length ``n``."""
    x = np.asarray(x)[:n]
    return np.pad(x, (0, n - len(x)), mode="edge") if 0 < len(x) < n else (x if len(x) else np.zeros(n))


def concatenate(parts: list[Prosody]) -> Prosody:
    """Prosody of consecutive pieces of one speech, end to end."""
    return Prosody(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                     ("f0", "energy", "speech", "pause", "boundary", "accent")))
