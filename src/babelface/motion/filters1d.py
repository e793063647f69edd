"""Three 1-D filters of ``scipy.ndimage``, bit for bit, without importing it (issue 16, part 3).

The prosody and head model (`say`'s and `animate`'s head motion) smooth a few short curves per
job; importing ``scipy.ndimage`` for that costs ~0.18 s of CPU (most of it ``scipy.special``), on
`say`'s critical path: its head-motion process is still importing when the speech is ready.
Each function below repeats SciPy's own arithmetic (``ni_filters.c``: the same kernel, the same
boundary extension, the same order of additions), so the outputs are identical, not merely close
(``tests/test_filters1d.py`` compares them with SciPy's on random input, every size and sigma
used here and more).
"""

from __future__ import annotations

import numpy as np


def _extend(x: np.ndarray, before: int, after: int, mode: str) -> np.ndarray:
    """``x`` ``(n,)`` with ``before``/``after`` samples added as ``scipy.ndimage`` extends lines:
    ``reflect`` (d c b a | a b c d | d c b a) or ``nearest`` (a a a a | a b c d | d d d d)."""
    if mode == "reflect":
        return np.pad(x, (before, after), mode="symmetric")
    if mode == "nearest":
        return np.pad(x, (before, after), mode="edge")
    raise ValueError(f"mode must be 'reflect' or 'nearest', got {mode!r}")


def gaussian_weights(sigma: float, truncate: float = 4.0) -> tuple[np.ndarray, int]:
    """``scipy.ndimage``'s Gaussian kernel of ``sigma`` samples: its weights ``(2 r + 1,)`` (summing
    to one) and its radius ``r = int(truncate σ + 0.5)``."""
    radius = int(truncate * float(sigma) + 0.5)
    k = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (float(sigma) * float(sigma)) * k ** 2)
    return phi / phi.sum(), radius


def gaussian_filter1d(x: np.ndarray, sigma: float, truncate: float = 4.0, mode: str = "reflect") -> np.ndarray:
    """``scipy.ndimage.gaussian_filter1d(x, sigma, truncate=truncate, mode=mode)`` of float64 ``(n,)``."""
    x = np.asarray(x, np.float64)
    phi, radius = gaussian_weights(sigma, truncate)
    w = phi[::-1]                                            # correlate1d's weights (symmetric)
    n = len(x)
    ext = _extend(x, radius, radius, mode)                   # (n + 2 radius,)
    out = ext[radius:radius + n] * w[radius]
    for j in range(-radius, 0):                              # outermost pair first, as NI_Correlate1D
        out += (ext[radius + j:radius + j + n] + ext[radius - j:radius - j + n]) * w[radius + j]
    return out


def maximum_filter1d(x: np.ndarray, size: int, mode: str = "reflect") -> np.ndarray:
    """``scipy.ndimage.maximum_filter1d(x, size, mode=mode)`` of ``(n,)`` (origin 0)."""
    x = np.asarray(x)
    before = size // 2
    ext = _extend(x, before, size - 1 - before, mode)
    return np.lib.stride_tricks.sliding_window_view(ext, size).max(axis=1)


def uniform_filter1d(x: np.ndarray, size: int, mode: str = "reflect") -> np.ndarray:
    """``scipy.ndimage.uniform_filter1d(x, size, mode=mode)`` of float64 ``(n,)`` (origin 0): the
    running sum of NI_UniformFilter1D (the window's first sum, then each step's change added in
    order), each output that sum divided by ``size``."""
    x = np.asarray(x, np.float64)
    n = len(x)
    before = size // 2
    ext = _extend(x, before, size - 1 - before, mode)        # (n + size - 1,)
    first = 0.0
    for v in ext[:size].tolist():
        first += v
    steps = np.empty(n)
    steps[0] = first
    steps[1:] = ext[size:size + n - 1] - ext[:n - 1]
    return np.add.accumulate(steps) / size
