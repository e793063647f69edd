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

from babelface.constants import SAMPLE_RATE
from babelface.media.audio import resample

RAMP_S = 0.05                  # fade between kept and ducked original
MIN_LOUDNESS_BLOCK_S = 0.1     # BS.1770 gating blocks are 400 ms; shorter parts use one block
PEAK = 0.99                    # the mix under speech never exceeds this
SILENT_LUFS = -70.0            # BS.1770's absolute gate: quieter is silence
MIX_BLOCK = 1 << 18            # samples mixed at a time (≈ 5.5 s at 48 kHz)


def _merged(spans, rate: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, merged sample spans ``[start, end)`` within ``[0, n)``: (starts, ends) int64."""
    idx = sorted((max(0, int(round(a * rate))), min(n, int(round(b * rate)))) for a, b in spans)
    out: list[list[int]] = []
    for i, j in idx:
        if j <= i:
            continue
        if out and i <= out[-1][1]:
            out[-1][1] = max(out[-1][1], j)
        else:
            out.append([i, j])
    arr = np.array(out, np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def _gain_block(b0: int, b1: int, starts: np.ndarray, ends: np.ndarray, ramp: int,
                depth: float) -> np.ndarray:
    """The duck gain over samples ``[b0, b1)`` ``(b1 − b0,)`` float32 (see :func:`duck_gain`)."""
    t = np.arange(b0, b1, dtype=np.int64)
    k = np.searchsorted(starts, t, side="right") - 1          # the last span starting at or before t
    prev_end = np.where(k >= 0, ends[np.maximum(k, 0)], -(1 << 40))
    inside = t < prev_end
    nxt = np.where(k + 1 < len(starts), starts[np.minimum(k + 1, len(starts) - 1)], 1 << 40)
    dist = np.minimum(t - prev_end + 1, nxt - t)               # samples to the nearest span sample
    w = 0.5 - 0.5 * np.cos(np.pi * np.clip(dist, 0, ramp) / ramp)   # 0 at a span, 1 a ramp away
    gain = np.where(inside, depth, depth + (1.0 - depth) * w)
    return np.where(~inside & (dist >= ramp), 1.0, gain).astype(np.float32)


def duck_gain(n: int, rate: int, spans, background_db: float | None,
              ramp_s: float = RAMP_S) -> np.ndarray:
    """Gain on the original track ``(n,)`` float32: exactly 1 outside ``spans`` (seconds) widened by
    ``ramp_s``, ``10^(background_db/20)`` inside (0 when ``None``), raised-cosine ramps between."""
    starts, ends = _merged(spans, rate, n)
    if not len(starts):
        return np.ones(n, np.float32)
    return _gain_block(0, n, starts, ends, max(1, int(round(ramp_s * rate))), _depth(background_db))


def _depth(background_db: float | None) -> float:
    return 0.0 if background_db is None else float(10.0 ** (background_db / 20.0))


def _regions(starts: np.ndarray, ends: np.ndarray, ramp: int, n: int, block: int):
    """Sample ranges ``[b0, b1)`` (at most ``block`` long) covering the spans and their ramps."""
    lo, hi = np.maximum(starts - ramp, 0), np.minimum(ends + ramp, n)
    merged: list[list[int]] = []
    for a, b in zip(lo.tolist(), hi.tolist()):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    for a, b in merged:
        for b0 in range(a, b, block):
            yield b0, min(b, b0 + block)


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


def mono16k(audio: np.ndarray, rate: int, block_s: float = 30.0) -> np.ndarray:
    """``(n,)`` or ``(n, C)`` at ``rate`` → mono 16 kHz ``(m,)`` float32, resampled block by block
    (each block with enough context for SciPy's polyphase filter, so the result equals the whole
    signal's resampling to float32 precision) instead of in one float64 piece the signal's size."""
    from math import gcd
    up, down = SAMPLE_RATE // gcd(rate, SAMPLE_RATE), rate // gcd(rate, SAMPLE_RATE)
    n = len(audio)
    if up == down == 1:
        return to_mono(audio).copy()
    half = -(-10 * max(up, down) // up) + down        # resample_poly's half filter, in input samples
    ctx = -(-half // down) * down
    step = max(down, int(block_s * rate) // down * down)
    out = []
    for s0 in range(0, n, step):
        s1 = min(n, s0 + step)
        lo, hi = max(0, s0 - ctx), min(n, s1 + ctx)
        y = resample(to_mono(audio[lo:hi]), rate, SAMPLE_RATE)
        skip = (s0 - lo) * up // down
        out.append(y[skip:skip + -(-(s1 - s0) * up // down)])
    y = np.concatenate(out) if out else np.zeros(0, np.float32)
    return y[:-(-n * up // down)].astype(np.float32, copy=False)


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
    mono ``stem`` (n,) on every channel. Outside the ducked spans and their ramps (where the stem is
    silent: it lies within ``duck_spans``) the original's samples are copied unchanged. Worked
    block by block over the ducked regions only, so memory does not grow with the video."""
    n = len(stem)
    if original is None:
        return np.repeat(np.clip(stem, -1.0, 1.0)[:, None], channels, axis=1).astype(np.float32)
    out = np.array(fit_length(np.asarray(original, np.float32), n), np.float32, copy=True)   # (n, C)
    starts, ends = _merged(duck_spans, rate, n)
    ramp, depth = max(1, int(round(RAMP_S * rate))), _depth(background_db)
    regions = list(_regions(starts, ends, ramp, n, MIX_BLOCK))
    peak_mix = peak_bed = peak_voice = 0.0
    for b0, b1 in regions:               # pass 1: would the new speech clip?
        bed = out[b0:b1] * _gain_block(b0, b1, starts, ends, ramp, depth)[:, None]
        peak_mix = max(peak_mix, float(np.abs(bed + stem[b0:b1, None]).max()))
        peak_bed = max(peak_bed, float(np.abs(bed).max()))
        peak_voice = max(peak_voice, float(np.abs(stem[b0:b1]).max()))
    scale = 1.0
    if peak_mix > PEAK:                  # the new speech would clip: scale it, never the kept original
        scale = max(PEAK - peak_bed, 0.0) / max(peak_voice, 1e-9)
    for b0, b1 in regions:               # pass 2: write
        g = _gain_block(b0, b1, starts, ends, ramp, depth)
        voice = stem[b0:b1] * np.float32(scale)
        touched = (g != 1.0) | (voice != 0.0)
        seg = out[b0:b1]
        seg[touched] = np.clip(seg[touched] * g[touched, None] + voice[touched, None], -1.0, 1.0)
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
