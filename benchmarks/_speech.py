"""Long real speech for the speed and memory benchmarks: the real clips of ``data/real/speech``
(15 languages, clean and noisy) tiled end to end to any length, as 16-bit 16 kHz mono WAV."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from _common import real_dir

CACHE = Path(tempfile.gettempdir()) / "babelface-bench"


def long_speech(seconds: float) -> Path:
    """A WAV of ``seconds`` of real speech (cached under the temp folder)."""
    from babelface.constants import SAMPLE_RATE
    from babelface.media import load_audio, save_wav
    path = CACHE / f"speech_{seconds:g}s.wav"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    clips = [load_audio(p) for p in sorted((real_dir() / "speech").iterdir())]
    n = int(seconds * SAMPLE_RATE)
    reps = -(-n // sum(len(c) for c in clips))
    save_wav(path, np.concatenate(clips * reps)[:n], SAMPLE_RATE)
    return path
