"""benchmarks/muex_compare.py: the ship test's table, per clip and, for recipes, with their seeds' spread."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

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


def test_the_unseen_ratio_is_the_mean_over_unseen_clips_over_the_mean_over_seen_clips():
    from muex_compare import ratio_rows, unseen_ratio
    # seen: English 0.0140 × 40 and Thai 0.0120 × 10 (clip-weighted mean 0.0136); unseen: Korean 0.0150 × 20
    f = {"en": scores(0.0140, 0.8), "th": scores(0.0120, 0.8, n=10), "ko": scores(0.0150, 0.8, n=20)}
    seen, unseen, ratio = unseen_ratio(f)
    assert np.isclose(seen, 0.0136) and np.isclose(unseen, 0.0150)
    assert np.isclose(ratio, 0.0150 / 0.0136)                           # 1.1029, not (0.0150 / 0.0130)
    table = ratio_rows([("A", "a.safetensors", f)])
    assert table[-1] == "| A | `a.safetensors` | 0.013600 | 0.015000 | 1.1029 |"


def test_paired_reads_a_muex_name_or_a_whole_row_name(tmp_path, monkeypatch):
    """`muex_select.py paired` pairs per clip from real_clips.py's cache: `s41` is the row
    "MuEx (s41)", a name with no such row is the row of that name ("muex-real + median style")."""
    import json
    from types import SimpleNamespace
    import muex_select
    from babelface.data import manifest
    from babelface.errors import InputError
    clips = [SimpleNamespace(id=f"c{k}", split="val", audio="a.wav") for k in range(3)]
    clips.append(SimpleNamespace(id="t0", split="test", audio="a.wav"))
    monkeypatch.setattr(manifest, "load_manifest", lambda root: clips)
    row = lambda t: {"tmdc": t, "tmdc_best": t, "lse_d": 0.05, "gap_ratio": 1.0, "width_gap": 0.6}
    cache = {}
    for k, (a, b) in enumerate(((0.2, 0.3), (0.1, 0.15), (0.4, 0.38))):
        cache[f"MuEx (s41)|c{k}"] = row(a)
        cache[f"muex-real + median style|c{k}"] = row(b)
    path = tmp_path / "cache.json"
    path.write_text(json.dumps(cache))
    monkeypatch.setattr(muex_select, "CACHE", path)
    lines = muex_select.paired_rows("val", "s41", ["muex-real + median style"], tmp_path)
    last = lines[-1].split(" | ")
    assert last[0] == "| muex-real + median style" and last[1] == "0.300"
    assert last[2].startswith("+0.043") and last[3] == "2/1"
    with pytest.raises(InputError, match="no real_clips.py score of MuEx \\(nope\\)"):
        muex_select.paired_rows("val", "nope", [], tmp_path)
