"""Issue 12 "no behaviour changes": the shipped MuEx, the shipped sync expert and the text path
give the values pinned before the kit refactor (tests/data/pinned_outputs.json, written by
scripts/pin_outputs.py; rerun it with --write only after retraining the shipped weights).

The values are computed in a fresh process: espeak-ng's waveform (which the text path's DTW
aligns against) can differ between calls within one process (see test_speed.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PINNED = json.loads((ROOT / "tests" / "data" / "pinned_outputs.json").read_text())
TOL = 2e-5


@pytest.fixture(scope="module")
def computed(real) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), BABELFACE_REAL_DATA=str(real), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "pin_outputs.py")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _close(got, want, path=""):
    if isinstance(want, dict):
        assert set(got) == set(want), path
        for k in want:
            _close(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list) and want and isinstance(want[0], (list, float)):
        np.testing.assert_allclose(np.array(got, float), np.array(want, float), atol=TOL, rtol=0,
                                   err_msg=path)
    else:
        assert got == want, path


@pytest.mark.parametrize("part", ["muex", "sync_expert", "text", "text_audio"])
def test_shipped_outputs_are_unchanged(computed, part):
    _close(computed[part], PINNED[part], part)


def test_the_pins_can_fail():
    moved = json.loads(json.dumps(PINNED["muex"]))
    moved["values"][0][0][1] += 1e-3
    with pytest.raises(AssertionError):
        _close(moved, PINNED["muex"])
