"""Audio features shared by every model and aligner: log-mel (MuEx E.5), the models' one log-mel
front-end :func:`mel_features` (MuEx, the sync expert, any new model) and MFCC. (The wav2vec 2.0
front-end, the other one, is :mod:`babelface.models.wav2vec2`.)

All at 100 frames per second (``HOP_LENGTH`` = 160 samples at 16 kHz), i.e. exactly
``MEL_FRAMES_PER_VIDEO_FRAME`` = 4 audio frames per 25 fps video frame. Audio frame ``i`` is
centred on sample ``i * HOP_LENGTH`` (the signal is reflect-padded by half a window), so video
frame ``k`` (samples ``[640 k, 640 (k + 1))``) owns audio frames ``4k … 4k + 3``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from babelface.constants import (HOP_LENGTH, MEL_FRAMES_PER_VIDEO_FRAME, N_FFT, N_MELS,
                                 PRE_EMPHASIS, SAMPLE_RATE, SAMPLES_PER_FRAME)

LOG_FLOOR = 1e-5
N_MFCC = 13
SPECTRUM_BLOCK = 500         # audio frames transformed at once by power_spectrogram (5 s)


def _hz_to_mel(f):
    """Slaney mel scale (linear below 1 kHz, logarithmic above), as librosa's default."""
    f = np.asarray(f, dtype=np.float64)
    lin = f / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log, lin)


def _mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    lin = m * (200.0 / 3)
    log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0))
    return np.where(m >= 15.0, log, lin)


@lru_cache(maxsize=8)
def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE,
                   fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Slaney-normalised triangular filters ``(n_mels, n_fft // 2 + 1)`` float32."""
    fmax = fmax or sample_rate / 2
    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    lower = (freqs[None, :] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    upper = (edges[2:, None] - freqs[None, :]) / (edges[2:, None] - edges[1:-1, None])
    fb = np.maximum(0.0, np.minimum(lower, upper))
    fb *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return fb.astype(np.float32)


def n_audio_frames(n_samples: int) -> int:
    """Number of 10 ms frames for ``n_samples``: ``ceil(n / HOP_LENGTH)``."""
    return -(-n_samples // HOP_LENGTH)


def power_spectrogram(audio: np.ndarray, pre_emphasis: float = PRE_EMPHASIS) -> np.ndarray:
    """``(n_frames, N_FFT // 2 + 1)`` power spectrum, Hann window, centred frames.

    The frames are windowed and transformed ``SPECTRUM_BLOCK`` at a time into the one output, so the
    transient arrays stay a few MB whatever the length (issue 16: the whole minute at once took
    ~100 MB of fresh pages, 0.2–0.5 s of page faults on this machine, for an FFT of 10 ms); each
    row is computed as before, so the values are the same to the bit."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected mono audio (n,), got {x.shape}")
    if pre_emphasis:
        x = np.append(x[:1], x[1:] - pre_emphasis * x[:-1])
    n = n_audio_frames(len(x))
    pad = N_FFT // 2
    x = np.pad(x, (pad, pad + n * HOP_LENGTH - len(x)), mode="reflect" if len(x) > pad else "constant")
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP_LENGTH][:n]   # (n, N_FFT), a view
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
    out = np.empty((n, N_FFT // 2 + 1), np.float32)
    for a in range(0, n, SPECTRUM_BLOCK):
        out[a:a + SPECTRUM_BLOCK] = np.abs(np.fft.rfft(frames[a:a + SPECTRUM_BLOCK] * window, axis=1)) ** 2
    return out


def log_mel(audio: np.ndarray, n_mels: int = N_MELS) -> np.ndarray:
    """80-bin log-mel of mono 16 kHz audio (MuEx E.5: pre-emphasis, STFT, mel): ``(n_frames, n_mels)``.

    Natural log with a floor of ``LOG_FLOOR``; not normalised (see :func:`normalize`).
    """
    spec = power_spectrogram(audio)
    return np.log(np.maximum(spec @ mel_filterbank(n_mels).T, LOG_FLOOR)).astype(np.float32)


def normalize(features: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Per-utterance mean-variance normalisation over time (MuEx E.5): ``(n, d)`` → ``(n, d)``."""
    mu = features.mean(axis=0, keepdims=True)
    sd = features.std(axis=0, keepdims=True)
    return ((features - mu) / (sd + eps)).astype(np.float32)


MEL_PADS = ("zero", "silence")


def mel_features(audio: np.ndarray, n_frames: int | None = None, n_mels: int = N_MELS, *,
                 normalized: bool = True, pad: str = "zero") -> np.ndarray:
    """The one log-mel front-end (MuEx E.5): mono 16 kHz ``(n,)`` → ``(4 T, n_mels)`` float32,
    video frame ``t`` owning mel frames ``4t … 4t + 3``; ``T = n_frames`` or ``ceil(n / 640)``.

    ``normalized``: per-utterance mean–variance normalisation (:func:`normalize`; MuEx's input).
    The tail past the audio is cut, or padded with ``pad``: ``"zero"`` (after normalisation, the
    utterance mean: MuEx) or ``"silence"`` (the log floor, the log-mel of silence: the sync
    expert's input, un-normalised, whose branch normalises on its own).
    """
    if pad not in MEL_PADS:
        raise ValueError(f"pad must be one of {MEL_PADS}, got {pad!r}")
    audio = np.asarray(audio, dtype=np.float32)
    t = n_frames if n_frames is not None else -(-len(audio) // SAMPLES_PER_FRAME)
    mel = log_mel(audio, n_mels)                                  # (n_mel_frames, n_mels)
    if normalized:
        mel = normalize(mel)
    fill = 0.0 if pad == "zero" else np.log(LOG_FLOOR)
    out = np.full((t * MEL_FRAMES_PER_VIDEO_FRAME, n_mels), fill, np.float32)
    m = min(len(mel), len(out))
    out[:m] = mel[:m]
    return out


def mfcc(audio: np.ndarray, n_mfcc: int = N_MFCC, n_mels: int = 40) -> np.ndarray:
    """MFCC ``(n_frames, n_mfcc)``: DCT-II (orthonormal) of a 40-band log-mel, 100 frames/s."""
    from scipy.fft import dct
    return dct(log_mel(audio, n_mels), type=2, axis=1, norm="ortho")[:, :n_mfcc].astype(np.float32)


def frames_to_video_rate(features: np.ndarray, n_video_frames: int | None = None) -> np.ndarray:
    """Stack each video frame's 4 audio frames: ``(n, d)`` → ``(T, 4 * d)`` (zero-padded at the end)."""
    k = MEL_FRAMES_PER_VIDEO_FRAME
    t = n_video_frames if n_video_frames is not None else -(-len(features) // k)
    out = np.zeros((t * k, features.shape[1]), np.float32)
    m = min(len(features), t * k)
    out[:m] = features[:m]
    return out.reshape(t, k * features.shape[1])


SPEECH_FLOOR_DB = 25.0          # frames this far below the loud ones are silence


def frame_energy(mel: np.ndarray) -> np.ndarray:
    """``(T,)`` float64: each video frame's log mean power over its 4 × F bins of the ``(4T, F)``
    natural-log power (a partial last frame is dropped)."""
    t = len(mel) // MEL_FRAMES_PER_VIDEO_FRAME
    frames = mel[: t * MEL_FRAMES_PER_VIDEO_FRAME].astype(np.float64).reshape(t, -1)
    top = frames.max(1, keepdims=True)
    return top[:, 0] + np.log(np.exp(frames - top).mean(1))                    # log mean power


def speech_threshold(energy: np.ndarray, floor_db: float = SPEECH_FLOOR_DB) -> float:
    """The log power below which a frame of :func:`frame_energy` is silence: ``floor_db`` under the
    clip's loud frames (95th percentile)."""
    return float(np.quantile(energy, 0.95) - floor_db / 10 * np.log(10))


def speech_frames(mel: np.ndarray, floor_db: float = SPEECH_FLOOR_DB) -> np.ndarray:
    """``(T,)`` bool: video frames whose mel power (mean over the frame's 4 × F bins of the
    ``(4T, F)`` natural-log power) is within ``floor_db`` of the clip's loud frames (95th percentile). Silences carry no sync evidence: the
    mouth may rest, breathe or prepare the next phrase, so :mod:`babelface.sync` averages S(Δ)
    over speech frames."""
    energy = frame_energy(mel)
    return energy >= speech_threshold(energy, floor_db)


def rest_envelope(speech: np.ndarray, ramp: int = 3) -> np.ndarray:
    """``(T,)`` float32: 1 on ``speech`` frames, 0 in the pauses between, with linear ramps of
    ``ramp`` frames inside the pause (the lips close after a phrase and part before the next)."""
    speech = np.asarray(speech, bool)
    if not speech.any():
        return np.zeros(len(speech), np.float32)
    from scipy.ndimage import distance_transform_edt
    dist = distance_transform_edt(~speech)                      # frames to the nearest speech frame
    return np.clip(1 - dist / (ramp + 1), 0, 1).astype(np.float32)
