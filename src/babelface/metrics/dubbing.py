"""JUST-DUB-IT's audio metrics for a dub (``papers/002``, §4 "Evaluation Metrics", Table 2).

- **Dur-Err** (s, lower is better), "temporal alignment": how far the new speech's duration is from
  the original's. JUST-DUB-IT compares the generated speech with the original shot's speech
  ("adjust speech speed to the original shot length", §4.1; "mismatched durations", Fig. 6a). Here
  both are speech *spans*, first to last voice-active sample, measured by the same detector
  (:mod:`babelface.dub.vad`): ``Dur-Err = |(e_new − s_new) − (e_orig − s_orig)|``.
- **Int-Corr** (higher is better), "temporal intensity consistency, Pearson correlation of RMS audio
  envelopes [Chung et al. 2024]": Pearson r between the RMS envelope of the original audio and of
  the dubbed output audio, one value per 25 fps video frame over the video's duration
  (:func:`babelface.metrics.audio.int_corr`, mono 16 kHz).

Edge cases: a missing span (no speech on one side) gives ``None`` for Dur-Err; constant envelopes
follow :func:`babelface.metrics.lip.pearson`.
"""

from __future__ import annotations

import numpy as np

from babelface.constants import SAMPLES_PER_FRAME
from babelface.metrics import audio as _audio
from babelface.metrics.lip import pearson

Span = tuple[float, float]


def span_of(segments) -> Span | None:
    """First start to last end of speech ``segments`` [(start_s, end_s)], None when empty."""
    segments = list(segments)
    return (float(segments[0][0]), float(segments[-1][1])) if segments else None


def dur_err(new_span: Span | None, original_span: Span | None) -> float | None:
    """Dur-Err (s): ``|len(new_span) − len(original_span)|``; None when either is missing."""
    if new_span is None or original_span is None:
        return None
    return _audio.dur_err(original_span[1] - original_span[0], new_span[1] - new_span[0])


def rms_envelope(audio16k: np.ndarray) -> np.ndarray:
    """:func:`babelface.media.rms_envelope` (one value per video frame, window of two frames
    centred on each frame's middle, zeros beyond the ends) computed from a running sum of squares:
    memory O(n) instead of O(n × window) for a long video. ``(ceil(n / 640),)`` float64."""
    hop, win = SAMPLES_PER_FRAME, 2 * SAMPLES_PER_FRAME
    x = np.asarray(audio16k)
    n_frames = -(-len(x) // hop)
    c = np.zeros(len(x) + win + hop, np.float64)                      # the zero-padded signal …
    c[win // 2:win // 2 + len(x)] = x
    np.square(c, out=c)
    np.cumsum(c, out=c)                                               # … as a running sum of squares
    first = np.arange(n_frames) * hop + hop // 2                      # window start in the padded signal
    return np.sqrt(np.maximum(c[first + win - 1] - c[first - 1], 0.0) / win)


def envelope_of_blocks(blocks) -> np.ndarray:
    """:func:`rms_envelope` of the concatenation of mono 16 kHz ``blocks`` (an iterable of
    ``(k,)`` arrays), never holding it: sums of squares per half frame (320 samples), then each
    frame's window of four half frames, ``[640 f − 320, 640 f + 960)``. ``(ceil(n / 640),)``."""
    half = SAMPLES_PER_FRAME // 2
    sums, carry, n = [], np.zeros(0, np.float32), 0
    for b in blocks:
        x = np.concatenate([carry, np.asarray(b, np.float32)])
        n += len(b)
        k = len(x) // half * half
        sums.append(np.square(x[:k], dtype=np.float64).reshape(-1, half).sum(1))
        carry = x[k:]
    sums.append(np.array([np.square(carry, dtype=np.float64).sum()]))
    h = np.concatenate([[0.0], *sums, np.zeros(4)])                   # h[j + 1]: half frame j
    c = np.concatenate([[0.0], np.cumsum(h)])
    f = np.arange(-(-n // SAMPLES_PER_FRAME))
    return np.sqrt(np.maximum(c[2 * f + 4] - c[2 * f], 0.0) / (2 * SAMPLES_PER_FRAME))


def int_corr_of_blocks(original_blocks, output_blocks) -> float:
    """:func:`int_corr` of two signals given as mono 16 kHz blocks (a long dub in bounded memory)."""
    er, eg = envelope_of_blocks(original_blocks), envelope_of_blocks(output_blocks)
    n = min(len(er), len(eg))
    return pearson(er[:n], eg[:n])


def int_corr(original16k: np.ndarray, output16k: np.ndarray) -> float:
    """Int-Corr: Pearson r of the per-frame RMS envelopes of the original and the dubbed audio
    (both mono 16 kHz ``(n,)``, compared over their common length); the envelopes are those of
    :func:`babelface.metrics.audio.int_corr`, computed by :func:`rms_envelope`."""
    er, eg = rms_envelope(original16k), rms_envelope(output16k)
    n = min(len(er), len(eg))
    return pearson(er[:n], eg[:n])
