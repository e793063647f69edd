"""Speech → motion over any length in constant memory (issue 16, part 2).

A generator over the whole utterance at once needs memory in proportion to its length. Here the
audio stays on disk (:class:`~babelface.media.spool.SpooledSpeech`) and is read a window at a time:

1. a streaming pass computes the per-utterance mean and standard deviation of the log-mel
   features (MuEx E.5 normalises per utterance: the statistics stay global, only the pass streams);
2. the model runs on overlapping windows of ``window`` video frames plus ``context`` frames on
   each side; within ``2 * fade`` frames of each seam the two windows' outputs are cross-faded
   linearly. A convolutional model whose receptive-field radius is at most ``context - fade`` frames
   (MuEx's default: 34) gives exactly the whole-utterance output there, up to float rounding.

Log-mel frames are computed from just the samples each one needs (its 25 ms window, the sample
before for the pre-emphasis, the whole-signal reflection at either end), so a window's features
equal the whole utterance's features at the same frames.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from babelface.constants import (HOP_LENGTH, MEL_FRAMES_PER_VIDEO_FRAME, N_FFT, PRE_EMPHASIS,
                                 SAMPLES_PER_FRAME)
from babelface.media.features import LOG_FLOOR, mel_filterbank, n_audio_frames

WINDOW_FRAMES = 1500          # video frames per window (60 s)
CONTEXT_FRAMES = 64           # extra frames read on each side of a window
FADE_FRAMES = 16              # half-width of the cross-fade at each seam
STATS_BLOCK = 6000            # log-mel frames per block of the statistics pass (60 s)
MEL_BLOCK = 500               # log-mel frames computed at once: bounds the transient arrays
                              # (index, frames, spectrum) to a few MB beside the renderer
NORM_EPS = 1e-5               # as babelface.media.features.normalize

Reader = Callable[[int, int], np.ndarray]          # (start, stop) → samples (stop - start,)


def log_mel_span(read: Reader, n_samples: int, start: int, stop: int, n_mels: int) -> np.ndarray:
    """Log-mel frames ``[start, stop)`` ``(stop - start, n_mels)`` of the whole signal of
    ``n_samples`` samples (:func:`babelface.media.features.log_mel`), reading only what they need.

    Needs ``n_samples > N_FFT // 2`` (the whole-signal version reflects at the ends)."""
    if stop - start > MEL_BLOCK:
        return np.concatenate([log_mel_span(read, n_samples, a, min(a + MEL_BLOCK, stop), n_mels)
                               for a in range(start, stop, MEL_BLOCK)])
    half = N_FFT // 2
    j = np.arange(start, stop)[:, None] * HOP_LENGTH + np.arange(N_FFT)[None, :] - half   # (F, N_FFT)
    j = np.abs(j)                                                    # reflect at the start
    j = np.where(j >= n_samples, 2 * (n_samples - 1) - j, j)         # ... and at the end
    lo, hi = max(int(j.min()) - 1, 0), int(j.max()) + 1
    raw = read(lo, hi)                                               # (hi - lo,)
    x = raw[j - lo]
    prev = raw[np.maximum(j - 1, 0) - lo]
    y = np.where(j == 0, x, x - PRE_EMPHASIS * prev)                 # pre-emphasis (E.5)
    spec = np.abs(np.fft.rfft(y * np.hanning(N_FFT + 1)[:-1].astype(np.float32), axis=1)) ** 2
    mel = spec.astype(np.float32) @ mel_filterbank(n_mels).T
    return np.log(np.maximum(mel, LOG_FLOOR)).astype(np.float32)     # (F, n_mels)


def mel_statistics(read: Reader, n_samples: int, n_mels: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-utterance mean and standard deviation ``(1, n_mels)`` float32 of the log-mel, in one
    streaming pass (float64 sums)."""
    n = n_audio_frames(n_samples)
    s1, s2 = np.zeros(n_mels), np.zeros(n_mels)
    for a in range(0, n, STATS_BLOCK):
        m = log_mel_span(read, n_samples, a, min(a + STATS_BLOCK, n), n_mels).astype(np.float64)
        s1 += m.sum(0)
        s2 += np.square(m).sum(0)
    mu = s1 / n
    sd = np.sqrt(np.maximum(s2 / n - mu * mu, 0.0))
    return mu[None].astype(np.float32), sd[None].astype(np.float32)


def window_features(read: Reader, n_samples: int, a: int, b: int, stats, n_mels: int) -> np.ndarray:
    """Normalised log-mel of video frames ``[a, b)`` ``(4 (b - a), n_mels)``, zero past the end
    (:func:`babelface.media.features.mel_features` on the whole utterance, sliced)."""
    k = MEL_FRAMES_PER_VIDEO_FRAME
    out = np.zeros(((b - a) * k, n_mels), np.float32)
    stop = min(b * k, n_audio_frames(n_samples))
    if stop > a * k:
        mu, sd = stats
        out[:stop - a * k] = (log_mel_span(read, n_samples, a * k, stop, n_mels) - mu) / (sd + NORM_EPS)
    return out


def windowed(predict: Callable[[int, int], np.ndarray], n_frames: int, window: int = WINDOW_FRAMES,
             context: int = CONTEXT_FRAMES, fade: int = FADE_FRAMES) -> Iterator[np.ndarray]:
    """Chunks ``(t, ...)`` of a sequence of ``n_frames`` frames, ``predict(a, b)`` giving frames
    ``[a, b)`` of one window; seams cross-faded over ``2 * fade`` frames. The chunks concatenate
    to ``n_frames`` frames."""
    if not 0 < fade <= context:
        raise ValueError(f"need 0 < fade <= context, got fade={fade}, context={context}")
    tail = None                                  # (2 fade, ...) previous window's frames at the seam
    ramp = None
    for a in range(0, n_frames, window):
        b = min(a + window, n_frames)
        lo, hi = max(a - context, 0), min(b + context, n_frames)
        out = predict(lo, hi)                    # (hi - lo, ...)
        start = a - lo
        if tail is not None:
            if ramp is None:
                ramp = ((np.arange(2 * fade) + 0.5) / (2 * fade)).reshape((-1,) + (1,) * (out.ndim - 1))
            seam = out[start - fade:start + fade]
            yield ((1 - ramp) * tail + ramp * seam).astype(out.dtype)
            start += fade
        if b < n_frames:
            tail = out[b - lo - fade:b - lo + fade]
            yield out[start:b - lo - fade]
        else:
            yield out[start:b - lo]


def stream_motion(model, read: Reader, n_samples: int, window: int = WINDOW_FRAMES,
                  context: int = CONTEXT_FRAMES, fade: int = FADE_FRAMES) -> Iterator[np.ndarray]:
    """MuEx motion chunks ``(t, L, 3)`` float32 for mono 16 kHz speech of ``n_samples`` samples
    read by ``read(start, stop)``; together ``ceil(n_samples / 640)`` frames, equal to
    ``model.predict_motion`` on the whole utterance (to float rounding; see the module's note)."""
    import torch
    n_frames = -(-n_samples // SAMPLES_PER_FRAME)
    if model.cfg.audio.features != "mel" or n_frames <= window or n_samples <= N_FFT:
        yield model.predict_motion(read(0, n_samples))         # short, or wav2vec: one pass
        return
    n_mels = model.cfg.audio.n_mels
    stats = mel_statistics(read, n_samples, n_mels)
    device = model.motion_scale.device
    model.eval()

    @torch.inference_mode()
    def predict(a: int, b: int) -> np.ndarray:
        feats = torch.from_numpy(window_features(read, n_samples, a, b, stats, n_mels))[None]
        return model(feats.to(device)).motion[0].float().cpu().numpy()      # (b - a, L, 3)

    yield from windowed(predict, n_frames, window, context, fade)
