"""Signals read by slicing, without a copy in memory: a span of one, and one resampled where sliced.

``x[a:b]`` of a view reads only what that slice needs from the signal under it (an array, a
:class:`babelface.disk.DiskSignal`, another view). Used by the dub's mix (voice-overs of any length)
and by the aligner (a long transcript's synthetic speech), issue 16.
"""

from __future__ import annotations

import numpy as np

from babelface.disk import Sliced
from babelface.media.audio import resample


def to_mono(audio: np.ndarray) -> np.ndarray:
    """``(n,)`` or ``(n, C)`` → ``(n,)`` float32."""
    a = np.asarray(audio, np.float32)
    return a if a.ndim == 1 else a.mean(axis=1)



class Span(Sliced):
    """Samples ``a`` to ``b`` of a signal sliced like an array (an array, a :class:`DiskSignal`,
    another view), times ``gain``, read only where sliced: a part of a long voice-over cut, or
    made as loud as the original, without a copy of it in memory."""

    def __init__(self, signal, a: int = 0, b: int | None = None, gain: float = 1.0):
        n = len(signal)
        self.signal, self.a = signal, min(max(a, 0), n)
        self.b = max(self.a, min(n if b is None else b, n))
        self.gain = gain
        self.shape = (self.b - self.a, *np.shape(signal)[1:])

    def __getitem__(self, index) -> np.ndarray:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise IndexError("a span takes x[a:b]")
        lo, hi, _ = index.indices(len(self))
        x = np.asarray(self.signal[self.a + lo:self.a + max(lo, hi)], np.float32)
        return x if self.gain == 1.0 else x * self.gain       # float32, as (audio * gain) would be


class Resampled(Sliced):
    """A mono view of ``signal`` (``(n,)`` or ``(n, C)``, mixed to mono) at ``rate`` resampled to
    ``to``, computed where sliced: each slice is resampled from the input it needs plus enough
    context for SciPy's polyphase filter, in the filter's phase, so that ``view[a:b]`` equals
    ``resample(to_mono(signal), rate, to)[a:b]`` to float32 precision (each output sample is the
    same sum of the same inputs). A long voice-over is resampled without being held whole."""

    def __init__(self, signal, rate: int, to: int):
        from math import gcd
        g = gcd(rate, to)
        self.signal, self.rate, self.to = signal, rate, to
        self.up, self.down = to // g, rate // g
        self.n_in = len(signal)
        self.shape = (-(-self.n_in * self.up // self.down),)
        half = -(-10 * max(self.up, self.down) // self.up) + self.down   # resample_poly's half filter
        self.ctx = -(-half // self.down) * self.down                     # in input samples

    def __getitem__(self, index) -> np.ndarray:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise IndexError("a resampled view takes x[a:b]")
        a, b, _ = index.indices(len(self))
        if b <= a:
            return np.zeros(0, np.float32)
        up, down, n = self.up, self.down, self.n_in
        if up == down == 1:
            return to_mono(self.signal[a:b]).copy()
        s0 = (a * down // up) // down * down                 # input block in the filter's phase
        need = -(-b * down // up)                             # the input up to output b
        s1 = min(n, -(-need // down) * down)
        lo, hi = max(0, s0 - self.ctx), min(n, s1 + self.ctx)
        y = resample(to_mono(self.signal[lo:hi]), self.rate, self.to)
        first = (s0 - lo) * up // down + (a - s0 * up // down)
        return y[first:first + b - a].astype(np.float32, copy=False)
