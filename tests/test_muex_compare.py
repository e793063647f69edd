"""benchmarks/muex_compare.py: the ship test's table, per clip and, for recipes, with their seeds' spread."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from muex_compare import rows, seed_mean  # noqa: E402


def scores(lse: float, tmdc: float, n: int = 40, jitter: float = 0.0, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [(lse + jitter * rng.standard_normal(), tmdc) for _ in range(n)]


def test_a_change_within_a_reseeds_reach_is_not_worse_and_one_beyond_it_is():
    # two seeds of the before recipe: Korean 0.0150 / 0.0155 (they differ by 0.0005), Hindi 0.0158 twice
    a0 = {"ko": scores(0.0150, 0.80, jitter=1e-5), "hi": scores(0.0158, 0.81, jitter=1e-5, seed=1)}
    a1 = {"ko": scores(0.0155, 0.80, jitter=1e-5, seed=2), "hi": scores(0.0158, 0.81, jitter=1e-5, seed=3)}
    after = {"ko": scores(0.0156, 0.80, jitter=1e-5, seed=4), "hi": scores(0.0162, 0.81, jitter=1e-5, seed=5)}
    before = seed_mean([a0, a1])
    assert np.allclose(np.asarray(before["ko"])[:, 0].mean(), 0.01525, atol=1e-5)
    per_clip = "\n".join(rows(before, seed_mean([after])))             # the interval over clips alone
    assert "Korean **worse**" in per_clip and "Hindi **worse**" in per_clip
    by_seeds = "\n".join(rows(before, seed_mean([after]), [a0, a1]))
    assert "Korean **worse**" not in by_seeds and "| Korean |" in by_seeds   # +0.00035 < 0.0005
    assert "Hindi **worse**" in by_seeds                                 # +0.0004 where the seeds agree
    assert "before's seeds differ" in by_seeds.splitlines()[0]
