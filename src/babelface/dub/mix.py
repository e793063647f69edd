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

Memory: the soundtrack at the output rate is never held whole. The new speech stem is a
:class:`DiskSignal` (an unlinked temporary file), the original is read from the speech spool
(:mod:`babelface.media.spool`) and the mix is :class:`Mixed`, computed slice by slice as the
video writer asks for it, so a long video's audio costs disk, not memory.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from babelface.constants import SAMPLE_RATE
from babelface.disk import DiskSignal
from babelface.disk import Sliced as _Sliced
from babelface.media.views import Resampled, Span, to_mono  # noqa: F401  (Span: part of this module's API)


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


LOUDNESS_CHUNK_S = 10.0      # the meter filters this much at a time (float64), whatever the length


def loudness(audio: np.ndarray, rate: int) -> float:
    """BS.1770-4 integrated loudness (LUFS) of a mono ``(n,)`` signal, or of the mono mix of an
    ``(n, C)`` one (an array or anything sliced like one); ``SILENT_LUFS`` when silent or too short
    to measure.

    pyloudnorm's meter (its K-weighting filters, its 400 ms blocks with 75 % overlap, its absolute
    and relative gates: the same figure to float rounding), fed :data:`LOUDNESS_CHUNK_S` at a time:
    its ``integrated_loudness`` copies and filters the whole signal in float64, three times its
    size (a 10-minute 48 kHz voice-over: ~700 MB)."""
    import pyloudnorm
    n = len(audio)
    dur = n / rate
    if dur < MIN_LOUDNESS_BLOCK_S:
        return SILENT_LUFS
    meter = pyloudnorm.Meter(rate, block_size=min(0.4, dur))
    t_g, step = meter.block_size, 1.0 - meter.overlap
    n_blocks = int(np.round((dur - t_g) / (t_g * step))) + 1
    j = np.arange(n_blocks)
    lo = (t_g * (j * step) * rate).astype(np.int64)                       # pyloudnorm's bounds
    hi = np.minimum((t_g * (j * step + 1) * rate).astype(np.int64), n)
    lo = np.minimum(lo, hi)
    marks = np.unique(np.r_[lo, hi])                                        # sorted block bounds
    energy = _prefix_energy(audio, rate, list(meter._filters.values()), marks)
    z = (energy[np.searchsorted(marks, hi)] - energy[np.searchsorted(marks, lo)]) / (t_g * rate)   # (J,) eq. 1
    with np.errstate(divide="ignore"):
        block = -0.691 + 10.0 * np.log10(z)                                 # eq. 4
        above = block >= -70.0                                              # absolute gate
        if not above.any():
            return SILENT_LUFS
        relative = -0.691 + 10.0 * np.log10(z[above].mean()) - 10.0         # eq. 6
        gated = (block > relative) & (block > -70.0)
        value = -0.691 + 10.0 * np.log10(z[gated].mean()) if gated.any() else -np.inf   # eq. 7
    value = float(value)
    return value if np.isfinite(value) and value > SILENT_LUFS else SILENT_LUFS


def _prefix_energy(audio, rate: int, filters, marks: np.ndarray) -> np.ndarray:
    """``(M,)`` the sum of squares of the K-weighted signal before each of the sorted sample
    indices ``marks``; the filters run chunk by chunk with their state carried."""
    from scipy.signal import lfilter, lfilter_zi
    n = len(audio)
    states = [lfilter_zi(f.b, f.a) * 0.0 for f in filters]
    total = 0.0
    values = np.zeros(len(marks))
    k = 0
    chunk = max(int(LOUDNESS_CHUNK_S * rate), 1)
    while k < len(marks) and marks[k] <= 0:
        k += 1
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        y = to_mono(audio[a:b]).astype(np.float64)
        for i, f in enumerate(filters):
            y, states[i] = lfilter(f.b, f.a, y, zi=states[i])
            y = f.passband_gain * y
        sq = np.cumsum(np.square(y))                                         # (b - a,)
        while k < len(marks) and marks[k] <= b:
            values[k] = total + sq[marks[k] - a - 1]
            k += 1
        total += float(sq[-1]) if len(sq) else 0.0
    return values


def matching_gain(new: np.ndarray, reference: np.ndarray, rate: int) -> float:
    """Linear gain that makes ``new`` as loud (BS.1770) as ``reference`` (both mono at ``rate``);
    1 when either is silent."""
    ln, lr = loudness(new, rate), loudness(reference, rate)
    if ln <= SILENT_LUFS or lr <= SILENT_LUFS:
        return 1.0
    return float(10.0 ** ((lr - ln) / 20.0))


def mono16k(audio, rate: int, block_s: float = 10.0) -> np.ndarray:
    """``(n,)`` or ``(n, C)`` at ``rate`` → mono 16 kHz ``(m,)`` float32, resampled block by block
    (:func:`mono16k_blocks`) instead of in one float64 piece the signal's size."""
    blocks = list(mono16k_blocks(audio, rate, block_s))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


def mono16k_disk(audio, rate: int) -> DiskSignal:
    """:func:`mono16k` on disk (:class:`DiskSignal`), written block by block: the analysis audio
    of a long video costs disk, not memory."""
    return DiskSignal.of(mono16k_blocks(audio, rate), -(-len(audio) * SAMPLE_RATE // rate))


def mono16k_blocks(audio, rate: int, block_s: float = 10.0) -> Iterator[np.ndarray]:
    """The blocks of :func:`mono16k`, one at a time (:class:`Resampled`): together they equal the
    whole signal's resampling to float32 precision. ``audio``: an array or anything sliced like one
    (:class:`DiskSignal`, :class:`Mixed`, :class:`Span`)."""
    view = Resampled(audio, rate, SAMPLE_RATE)
    step = max(1, int(block_s * SAMPLE_RATE))
    for a in range(0, len(view), step):
        yield view[a:a + step]


def fit_length(audio: np.ndarray, n: int) -> np.ndarray:
    """Cut or zero-pad along time to exactly ``n`` samples."""
    if len(audio) >= n:
        return audio[:n]
    return np.concatenate([audio, np.zeros((n - len(audio),) + audio.shape[1:], audio.dtype)])


def place(stem: DiskSignal, start: float, audio, audio_rate: int, rate: int) -> None:
    """Add ``audio`` (mono at ``audio_rate``: an array or anything sliced like one) to ``stem``
    (at ``rate``) from ``start`` seconds, :data:`MIX_BLOCK` samples at a time."""
    i = int(round(start * rate))
    view = Resampled(audio, audio_rate, rate)               # (the whole resampling's samples)
    for k in range(0, min(len(view), len(stem) - i), MIX_BLOCK):
        stem.add(i + k, view[k:k + MIX_BLOCK])


class Mixed(_Sliced):
    """The output soundtrack ``(n, C)`` float32, computed for each slice asked for (the video
    writer's): the original ducked over the spans plus the stem scaled so that it never clips.
    Outside the ducked spans and their ramps the original's samples are copied unchanged."""

    def __init__(self, original, stem, rate: int, duck_spans, background_db: float | None,
                 channels: int):
        self.original, self.stem = original, stem
        self.shape = (len(stem), channels)
        self.starts, self.ends = _merged(duck_spans, rate, len(stem))
        self.ramp, self.depth = max(1, int(round(RAMP_S * rate))), _depth(background_db)
        self.scale = 1.0 if original is None else self._voice_scale()

    def _voice_scale(self) -> float:
        """1, or less when the new speech over the ducked original would pass :data:`PEAK`
        (the new speech is scaled, never the kept original)."""
        peak_mix = peak_bed = peak_voice = 0.0
        for b0, b1 in _regions(self.starts, self.ends, self.ramp, len(self), MIX_BLOCK):
            bed = self._original(b0, b1) * self._gain(b0, b1)[:, None]
            voice = self.stem[b0:b1]
            peak_mix = max(peak_mix, float(np.abs(bed + voice[:, None]).max()))
            peak_bed = max(peak_bed, float(np.abs(bed).max()))
            peak_voice = max(peak_voice, float(np.abs(voice).max()))
        return 1.0 if peak_mix <= PEAK else max(PEAK - peak_bed, 0.0) / max(peak_voice, 1e-9)

    def _gain(self, b0: int, b1: int) -> np.ndarray:
        if not len(self.starts):
            return np.ones(b1 - b0, np.float32)
        return _gain_block(b0, b1, self.starts, self.ends, self.ramp, self.depth)

    def _original(self, b0: int, b1: int) -> np.ndarray:
        """The original's samples ``[b0, b1)`` ``(b1 − b0, C)``, zeros past its end."""
        out = np.zeros((b1 - b0, self.shape[1]), np.float32)
        part = np.asarray(self.original[b0:min(b1, len(self.original))], np.float32)
        if len(part):
            out[:len(part)] = part.reshape(len(part), -1)[:, :self.shape[1]]
        return out

    def __getitem__(self, index) -> np.ndarray:
        if isinstance(index, tuple):
            return self[index[0]][(slice(None), *index[1:])]
        if not isinstance(index, slice):
            raise IndexError("Mixed takes slices (x[a:b])")
        b0, b1, step = index.indices(len(self))
        b1 = max(b0, b1)
        voice = self.stem[b0:b1] * np.float32(self.scale)
        if self.original is None:
            return np.repeat(np.clip(voice, -1.0, 1.0)[:, None], self.shape[1], 1)[::step]
        out = self._original(b0, b1)
        g = self._gain(b0, b1)
        touched = (g != 1.0) | (voice != 0.0)
        out[touched] = np.clip(out[touched] * g[touched, None] + voice[touched, None], -1.0, 1.0)
        return out[::step]


def mix(original, stem, rate: int, duck_spans, background_db: float | None, channels: int) -> Mixed:
    """Output ``(n, channels)`` float32 (computed slice by slice, :class:`Mixed`): ``original``
    ``(n, C)`` (an array or :class:`DiskSignal`) ducked over ``duck_spans`` plus the mono ``stem``
    ``(n,)`` on every channel. Outside the ducked spans and their ramps (where the stem is silent:
    it lies within ``duck_spans``) the original's samples are copied unchanged."""
    return Mixed(original, stem, rate, duck_spans, background_db, channels)


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
