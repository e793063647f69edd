"""The motion representation: the one place where landmarks become motion and back.

**Motion** (ARCHITECTURE.md) is float32 ``(T, L, 3)`` at 25 fps, ``L = N_MOTION`` points
(:data:`babelface.face.indices.MOTION_INDICES`: lips, jaw, chin, cheeks), in the canonical frame of
:mod:`babelface.face.align` (unit = inter-ocular distance), as the displacement from the speaker's
*neutral* face (mouth closed and relaxed). It carries no identity: adding it to any person's
neutral canonical landmarks and mapping back through that person's head pose animates them.

The neutral of a recorded clip is estimated from the clip itself (:func:`estimate_neutral`):
the per-landmark median over the frames whose inner-lip gap is in the lowest decile, with the
inner lips then closed at their midline. A portrait's neutral is its own landmarks with the inner
lips closed the same way (:func:`close_mouth`), so that an open-mouthed portrait rests closed.
"""

from __future__ import annotations

import numpy as np

from babelface.face.align import Similarity, to_canonical
from babelface.face.indices import (LIP_INNER_LOWER, LIP_INNER_UPPER, LIP_MID_INNER, MOTION_INDICES,
                                    N_MOTION)

_MOTION = np.array(MOTION_INDICES)
# inner-lip pairs facing each other across the mouth opening (upper, lower), corners excluded
_INNER_PAIRS = tuple(zip(LIP_INNER_UPPER[1:-1][::-1], LIP_INNER_LOWER[1:-1]))
NEUTRAL_QUANTILE = 0.1


def inner_gap(canonical: np.ndarray) -> np.ndarray:
    """Inner-lip gap (13 ↔ 14) of canonical landmarks ``(..., 478, 3)`` → ``(...)`` in IOD units."""
    up, lo = LIP_MID_INNER
    return np.linalg.norm(canonical[..., lo, :] - canonical[..., up, :], axis=-1)


def close_mouth(canonical: np.ndarray) -> np.ndarray:
    """Canonical landmarks ``(478, 3)`` with the inner lips brought together at their midline."""
    out = canonical.copy()
    for up, lo in _INNER_PAIRS:
        mid = (out[up] + out[lo]) / 2
        out[up] = mid
        out[lo] = mid
    return out


def estimate_neutral(canonical: np.ndarray, quantile: float = NEUTRAL_QUANTILE) -> np.ndarray:
    """A clip's neutral face ``(478, 3)`` from its canonical landmarks ``(T, 478, 3)``.

    Median over the frames with the smallest inner-lip gap (lowest ``quantile``), then closed.
    NaN frames are ignored; a clip with no finite frame raises ``ValueError``.
    """
    ok = np.isfinite(canonical).all(axis=(1, 2))
    if not ok.any():
        raise ValueError("no frame with a face: cannot estimate the neutral face")
    seq = canonical[ok]
    gap = inner_gap(seq)
    rest = seq[gap <= np.quantile(gap, quantile)]
    return close_mouth(np.median(rest, axis=0)).astype(np.float32)


def landmarks_to_motion(landmarks: np.ndarray, neutral: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Pixel landmarks ``(T, 478, 3)`` → (motion ``(T, L, 3)``, neutral ``(478, 3)``).

    Frames without a face (NaN) give NaN motion. ``neutral`` defaults to :func:`estimate_neutral`.
    """
    canonical, _ = to_canonical(landmarks)
    if neutral is None:
        neutral = estimate_neutral(canonical)
    motion = canonical[:, _MOTION] - neutral[_MOTION]          # (T, L, 3)
    return motion.astype(np.float32), neutral


def motion_to_canonical(motion: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """Motion ``(T, L, 3)`` + a neutral face ``(478, 3)`` → canonical landmarks ``(T, 478, 3)``
    (points outside the motion set stay at their neutral position)."""
    if motion.shape[1:] != (N_MOTION, 3):
        raise ValueError(f"motion must be (T, {N_MOTION}, 3), got {motion.shape}")
    out = np.repeat(neutral[None].astype(np.float32), len(motion), axis=0)
    out[:, _MOTION] += motion
    return out


def motion_to_pixels(motion: np.ndarray, neutral: np.ndarray, pose: Similarity) -> np.ndarray:
    """Motion → pixel landmarks ``(T, 478, 3)`` of a face whose head pose is ``pose``."""
    return pose.invert(motion_to_canonical(motion, neutral))
