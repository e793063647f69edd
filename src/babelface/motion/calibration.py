"""The calibration file, ``motion/calibration.json``: fitted constants of the articulation with their
provenance (the command, the data, the curve that chose each value).

It is the one place where the visual leads live (issues 10 and 11): the ``coarticulation`` block
(opening, closure and shape leads, fitted on real speakers by scripts/calibrate_articulation.py)
is what :mod:`babelface.motion.articulation` uses for every phoneme motion (``say``, ``animate
--text``, ``dub``, the benchmark's ground truth), and ``sync_lead_scan`` (benchmarks/lead_scan.py)
is the sync expert's reading of the motion against its own speech at each lead. Each writer
replaces only its own blocks (:func:`update_calibration`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

PATH = Path(__file__).with_name("calibration.json")


@lru_cache(maxsize=1)
def calibration() -> dict:
    """The calibration file's content (read once)."""
    return json.loads(PATH.read_text(encoding="utf-8"))


def leads() -> dict[str, float]:
    """The visual leads in seconds: ``{"opening": …, "closure": …, "shape": …}``."""
    c = calibration()["coarticulation"]
    return {g: float(c[f"lead_{g}_s"]) for g in ("opening", "closure", "shape")}


def update_calibration(blocks: dict, path: Path = PATH) -> Path:
    """Replace the top-level ``blocks`` of the calibration file (the others are kept), atomically."""
    from babelface.media._atomic import atomic_path
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data.update(blocks)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    if path == PATH:
        calibration.cache_clear()
    return path
