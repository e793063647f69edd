"""benchmarks/muex_pauses.py: the pause gate of MuEx's ship rule."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from muex_pauses import GATE, pause_ratio, ratios  # noqa: E402


def test_pause_ratio_reads_the_pause_frames_against_the_speech_frames():
    db = np.array([-50.0] * 4 + [-10.0] * 6 + [-30.0] * 3)       # pause, speech, neither
    gap = np.array([0.02] * 4 + [0.10] * 6 + [0.50] * 3)
    assert np.isclose(pause_ratio(gap, db), 0.2)
    assert np.isnan(pause_ratio(gap[2:], db[2:]))                  # 2 pause frames: no ratio
    assert np.isclose(pause_ratio(gap, db[:-3]), 0.2)              # trimmed to the shorter


def test_the_shipped_model_passes_and_a_mouth_held_open_fails(real):
    from babelface.models.muex import load_default
    from babelface.motion.articulatory_model import motion_inner_gap
    model = load_default()

    class HeldOpen:                     # the shipped motion's widest frame, held through the clip
        def predict_motion(self, audio):
            m = model.predict_motion(audio)
            return np.repeat(m[[int(np.argmax(motion_inner_gap(m)))]], len(m), axis=0)

    files = [real / "RD_Radio31_000.wav"]
    shipped, held = ratios(model, files)[0], ratios(HeldOpen(), files)[0]
    assert shipped < GATE and np.isclose(held, 1.0)
