"""Audio augmentations of the synthetic benchmark, each with its parameters recorded.

Augmentations make models learn beyond one synthetic voice (issue 4): additive noise at a random
SNR, reverberation by a synthetic room impulse response, equalisation, pitch and tempo
perturbation. Those that move audio in time return a :class:`TimeMap` so that the phoneme
timeline is moved with it and the ground truth stays aligned:

- tempo (speed without pitch change) and pitch (pitch without duration change) both run through
  one WSOLA pass (Verhelst & Roelands 1993, "An overlap-add technique based on waveform
  similarity (WSOLA)"): every output frame is copied from a known input position, so the time map
  is known exactly at every frame centre (10 ms apart) and linear in between;
- pitch is a resampling by 2^(s/12) (which also changes duration by exactly that factor) followed
  by the WSOLA pass that restores the duration;
- noise, reverberation (direct path at t = 0) and zero-phase EQ do not move anything in time.

All randomness comes from the ``numpy.random.Generator`` passed in: the same generator state gives
the same audio and the same record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from scipy.signal import fftconvolve, resample_poly, sosfiltfilt

from babelface.constants import SAMPLE_RATE

WSOLA_HOP = 160                 # 10 ms synthesis hop at 16 kHz
WSOLA_FRAME = 2 * WSOLA_HOP     # 20 ms Hann frames, 50 % overlap
WSOLA_TOLERANCE = 80            # ±5 ms search for the most similar input frame
PITCH_DENOMINATOR = 200         # pitch ratios are rational with at most this denominator


@dataclass(frozen=True)
class AugmentConfig:
    """Probability and range of each augmentation (the defaults are the benchmark's)."""

    p_tempo: float = 0.5
    tempo: tuple[float, float] = (0.85, 1.15)          # speed factor (> 1 faster)
    p_pitch: float = 0.5
    pitch_semitones: tuple[float, float] = (-3.0, 3.0)
    p_reverb: float = 0.4
    rt60_s: tuple[float, float] = (0.15, 0.6)
    drr_db: tuple[float, float] = (0.0, 12.0)          # direct-to-reverberant ratio
    p_eq: float = 0.5
    eq_bands: tuple[int, int] = (1, 3)
    eq_gain_db: tuple[float, float] = (-8.0, 8.0)
    p_noise: float = 0.6
    snr_db: tuple[float, float] = (10.0, 35.0)
    noise_colors: tuple[str, ...] = ("white", "pink", "brown")

    @classmethod
    def none(cls) -> "AugmentConfig":
        """No augmentation at all."""
        return cls(p_tempo=0, p_pitch=0, p_reverb=0, p_eq=0, p_noise=0)


@dataclass
class TimeMap:
    """A monotone piecewise-linear map from input to output time (seconds)."""

    src: np.ndarray           # (K,) increasing
    dst: np.ndarray           # (K,)

    @classmethod
    def identity(cls, duration: float) -> "TimeMap":
        return cls(np.array([0.0, duration]), np.array([0.0, duration]))

    def __call__(self, t):
        return np.interp(t, self.src, self.dst)

    def then(self, other: "TimeMap") -> "TimeMap":
        """This map followed by ``other``."""
        return TimeMap(self.src, other(self.dst))


@dataclass
class Augmented:
    audio: np.ndarray                      # (n,) float32
    time_map: TimeMap
    record: dict = field(default_factory=dict)


# --- tempo and pitch ---------------------------------------------------------------------------------
def wsola(x: np.ndarray, rate: float, hop: int = WSOLA_HOP, tolerance: int = WSOLA_TOLERANCE
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time-scale ``x`` by ``rate`` (> 1 shorter) keeping its pitch.

    Returns ``(y, src, dst)``: ``y`` of length ``round(len(x) / rate)``, and the sample positions
    ``src`` in ``x`` and ``dst`` in ``y`` of every frame centre (the exact time map).
    """
    frame = 2 * hop
    n_out = int(round(len(x) / rate))
    n_frames = max(1, int(np.ceil(n_out / hop)))
    pad = np.pad(x.astype(np.float64), (0, frame + tolerance + int(np.ceil(hop * rate)) + 2 * hop))
    win = np.hanning(frame + 1)[:-1]                              # periodic: 50 % overlaps sum to 1
    y = np.zeros(n_frames * hop + frame)
    norm = np.zeros_like(y)
    src = np.empty(n_frames)
    pos = 0
    for k in range(n_frames):
        ideal = int(round(k * hop * rate))
        if k:
            target = pad[pos + hop: pos + hop + frame]            # natural continuation of the last copy
            lo = max(0, ideal - tolerance)
            hi = min(len(pad) - frame, ideal + tolerance)
            cand = pad[lo: hi + frame]
            cc = np.correlate(cand, target * win, mode="valid")
            pos = lo + int(np.argmax(cc)) if hi >= lo else ideal
        y[k * hop: k * hop + frame] += pad[pos: pos + frame] * win
        norm[k * hop: k * hop + frame] += win
        src[k] = pos + hop
    y = np.where(norm > 1e-3, y / np.maximum(norm, 1e-3), 0.0)
    # frame k covers output [k*hop, k*hop + frame): its centre is k*hop + hop; the first half-frame
    # (before the first centre) has half weight and is normalised above
    dst = np.arange(n_frames) * hop + hop
    return y[:n_out].astype(np.float32), src, dst.astype(np.float64)


def tempo_pitch(x: np.ndarray, tempo: float = 1.0, semitones: float = 0.0,
                sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, TimeMap, dict]:
    """Speed ``x`` up by ``tempo`` and shift its pitch by ``semitones``; returns the audio, the time
    map (input seconds → output seconds) and the exact parameters used."""
    duration = len(x) / sample_rate
    ratio = Fraction(2 ** (semitones / 12)).limit_denominator(PITCH_DENOMINATOR) if semitones else Fraction(1)
    # resampling by 1/ratio plays ratio× faster: pitch × ratio, duration / ratio
    y = resample_poly(x, ratio.denominator, ratio.numerator).astype(np.float32) if ratio != 1 else x
    first = TimeMap(np.array([0.0, duration]), np.array([0.0, duration / float(ratio)]))
    rate = tempo / float(ratio)            # restore the duration, then apply the tempo
    if abs(rate - 1.0) < 1e-9:
        return y, first, {"tempo": tempo, "pitch_ratio": float(ratio)}
    z, src, dst = wsola(y, rate)
    n_in, n_out = len(y), len(z)
    keep = (src <= n_in) & (dst <= n_out)
    s = np.concatenate([[0.0], src[keep], [n_in]]) / sample_rate
    d = np.concatenate([[0.0], dst[keep], [n_out]]) / sample_rate
    order = np.maximum.accumulate(s)                      # guard monotonicity at the ends
    second = TimeMap(order, np.maximum.accumulate(d))
    return z, first.then(second), {"tempo": float(tempo), "pitch_ratio": float(ratio)}


# --- reverberation, EQ, noise ----------------------------------------------------------------------
def room_impulse_response(rng: np.random.Generator, rt60: float, drr_db: float,
                          sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A synthetic RIR: unit direct path at t = 0, then exponentially decaying Gaussian noise
    (Schroeder's statistical model) reaching -60 dB at ``rt60`` seconds, scaled so that the
    direct-to-reverberant energy ratio is ``drr_db``."""
    n = int(rt60 * sample_rate)
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * 10 ** (-3 * t / rt60)           # -60 dB at rt60
    tail[: int(0.002 * sample_rate)] = 0.0                          # 2 ms before the first reflection
    tail *= np.sqrt(10 ** (-drr_db / 10) / max(np.sum(tail ** 2), 1e-12))
    tail[0] = 1.0
    return tail


def reverberate(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Convolve and keep the input's length (the direct path at 0 keeps the timeline)."""
    return fftconvolve(x, rir)[: len(x)].astype(np.float32)


def peaking_sos(freq: float, gain_db: float, q: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """One peaking biquad as a second-order section (RBJ Audio EQ Cookbook)."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * freq / sample_rate
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
    return np.concatenate([b / den[0], den / den[0]])[None, :]


def equalize(x: np.ndarray, bands: list[dict], sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Zero-phase (forward-backward) peaking EQ: no delay, so the timeline is unchanged."""
    if not bands:
        return x
    sos = np.concatenate([peaking_sos(b["freq"], b["gain_db"] / 2, b["q"], sample_rate) for b in bands])
    return sosfiltfilt(sos, x).astype(np.float32)              # filtfilt doubles the gain: half each way


def colored_noise(rng: np.random.Generator, n: int, color: str) -> np.ndarray:
    """Unit-RMS noise with a 1/f^β spectrum: white β=0, pink β=1, brown β=2."""
    beta = {"white": 0.0, "pink": 1.0, "brown": 2.0}[color]
    spec = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.fft.rfftfreq(n)
    f[0] = f[1] if n > 1 else 1.0
    noise = np.fft.irfft(spec / f ** (beta / 2), n)
    return (noise / max(np.sqrt(np.mean(noise ** 2)), 1e-12)).astype(np.float32)


def speech_rms(x: np.ndarray, frame: int = 320) -> float:
    """RMS over the frames louder than -40 dB of the loudest (the speech, not the pauses)."""
    n = len(x) // frame
    if n == 0:
        return float(np.sqrt(np.mean(x ** 2))) if len(x) else 0.0
    e = np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)
    active = e[e >= e.max() * 1e-4]
    return float(np.sqrt(active.mean())) if active.size else 0.0


def add_noise(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``x`` plus ``noise`` scaled to ``snr_db`` below the speech RMS."""
    scale = speech_rms(x) / 10 ** (snr_db / 20)
    return (x + scale * noise).astype(np.float32)


# --- the chain -------------------------------------------------------------------------------------
def augment(x: np.ndarray, rng: np.random.Generator, config: AugmentConfig = AugmentConfig(),
            sample_rate: int = SAMPLE_RATE) -> Augmented:
    """Apply the chain (tempo/pitch → reverb → EQ → noise → peak normalisation) at random.

    Every draw is made whether or not the augmentation fires, so that the random stream (and
    hence every other clip's parameters) does not depend on which ones fired.
    """
    u = rng.random(5)
    tempo = float(rng.uniform(*config.tempo))
    semis = float(rng.uniform(*config.pitch_semitones))
    rt60, drr = float(rng.uniform(*config.rt60_s)), float(rng.uniform(*config.drr_db))
    rir_seed = int(rng.integers(2 ** 31))
    n_bands = int(rng.integers(config.eq_bands[0], config.eq_bands[1] + 1))
    bands = [{"freq": float(np.exp(rng.uniform(np.log(150), np.log(6000)))),
              "gain_db": float(rng.uniform(*config.eq_gain_db)),
              "q": float(rng.uniform(0.5, 2.0))} for _ in range(config.eq_bands[1])][:n_bands]
    snr = float(rng.uniform(*config.snr_db))
    color = config.noise_colors[int(rng.integers(len(config.noise_colors)))]
    noise_seed = int(rng.integers(2 ** 31))

    record: dict = {}
    duration = len(x) / sample_rate
    tmap = TimeMap.identity(duration)
    use_tempo, use_pitch = u[0] < config.p_tempo, u[1] < config.p_pitch
    if use_tempo or use_pitch:
        x, tmap, tp = tempo_pitch(x, tempo if use_tempo else 1.0, semis if use_pitch else 0.0, sample_rate)
        if use_tempo:
            record["tempo"] = tp["tempo"]
        if use_pitch:
            record["pitch_semitones"] = round(12 * np.log2(tp["pitch_ratio"]), 6)
    if u[2] < config.p_reverb:
        rir = room_impulse_response(np.random.default_rng(rir_seed), rt60, drr, sample_rate)
        x = reverberate(x, rir)
        record["reverb"] = {"rt60_s": rt60, "drr_db": drr, "seed": rir_seed}
    if u[3] < config.p_eq:
        x = equalize(x, bands, sample_rate)
        record["eq"] = bands
    if u[4] < config.p_noise:
        x = add_noise(x, colored_noise(np.random.default_rng(noise_seed), len(x), color), snr)
        record["noise"] = {"snr_db": snr, "color": color, "seed": noise_seed}
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > 0:
        gain = 0.9 / peak
        x = (x * gain).astype(np.float32)
        record["gain"] = gain
    return Augmented(x.astype(np.float32), tmap, record)
