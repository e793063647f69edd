"""Shared fixtures: the real media of ../shared/data/real, tiny synthetic inputs, temp folders."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("BABELFACE_QUIET", "1")


def _find_real() -> Path | None:
    candidates = [os.environ.get("BABELFACE_REAL_DATA"), ROOT.parent / "shared" / "data" / "real",
                  Path("/work/shared/data/real")]
    for c in candidates:
        if c and (Path(c) / "WDA_KatieHill_000.mp4").exists():
            return Path(c)
    return None


REAL = _find_real()


@pytest.fixture(scope="session")
def real() -> Path:
    """The folder of real test media (set BABELFACE_REAL_DATA to point elsewhere)."""
    if REAL is None:
        pytest.skip("real test media not found: set BABELFACE_REAL_DATA to shared/data/real")
    return REAL


@pytest.fixture(scope="session")
def portrait_path() -> Path:
    from importlib import resources
    return Path(str(resources.files("babelface.assets").joinpath("astronaut.png")))


@pytest.fixture(scope="session")
def portrait(portrait_path):
    from babelface.face.landmarks import load_image
    return load_image(portrait_path)


@pytest.fixture(scope="session")
def portrait_landmarks(portrait):
    from babelface.face.landmarks import detect_landmarks
    return detect_landmarks(portrait)


@pytest.fixture(scope="session")
def katie_landmarks(real):
    """(200, 478, 3) pixel landmarks of the real HDTF clip, computed once per session."""
    from babelface.face.landmarks import landmarks_sequence
    from babelface.media import read_frames
    return landmarks_sequence(read_frames(real / "WDA_KatieHill_000.mp4"))


@pytest.fixture
def tone():
    """One second of a 220 Hz tone at 16 kHz, float32."""
    t = np.arange(16000) / 16000
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
