"""Audio metrics of JUST-DUB-IT (Table 2, §4 "Audio Quality"): Dur-Err and Int-Corr.

- **Dur-Err** (seconds, lower is better): ``|duration(generated speech) − duration(reference)|``; the
  reference is the original shot (JUST-DUB-IT: speech that does not fit the shot length is the error).
- **Int-Corr** (higher is better): Pearson correlation of the RMS envelopes of the reference and the
  generated audio ("temporal intensity consistency", JUST-DUB-IT §4 after Chung et al. 2024).
  Envelope: :func:`babelface.media.rms_envelope`, one value per 25 fps video frame (hop 640 samples
  at 16 kHz, window 1280 centred on each frame). The two envelopes are compared over their common
  length (``align="truncate"``, default) or with the generated one linearly resampled to the
  reference's length (``align="stretch"``, for speech whose duration was changed on purpose).
  Constant envelopes (silence) follow :func:`babelface.metrics.lip.pearson`'s policy.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from babelface.constants import SAMPLE_RATE, SAMPLES_PER_FRAME
from babelface.metrics.lip import pearson


def duration_s(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """Duration in seconds of a mono ``(n,)`` or multichannel ``(n, C)`` signal."""
    return len(audio) / float(sample_rate)


def dur_err(reference_s: float, generated_s: float) -> float:
    """Dur-Err: absolute duration difference in seconds."""
    return float(abs(float(generated_s) - float(reference_s)))


def _stretch(x: np.ndarray, n: int) -> np.ndarray:
    if len(x) == n or len(x) < 2:
        return x
    return np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x)


def int_corr(reference: np.ndarray, generated: np.ndarray, sample_rate: int = SAMPLE_RATE,
             hop: int = SAMPLES_PER_FRAME, align: Literal["truncate", "stretch"] = "truncate") -> float:
    """Int-Corr: Pearson of the RMS envelopes of two mono signals at ``sample_rate``.

    ``hop`` is in samples at 16 kHz and scaled for other rates, so one envelope value = one video frame.
    """
    from babelface.media import rms_envelope
    hop = max(1, int(round(hop * sample_rate / SAMPLE_RATE)))
    er = rms_envelope(np.asarray(reference, np.float32), hop=hop).astype(np.float64)
    eg = rms_envelope(np.asarray(generated, np.float32), hop=hop).astype(np.float64)
    if align == "stretch":
        eg = _stretch(eg, len(er))
    elif align != "truncate":
        raise ValueError(f"align must be 'truncate' or 'stretch', not {align!r}")
    n = min(len(er), len(eg))
    return pearson(er[:n], eg[:n])
