"""The motion representation: the one place where landmarks become motion and back.

**Motion** (ARCHITECTURE.md) is float32 ``(T, L, 3)`` at 25 fps, ``L = N_MOTION`` points
(:data:`babelface.face.indices.MOTION_INDICES`: lips, jaw, chin, cheeks), in the canonical frame of
:mod:`babelface.face.align` (unit = inter-ocular distance), as the displacement from the speaker's
*neutral* face (mouth closed and relaxed). It carries no identity: adding it to any person's
neutral canonical landmarks and mapping back through that person's head pose animates them.

The neutral of a recorded clip is estimated from the clip itself (:func:`estimate_neutral`):
the per-landmark median over the frames whose inner-lip gap is in the lowest decile, with the
inner lips then closed at their midline (:func:`close_mouth`). A portrait's neutral is its own
landmarks with the lips brought together whole (:func:`close_lips`): each lip moves half the gap
with its outer contour, so that an open-mouthed portrait rests closed with lips of its own thickness.
"""

from __future__ import annotations

import numpy as np

from babelface.face.align import Similarity, to_canonical
from babelface.face.indices import (LIP_CORNER_INNER, LIP_INNER_LOWER, LIP_INNER_UPPER, LIP_MID_INNER,
                                    LIP_OUTER_LOWER, LIP_OUTER_UPPER, MOTION_INDICES, N_MOTION)

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


def close_lips(canonical: np.ndarray) -> np.ndarray:
    """Canonical landmarks ``(478, 3)`` with the lips brought together whole: the inner lips meet at
    their midline as in :func:`close_mouth`, and each outer lip contour moves with its own inner
    lip (by half the gap at its place along the mouth, linear between the inner-lip pairs and zero
    at the corners). :func:`close_mouth` leaves the outer contours where they are, so an open
    portrait's lips closed that way are stretched to twice their thickness, and a face tracker
    reads the swollen lower lip as a mouth still open (issue 11: 0.08 IOD on the bundled portrait).
    """
    out = close_mouth(canonical)
    up, lo = np.array(_INNER_PAIRS).T                                     # (P,) each
    xs = np.r_[canonical[LIP_CORNER_INNER[0], 0], (canonical[up, 0] + canonical[lo, 0]) / 2,
               canonical[LIP_CORNER_INNER[1], 0]]                        # (P + 2,) along the mouth
    half = np.vstack([np.zeros(3), (canonical[lo] - canonical[up]) / 2, np.zeros(3)])   # (P + 2, 3)
    order = np.argsort(xs, kind="stable")
    for contour, sign in ((LIP_OUTER_UPPER[1:-1], 1.0), (LIP_OUTER_LOWER[1:-1], -1.0)):
        idx = list(contour)
        shift = np.stack([np.interp(canonical[idx, 0], xs[order], half[order, k]) for k in range(3)], -1)
        out[idx] = canonical[idx] + sign * shift                          # (C, 3)
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
