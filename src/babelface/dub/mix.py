"""The dubbed soundtrack: the new speech over the original track, ducked under speech.

- **Kept**: outside the original speech and the new speech (plus a short ramp), the output is the
  original track, sample for sample (pauses, laughter, music, background).
- **Ducked**: over the original speech and the new speech, the original is attenuated by
  ``background_db`` (−24 dB by default; ``None`` removes it), with raised-cosine ramps of
  ``RAMP_S`` laid in the neighbouring pause, so there are no clicks and no speech onset leaks.
  The original's own voice is under the ducked part too: without source separation a dub keeps
  it ``background_db`` down, as broadcast voice-over does.
- **Loudness**: the new speech is matched to the original speech's loudness by ITU-R BS.1770-4
  (K-weighted, gated) through pyloudnorm, part by part when parts are given (short-term: each part
  of new speech as loud as the original speech it replaces), so the envelope follows the
  original's (JUST-DUB-IT's Int-Corr).
"""

from __future__ import annotations

import numpy as np

from babelface.media.audio import resample

RAMP_S = 0.05                  # fade between kept and ducked original
MIN_LOUDNESS_BLOCK_S = 0.1     # BS.1770 gating blocks are 400 ms; shorter parts use one block
PEAK = 0.99                    # the mix under speech never exceeds this
SILENT_LUFS = -70.0            # BS.1770's absolute gate: quieter is silence


def _spans_to_index(spans, rate: int, n: int) -> list[tuple[int, int]]:
    out = []
    for a, b in spans:
        i, j = max(0, int(round(a * rate))), min(n, int(round(b * rate)))
        if j > i:
            out.append((i, j))
    return out


def duck_gain(n: int, rate: int, spans, background_db: float | None,
              ramp_s: float = RAMP_S) -> np.ndarray:
    """Gain on the original track ``(n,)`` float32: exactly 1 outside ``spans`` (seconds) widened by
    ``ramp_s``, ``10^(background_db/20)`` inside (0 when ``None``), raised-cosine ramps between."""
    depth = 0.0 if background_db is None else float(10.0 ** (background_db / 20.0))
    inside = np.zeros(n, bool)
    for i, j in _spans_to_index(spans, rate, n):
        inside[i:j] = True
    gain = np.where(inside, np.float32(depth), np.float32(1.0)).astype(np.float32)
    r = max(1, int(round(ramp_s * rate)))
    # distance (samples) from every outside sample to the nearest inside one, capped at the ramp
    dist = np.full(n, r, np.int64)
    idx = np.flatnonzero(inside)
    if len(idx):
        starts = idx[np.r_[True, np.diff(idx) > 1]]
        ends = idx[np.r_[np.diff(idx) > 1, True]]
        for s in starts:
            lo = max(0, s - r)
            dist[lo:s] = np.minimum(dist[lo:s], s - np.arange(lo, s))
        for e in ends:
            hi = min(n, e + 1 + r)
            dist[e + 1:hi] = np.minimum(dist[e + 1:hi], np.arange(e + 1, hi) - e)
    ramp = ~inside & (dist < r)
    w = 0.5 - 0.5 * np.cos(np.pi * dist[ramp] / r)          # 0 at the span, 1 a ramp away
    gain[ramp] = (depth + (1.0 - depth) * w).astype(np.float32)
    return gain


def loudness(audio: np.ndarray, rate: int) -> float:
    """BS.1770-4 integrated loudness (LUFS) of a mono ``(n,)`` signal; ``SILENT_LUFS`` when silent
    or too short to measure."""
    import pyloudnorm
    x = np.asarray(audio, np.float64)
    dur = len(x) / rate
    if dur < MIN_LOUDNESS_BLOCK_S:
        return SILENT_LUFS
    meter = pyloudnorm.Meter(rate, block_size=min(0.4, dur))
    with np.errstate(divide="ignore"):
        value = float(meter.integrated_loudness(x))
    return value if np.isfinite(value) and value > SILENT_LUFS else SILENT_LUFS


def matching_gain(new: np.ndarray, reference: np.ndarray, rate: int) -> float:
    """Linear gain that makes ``new`` as loud (BS.1770) as ``reference`` (both mono at ``rate``);
    1 when either is silent."""
    ln, lr = loudness(new, rate), loudness(reference, rate)
    if ln <= SILENT_LUFS or lr <= SILENT_LUFS:
        return 1.0
    return float(10.0 ** ((lr - ln) / 20.0))


def to_mono(audio: np.ndarray) -> np.ndarray:
    """``(n,)`` or ``(n, C)`` → ``(n,)`` float32."""
    a = np.asarray(audio, np.float32)
    return a if a.ndim == 1 else a.mean(axis=1)


def fit_length(audio: np.ndarray, n: int) -> np.ndarray:
    """Cut or zero-pad along time to exactly ``n`` samples."""
    if len(audio) >= n:
        return audio[:n]
    return np.concatenate([audio, np.zeros((n - len(audio),) + audio.shape[1:], audio.dtype)])


def place(pieces, n: int, rate: int) -> np.ndarray:
    """Mono stem ``(n,)`` at ``rate`` from ``(start_s, audio, audio_rate)`` pieces (cut at ``n``)."""
    stem = np.zeros(n, np.float32)
    for start, audio, src_rate in pieces:
        x = resample(np.asarray(audio, np.float32), src_rate, rate)
        i = int(round(start * rate))
        if i >= n:
            continue
        x = x[:n - i]
        stem[i:i + len(x)] += x
    return stem


def mix(original: np.ndarray | None, stem: np.ndarray, rate: int, duck_spans,
        background_db: float | None, channels: int) -> np.ndarray:
    """Output ``(n, channels)`` float32: ``original`` (n, C) ducked over ``duck_spans`` plus the
    mono ``stem`` (n,) on every channel. Outside the ducked spans and their ramps, where the stem is
    silent, the original's samples are copied unchanged."""
    n = len(stem)
    if original is None:
        return np.repeat(np.clip(stem, -1.0, 1.0)[:, None], channels, axis=1).astype(np.float32)
    out = np.array(fit_length(np.asarray(original, np.float32), n), np.float32, copy=True)   # (n, C)
    gain = duck_gain(n, rate, duck_spans, background_db)
    touched = (gain != 1.0) | (stem != 0.0)
    bed = out[touched] * gain[touched, None]
    voice = stem[touched, None]
    peak = float(np.max(np.abs(bed + voice))) if len(bed) else 0.0
    if peak > PEAK:      # keep the new speech from clipping: scale it, never the kept original
        room = max(PEAK - float(np.max(np.abs(bed))), 0.0)
        voice = voice * (room / max(float(np.max(np.abs(voice))), 1e-9))
    out[touched] = np.clip(bed + voice, -1.0, 1.0)
    return out


CONTOUR_WINDOW_S, CONTOUR_HOP_S = 0.4, 0.1     # BS.1770's momentary loudness window, 100 ms hop
CONTOUR_CUT_DB, CONTOUR_BOOST_DB = -12.0, 6.0  # how far the contour may move the new speech
QUIET_DB = -20.0                               # below its own mean: a gap of the new speech, never boosted


def _level_db(x: np.ndarray, rate: int) -> np.ndarray:
    from babelface.media.audio import rms_envelope
    hop = max(1, int(round(CONTOUR_HOP_S * rate)))
    env = rms_envelope(np.asarray(x, np.float32), hop=hop, win=int(round(CONTOUR_WINDOW_S * rate)))
    return 20.0 * np.log10(np.maximum(env, 1e-6))


def follow_contour(new: np.ndarray, reference: np.ndarray, rate: int) -> np.ndarray:
    """``new`` (n,) with the slow loudness contour (400 ms windows) of ``reference`` (same span,
    same rate) imposed on it: gain(t) = (L_ref(t) − mean L_ref) − (L_new(t) − mean L_new) in dB,
    clipped to [``CONTOUR_CUT_DB``, ``CONTOUR_BOOST_DB``], never a boost in the new speech's own gaps.
    The speaker's emphasis and trailing-off carry over to the dub."""
    n = len(new)
    ref = fit_length(np.asarray(reference, np.float32), n)
    ln, lr = _level_db(new, rate), _level_db(ref, rate)
    m = min(len(ln), len(lr))
    ln, lr = ln[:m], lr[:m]
    loud_n, loud_r = ln > ln.max() + QUIET_DB, lr > lr.max() + QUIET_DB
    if loud_n.sum() < 2 or loud_r.sum() < 2:
        return new
    g = np.clip((lr - lr[loud_r].mean()) - (ln - ln[loud_n].mean()), CONTOUR_CUT_DB, CONTOUR_BOOST_DB)
    g = np.where(loud_n, g, np.minimum(g, 0.0))
    t = (np.arange(m) + 0.5) * CONTOUR_HOP_S * rate
    gain = 10.0 ** (np.interp(np.arange(n), t, g) / 20.0)
    return (new * gain).astype(np.float32)
