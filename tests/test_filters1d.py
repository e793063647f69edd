"""SciPy's 1-D filters and ``special.i0``, repeated without importing SciPy: the same bits (issue 16)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.ndimage as nd
from scipy.special import i0

from babelface.media.audio import KAISER_BETA, HALF_LEN_PER_RATE, _i0
from babelface.motion import filters1d as f


def _inputs(seed: int, count: int = 400):
    rng = np.random.default_rng(seed)
    for k in range(count):
        n = int(rng.integers(1, 300))
        x = rng.normal(size=n) * rng.choice([1e-3, 1.0, 100.0]) + rng.choice([0.0, 50.0])
        if k % 4 == 0:                                       # runs of zeros, as F0 in pauses
            x = np.where(rng.random(n) < 0.5, 0.0, x)
        yield rng, x


def test_gaussian_filter1d_is_scipys():
    for rng, x in _inputs(0):
        sigma = float(rng.choice([0.5, 1.0, 1.5, 2.0, 2.7, 3.0]))
        np.testing.assert_array_equal(f.gaussian_filter1d(x, sigma), nd.gaussian_filter1d(x, sigma))


def test_maximum_filter1d_is_scipys():
    for rng, x in _inputs(1):
        size = int(rng.integers(1, 60))
        np.testing.assert_array_equal(f.maximum_filter1d(x, size), nd.maximum_filter1d(x, size))


@pytest.mark.parametrize("mode", ["nearest", "reflect"])
def test_uniform_filter1d_is_scipys(mode):
    for rng, x in _inputs(2):
        size = int(rng.integers(1, 60))
        np.testing.assert_array_equal(f.uniform_filter1d(x, size, mode=mode), nd.uniform_filter1d(x, size, mode=mode))
    with pytest.raises(ValueError, match="mode"):
        f.uniform_filter1d(np.zeros(3), 2, mode="wrap")


def test_i0_is_scipys_on_the_kaiser_windows_and_beyond():
    for max_rate in (2, 3, 147, 160, 320, 441):
        half = HALF_LEN_PER_RATE * max_rate
        m = np.arange(2 * half + 1) - half
        a = KAISER_BETA * np.sqrt(1 - (m / half) ** 2.0)
        np.testing.assert_array_equal(_i0(a), i0(a))
    x = np.random.default_rng(3).uniform(-30, 30, 20000)          # both Chebyshev branches
    np.testing.assert_array_equal(_i0(x), i0(x))


def test_say_s_head_motion_imports_no_scipy():
    """The head-motion process of `say` (Praat's analysis of 22.05 kHz espeak-ng speech, the head
    model) runs without SciPy: its import was ~0.18 s of CPU on `say`'s critical path."""
    code = ("import sys, numpy as np\n"
            "from babelface.pipeline import HeadOptions, _import_head_motion, head_motion\n"
            "_import_head_motion()\n"
            "rng = np.random.default_rng(0)\n"
            "audio = (0.1 * rng.normal(size=22050 * 3) * np.sin(np.arange(22050 * 3) / 900.0)).astype(np.float32)\n"
            "assert head_motion(audio, 22050, 75, HeadOptions()).shape[0] == 75\n"
            "print(sorted(m for m in sys.modules if m == 'scipy' or m.startswith('scipy.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
