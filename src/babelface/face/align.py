"""Canonical alignment: a similarity transform to the neutral face template.

The canonical frame (ARCHITECTURE.md, "Motion"): x to the image's right, y down, z away from the
camera (MediaPipe's convention), origin at the midpoint of the two eye centres, unit length the
inter-ocular distance (IOD, between the midpoints of each eye's two corners). Rotation and
translation come from a least-squares (Kabsch) fit of the ``STABLE`` landmarks (eye corners, nose
bridge, forehead, temples: points that speech does not move) to the template; scale is
1 / IOD, so that motion is measured in inter-ocular distances whatever the image size.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from babelface.face.indices import LEFT_EYE_CORNERS, N_LANDMARKS, RIGHT_EYE_CORNERS, STABLE

_STABLE = np.array(STABLE)


@lru_cache(maxsize=1)
def template() -> np.ndarray:
    """The neutral face template ``(478, 3)`` float32 in the canonical frame (IOD = 1)."""
    with resources.files("babelface.assets").joinpath("face_template.npy").open("rb") as f:
        t = np.load(f, allow_pickle=False)
    assert t.shape == (N_LANDMARKS, 3)
    t.setflags(write=False)
    return t


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Midpoints of each eye's corners, ``(..., 3)`` each: (subject's right, subject's left)."""
    r = landmarks[..., list(RIGHT_EYE_CORNERS), :].mean(-2)
    l = landmarks[..., list(LEFT_EYE_CORNERS), :].mean(-2)
    return r, l


def inter_ocular(landmarks: np.ndarray) -> np.ndarray:
    """Inter-ocular distance, ``(...)``, in the landmarks' own units (3-D, rotation invariant)."""
    r, l = eye_centres(landmarks)
    return np.linalg.norm(l - r, axis=-1)


@dataclass(frozen=True)
class Similarity:
    """``y = scale * x @ rotation.T + translation`` (pixels → canonical)."""

    scale: float
    rotation: np.ndarray      # (3, 3), det = +1
    translation: np.ndarray   # (3,)

    def apply(self, x: np.ndarray) -> np.ndarray:
        return (self.scale * x @ self.rotation.T + self.translation).astype(np.float32)

    def invert(self, y: np.ndarray) -> np.ndarray:
        return ((y - self.translation) @ self.rotation / self.scale).astype(np.float32)


def fit_similarity(landmarks: np.ndarray, reference: np.ndarray | None = None) -> Similarity:
    """The transform taking ``landmarks`` (478, 3) onto ``reference`` (default: the template)."""
    ref = template() if reference is None else reference
    x = landmarks[_STABLE].astype(np.float64)
    y = ref[_STABLE].astype(np.float64)
    iod = float(inter_ocular(landmarks))
    if not np.isfinite(iod) or iod <= 0:
        raise ValueError("degenerate landmarks: the eyes coincide")
    s = float(inter_ocular(ref)) / iod
    mx, my = x.mean(0), y.mean(0)
    h = (s * (x - mx)).T @ (y - my)                     # (3, 3) cross-covariance
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T            # Kabsch, proper rotation
    t = my - s * mx @ r.T
    return Similarity(s, r, t)


def to_canonical(landmarks: np.ndarray) -> tuple[np.ndarray, list[Similarity | None]]:
    """Align every frame of ``(T, 478, 3)`` (or one ``(478, 3)``) to the template.

    Returns the canonical landmarks (same shape, NaN frames stay NaN) and the per-frame transforms
    (``None`` for NaN frames), so that :meth:`Similarity.invert` maps canonical points back.
    """
    single = landmarks.ndim == 2
    seq = landmarks[None] if single else landmarks
    out = np.full(seq.shape, np.nan, np.float32)
    transforms: list[Similarity | None] = []
    for i, lm in enumerate(seq):
        if not np.isfinite(lm).all():
            transforms.append(None)
            continue
        tr = fit_similarity(lm)
        out[i] = tr.apply(lm)
        transforms.append(tr)
    return (out[0] if single else out), transforms


def head_pose(landmarks: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a face relative to the frontal template.

    Euler angles of the rotation that maps the template onto the face (inverse of the alignment),
    intrinsic y (yaw) · x (pitch) · z (roll). 0, 0, 0 is a frontal face.
    """
    r = fit_similarity(landmarks).rotation.T       # canonical → camera
    yaw = np.degrees(np.arcsin(np.clip(-r[2, 0], -1, 1)))
    pitch = np.degrees(np.arctan2(r[2, 1], r[2, 2]))
    roll = np.degrees(np.arctan2(r[1, 0], r[0, 0]))
    return float(yaw), float(pitch), float(roll)
