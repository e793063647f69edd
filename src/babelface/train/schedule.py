"""Learning-rate schedule (MuEx E.2, C.6): linear warm-up, then cosine decay to a floor."""

from __future__ import annotations

import math


def learning_rate(step: int, base: float, warmup: int, total: int, min_ratio: float) -> float:
    """LR for optimizer step ``step`` (0-based): ``base · (step + 1) / warmup`` during warm-up, then
    ``base · (r + (1 − r) · ½ (1 + cos(π p)))`` with ``p`` going 0 → 1 until ``total``, ``r = min_ratio``."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))
