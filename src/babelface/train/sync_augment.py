"""Augmentations that carry the sync expert from synthetic voices and clean motion to real video.

The synthetic benchmark's voices (espeak-ng) and motion (an articulation model) differ a lot from
real speech and MediaPipe landmarks, so every training crop is disturbed on both sides, with
effects drawn independently per crop (rates in :class:`AugmentConfig`):

audio (in the log-mel domain, so that they apply to any dataset's stored features):
  additive coloured noise at a random SNR, reverberation (an exponential power-decay tail per band),
  a random smooth equaliser, a vocal-tract-length warp of the mel axis, a random low-pass,
  SpecAugment time and frequency masks;
motion (canonical frame, IOD units):
  per-axis and per-region gains, a small rotation of the displacements, a slowly varying rigid
  rotation and scale of the whole face (alignment residue), slow drift, per-frame landmark jitter
  (larger in depth), temporal smoothing, duplicated and missing frames, mouth openings during
  silences (breathing), preparatory and carry-over gestures at phrase edges, and an unrelated
  clip's motion mixed in at a low gain (audio-independent "ambient" motion, SyncLipMAE's z^amb);
both (jointly, so they stay aligned): a tempo change.

All functions take and return NumPy arrays: ``mel (4T, F)`` natural-log power, ``motion (T, P, 3)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from babelface.constants import HOP_LENGTH, MEL_FRAMES_PER_VIDEO_FRAME, SAMPLE_RATE
from babelface.face.indices import CHIN, JAW, LIPS, motion_slot
from babelface.face.align import template
from babelface.face.indices import MOTION_INDICES
from babelface.media.features import LOG_FLOOR, speech_frames

MEL_RATE = SAMPLE_RATE / HOP_LENGTH     # 100 mel frames per second
_LIPS = motion_slot(LIPS)
_JAW = motion_slot(tuple(sorted(set(JAW) | set(CHIN))))


@dataclass
class AugmentConfig:
    """Probabilities (p_*) and ranges of each augmentation. ``strength`` scales every probability."""

    strength: float = 1.0
    p_tempo: float = 0.5
    tempo: tuple[float, float] = (0.8, 1.25)
    p_noise: float = 0.6
    snr_db: tuple[float, float] = (0.0, 30.0)
    p_reverb: float = 0.4
    rt60_s: tuple[float, float] = (0.1, 0.7)
    p_eq: float = 0.7
    eq_db: float = 8.0
    p_warp: float = 0.5
    warp: tuple[float, float] = (0.85, 1.18)
    p_lowpass: float = 0.3
    p_specaug: float = 0.5
    p_gain: float = 0.9
    p_rotate: float = 0.7
    rotate_deg: float = 12.0
    p_drift: float = 0.7
    drift_iod: float = 0.04
    jitter_iod: tuple[float, float] = (0.001, 0.012)
    p_smooth: float = 0.5
    p_dup: float = 0.3
    p_missing: float = 0.2
    p_breath: float = 0.5
    p_onset: float = 0.5
    p_rigid: float = 0.7
    rigid_deg: float = 2.0
    rigid_scale: float = 0.02
    p_ambient: float = 0.5
    ambient_gain: tuple[float, float] = (0.1, 0.5)

    def p(self, name: str) -> float:
        return min(1.0, getattr(self, f"p_{name}") * self.strength)


# --- both streams -----------------------------------------------------------------------------
def tempo(mel: np.ndarray, motion: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Play both streams ``factor`` times faster (linear interpolation), keeping 4 mel per frame."""
    t = motion.shape[0]
    t_new = max(2, int(round(t / factor)))
    src_v = np.linspace(0, t - 1, t_new)
    m = mel.shape[0]
    src_a = np.linspace(0, m - 1, t_new * MEL_FRAMES_PER_VIDEO_FRAME)
    mel2 = _interp_rows(mel, src_a)
    motion2 = _interp_rows(motion.reshape(t, -1), src_v).reshape(t_new, *motion.shape[1:])
    return mel2, motion2


def _interp_rows(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
    i0 = np.clip(np.floor(pos).astype(int), 0, len(x) - 1)
    i1 = np.clip(i0 + 1, 0, len(x) - 1)
    w = (pos - i0)[:, None]
    return ((1 - w) * x[i0] + w * x[i1]).astype(np.float32)


# --- audio (log-mel) --------------------------------------------------------------------------
def add_noise(mel: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add stationary noise with a random spectral slope at ``snr_db`` below the speech power."""
    power = np.exp(mel)
    frame_power = power.mean(1)
    speech = frame_power[frame_power >= np.median(frame_power)].mean()
    slope = rng.uniform(-2.0, 1.0)                         # brown … white … blue-ish in log power
    shape = np.exp(slope * np.linspace(0, 1, mel.shape[1]) * 3)
    shape /= shape.mean()
    level = speech / (10 ** (snr_db / 10))
    wobble = np.exp(gaussian_filter1d(rng.standard_normal(len(mel)), 20) * 2)[:, None]
    noise = level * shape[None, :] * wobble * rng.exponential(1.0, size=mel.shape)
    return np.log(power + noise + LOG_FLOOR).astype(np.float32)


def reverb(mel: np.ndarray, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """A diffuse tail: convolve each band's power with an exponential decay (−60 dB at ``rt60``)."""
    n = int(rt60 * MEL_RATE)
    decay = np.exp(-np.log(1e3) * np.arange(1, n + 1) / n)
    kernel = np.concatenate([[1.0], rng.uniform(0.1, 0.6) * decay])
    power = np.exp(mel)
    wet = np.stack([np.convolve(power[:, f], kernel)[: len(mel)] for f in range(mel.shape[1])], 1)
    return np.log(wet + LOG_FLOOR).astype(np.float32)


def equalize(mel: np.ndarray, max_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add a smooth random gain curve across the mel bins (±``max_db``)."""
    x = np.linspace(0, np.pi, mel.shape[1])
    curve = sum(rng.uniform(-1, 1) * np.cos(k * x + rng.uniform(0, np.pi)) for k in range(1, 4)) / 2
    return (mel + curve[None, :] * max_db / 10 * np.log(10)).astype(np.float32)


def warp_frequency(mel: np.ndarray, factor: float) -> np.ndarray:
    """Vocal tract length perturbation: resample the mel axis by ``factor`` (> 1: higher formants)."""
    f = mel.shape[1]
    src = np.clip(np.arange(f) / factor, 0, f - 1)
    return _interp_rows(mel.T, src).T.copy()


def lowpass(mel: np.ndarray, cutoff_bin: int, attenuation_db: float = 40.0) -> np.ndarray:
    """Attenuate the bands above ``cutoff_bin`` (a telephone line or a low-rate codec)."""
    out = mel.copy()
    out[:, cutoff_bin:] = np.log(np.exp(out[:, cutoff_bin:]) * 10 ** (-attenuation_db / 10) + LOG_FLOOR)
    return out


def spec_augment(mel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One time mask (≤ 80 ms) and one frequency mask (≤ 12 bins), filled with the mean."""
    out = mel.copy()
    fill = float(mel.mean())
    w = int(rng.integers(1, 9))
    s = int(rng.integers(0, max(1, len(mel) - w)))
    out[s:s + w] = fill
    w = int(rng.integers(1, 13))
    s = int(rng.integers(0, max(1, mel.shape[1] - w)))
    out[:, s:s + w] = fill
    return out


def augment_mel(mel: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    if rng.random() < cfg.p("reverb"):
        mel = reverb(mel, rng.uniform(*cfg.rt60_s), rng)
    if rng.random() < cfg.p("noise"):
        mel = add_noise(mel, rng.uniform(*cfg.snr_db), rng)
    if rng.random() < cfg.p("warp"):
        mel = warp_frequency(mel, rng.uniform(*cfg.warp))
    if rng.random() < cfg.p("eq"):
        mel = equalize(mel, cfg.eq_db, rng)
    if rng.random() < cfg.p("lowpass"):
        mel = lowpass(mel, int(rng.integers(mel.shape[1] // 2, mel.shape[1])), rng.uniform(20, 50))
    if rng.random() < cfg.p("specaug"):
        mel = spec_augment(mel, rng)
    return mel


# --- motion -----------------------------------------------------------------------------------
def _rotation(deg: float, rng: np.random.Generator) -> np.ndarray:
    axis = rng.standard_normal(3)
    axis /= np.linalg.norm(axis)
    a = np.radians(rng.uniform(-deg, deg))
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * k @ k


def silence_frames(mel: np.ndarray) -> np.ndarray:
    """``(T,)`` bool: video frames without speech (:func:`babelface.media.features.speech_frames`)."""
    return ~speech_frames(mel)


def breathe(motion: np.ndarray, silent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Open the mouth during one silent stretch (people breathe in through the mouth between
    phrases), borrowing the shape of the clip's widest opening."""
    idx = np.flatnonzero(silent)
    if len(idx) < 4:
        return motion
    opening = motion[:, _JAW, 1].mean(1)
    shape = motion[int(np.argmax(opening))]
    centre = int(rng.choice(idx))
    width = int(rng.integers(4, 16))
    t = np.arange(len(motion))
    window = np.clip(1 - np.abs(t - centre) / (width / 2), 0, 1) ** 2
    return (motion + rng.uniform(0.5, 1.5) * window[:, None, None] * shape[None]).astype(np.float32)


def rigid_residue(motion: np.ndarray, rng: np.random.Generator, deg: float, scale: float) -> np.ndarray:
    """Slowly varying small rotation (std ``deg`` per axis) and scale (std ``scale``) of the whole
    face about the canonical origin: what an imperfect similarity alignment leaves in real motion
    (the real clip's lip/jaw points: about 1–1.5° of residual rotation, 3–4 % IOD of translation)."""
    t = len(motion)
    pts = template()[np.array(MOTION_INDICES)].astype(np.float64)          # (111, 3) neutral positions
    sigma = rng.uniform(4, 20)
    w = gaussian_filter1d(rng.standard_normal((t, 3)), sigma, axis=0)
    w *= np.radians(deg) / (w.std(0, keepdims=True) + 1e-9)                # (t, 3) small angles
    sc = gaussian_filter1d(rng.standard_normal(t), sigma)
    sc *= scale / (sc.std() + 1e-9)
    pos = pts[None] + motion                                               # (t, 111, 3)
    return motion + np.cross(w[:, None, :], pos) + sc[:, None, None] * pos


def onset_gestures(motion: np.ndarray, silent: np.ndarray, rng: np.random.Generator,
                   max_frames: int = 8) -> np.ndarray:
    """Preparatory and carry-over gestures: before a phrase the mouth often takes the shape of its
    first sound well ahead of it, and holds the last one after it (visual leads of 100–300 ms at
    utterance onsets; Schwartz & Savariaux 2014, PLoS Comput Biol 10(7) e1003743). Each silence →
    speech onset (and speech → silence offset) is moved into the silence by 2 … ``max_frames``."""
    out = motion.copy()
    t = len(motion)
    speech = ~silent[:t]
    edges = np.flatnonzero(np.diff(speech.astype(np.int8)))
    for e in edges:
        k = int(rng.integers(2, max_frames + 1))
        if speech[e + 1]:                                                  # onset at e + 1
            lo = max(0, e + 1 - k)
            ramp = np.linspace(0, 1, e + 1 - lo + 1)[1:, None, None]
            out[lo:e + 1] = (1 - ramp) * motion[lo:e + 1] + ramp * motion[e + 1]
        else:                                                              # offset after e
            hi = min(t, e + 1 + k)
            ramp = np.linspace(1, 0, hi - e)[1:, None, None]
            out[e + 1:hi] = ramp * motion[e] + (1 - ramp) * motion[e + 1:hi]
    return out


def augment_motion(motion: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig,
                   silent: np.ndarray | None = None, other: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Disturb clean motion ``(T, P, 3)`` like a real video's landmarks would. Returns (motion,
    valid ``(T,)`` bool); invalid (missing-face) frames are NaN."""
    m = motion.astype(np.float64).copy()
    t = len(m)
    if silent is not None and rng.random() < cfg.p("onset"):
        m = onset_gestures(m, silent, rng)
    if silent is not None and rng.random() < cfg.p("breath"):
        m = breathe(m, silent[:t], rng)
    if other is not None and rng.random() < cfg.p("ambient"):
        o = other[np.arange(t) % len(other)] if len(other) else np.zeros_like(m)
        m = m + rng.uniform(*cfg.ambient_gain) * o[::-1 if rng.random() < 0.5 else 1]
    if rng.random() < cfg.p("gain"):
        m[:, _LIPS] *= rng.uniform(0.6, 1.5)
        m[:, _JAW] *= rng.uniform(0.5, 1.6)
        m *= rng.uniform(0.7, 1.3, size=3)
    if rng.random() < cfg.p("rotate"):
        m = m @ _rotation(cfg.rotate_deg, rng).T
    if rng.random() < cfg.p("rigid"):
        m = rigid_residue(m, rng, rng.uniform(0.3, cfg.rigid_deg), rng.uniform(0.0, cfg.rigid_scale))
    if rng.random() < cfg.p("drift"):
        walk = gaussian_filter1d(rng.standard_normal((t, 3)), sigma=rng.uniform(5, 25), axis=0)
        walk *= cfg.drift_iod / (walk.std() + 1e-9)
        m = m + walk[:, None, :]
    sigma = rng.uniform(*cfg.jitter_iod)
    m = m + rng.standard_normal(m.shape) * sigma * np.array([1.0, 1.0, 2.0])
    m = m + rng.standard_normal((t, 1, 3)) * sigma
    if rng.random() < cfg.p("smooth"):
        m = gaussian_filter1d(m, sigma=rng.uniform(0.3, 1.2), axis=0)
    if rng.random() < cfg.p("dup"):
        dup = np.flatnonzero(rng.random(t) < rng.uniform(0.02, 0.1))
        dup = dup[dup > 0]
        m[dup] = m[dup - 1]
    valid = np.ones(t, bool)
    if rng.random() < cfg.p("missing"):
        s = int(rng.integers(0, t))
        valid[s:s + int(rng.integers(1, 6))] = False
    m = m.astype(np.float32)
    m[~valid] = np.nan
    return m, valid


def augment(mel: np.ndarray, motion: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig,
            other_motion: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One augmented training pair: (mel ``(4T', F)``, motion ``(T', P, 3)``, valid ``(T',)``).
    NaN frames of ``motion`` (a real clip's frames without a face) come back invalid."""
    finite = np.isfinite(motion).all(axis=(1, 2))
    motion = np.where(finite[:, None, None], motion, 0.0).astype(np.float32)
    if rng.random() < cfg.p("tempo"):
        mel, both = tempo(mel, np.concatenate([motion, np.repeat(finite[:, None, None], 3, 2)
                                               .astype(np.float32)], axis=1), rng.uniform(*cfg.tempo))
        motion, finite = both[:, :-1], both[:, -1, 0] > 0.999
    if other_motion is not None:
        other_motion = np.nan_to_num(other_motion)
    silent = silence_frames(mel)
    mel = augment_mel(mel, rng, cfg)
    motion, valid = augment_motion(motion, rng, cfg, silent, other_motion)
    valid &= finite[: len(valid)]
    motion[~valid] = np.nan
    return mel, motion, valid

