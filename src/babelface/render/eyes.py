"""Eyelids, irises and brows: local warps of the portrait's own eye region (issue 14).

Each eye is handled in its own frame: ``u`` along the line from the image-left to the image-right
eye corner, ``v`` perpendicular, toward the chin (pixels). The lids are the curves ``v_up(u)`` and
``v_low(u)`` through the MediaPipe lid landmarks; they meet at the corners, so every displacement
below vanishes there and the warp is continuous.

* **Blink** (closure ``c``): the upper lid's edge moves down to ``v_up + c·(v_close − v_up)``
  (``v_close``: the lower lid). The lid margin with its lashes (the lowest ``LASH_SHARE`` of the
  band) moves down unchanged; above it, the lid's own skin (the band ``LID_BAND`` of the
  lid-to-brow distance above the lid) is stretched to follow; below the moved edge, the eyeball
  and the lower lid stay where they were. Nothing is painted: a closed eye is the portrait's eyelid.
* **Gaze** (offset in eye widths): inside the opening, a disc around the iris (radius from the iris
  landmarks) is shifted, fading to nothing at ``IRIS_FALLOFF`` radii and at the lids.
* **Brow raise** (IOD): the brow is lifted, fading to zero at the upper lid below and over
  ``FOREHEAD_SPAN`` brow-to-lid distances of forehead above, and beyond the brow's ends.

Every map is a backward map applied with ``cv2.remap`` to a small crop around each eye; the crop's
border is never displaced, so the seam with the untouched frame is exact.
"""

from __future__ import annotations

import cv2
import numpy as np

from babelface.face import indices as I

LID_BAND = 0.55          # share of the lid-to-brow distance stretched over a closing eye
CLOSE_AT = 1.0           # a closed upper lid reaches this share of the way to the lower lid
LASH_SHARE = 0.35        # the lowest share of the lid band (lashes, lid margin) moves without stretching
IRIS_FALLOFF = 1.8       # the gaze shift fades out between 1 and this many iris radii
FOREHEAD_SPAN = 1.5      # the brow lift fades out this many brow-to-lid distances above the brow
BROW_SIDE = 0.35         # ... and this many eye widths beyond the brow's ends
MARGIN = 0.25            # crop margin beyond the corners, in eye widths

_EYES = (
    (I.RIGHT_UPPER_LID, I.RIGHT_LOWER_LID, I.RIGHT_IRIS, I.RIGHT_BROW),
    (I.LEFT_UPPER_LID, I.LEFT_LOWER_LID, I.LEFT_IRIS, I.LEFT_BROW),
)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


class _Eye:
    """One eye's crop, its (u, v) frame and lid, iris and brow geometry (built once)."""

    def __init__(self, landmarks: np.ndarray, shape: tuple[int, int], upper, lower, iris, brow):
        pts = landmarks[:, :2].astype(np.float64)
        a, b = pts[upper[0]], pts[upper[-1]]
        left, right = (a, b) if a[0] <= b[0] else (b, a)
        self.width = float(np.linalg.norm(right - left))
        self.eu = (right - left) / self.width                        # along the eye, image-right
        self.ev = np.array([-self.eu[1], self.eu[0]])                 # toward the chin
        self.origin = left

        def uv(idx):
            d = pts[list(idx)] - left
            return d @ self.eu, d @ self.ev

        def curve(idx):
            u, v = uv(idx)
            order = np.argsort(u)
            return u[order], v[order]

        self.up_u, self.up_v = curve(upper)
        self.low_u, self.low_v = curve(lower)
        self.brow_u, self.brow_v = curve(brow)
        iu, iv = uv(iris)
        self.iris = np.array([iu[0], iv[0]])                          # centre (u, v)
        self.iris_r = float(np.hypot(iu[1:] - iu[0], iv[1:] - iv[0]).mean())
        brow_gap = float(np.interp(self.iris[0], self.up_u, self.up_v) - self.brow_v.mean())
        self.brow_gap = max(brow_gap, 2.0)
        # crop: the eye and brow with their fall-offs, as an axis-aligned box in the image
        u0, u1 = -MARGIN * self.width, (1 + MARGIN) * self.width
        u0 = min(u0, self.brow_u.min() - BROW_SIDE * self.width)
        u1 = max(u1, self.brow_u.max() + BROW_SIDE * self.width)
        v0 = self.brow_v.min() - FOREHEAD_SPAN * self.brow_gap
        v1 = self.low_v.max() + 0.5 * (self.low_v.max() - self.up_v.min()) + 2
        corners = np.array([[u, v] for u in (u0, u1) for v in (v0, v1)])
        xy = left + corners[:, :1] * self.eu + corners[:, 1:] * self.ev
        h, w = shape
        self.box = (max(int(np.floor(xy[:, 0].min())) - 2, 0), max(int(np.floor(xy[:, 1].min())) - 2, 0),
                    min(int(np.ceil(xy[:, 0].max())) + 3, w), min(int(np.ceil(xy[:, 1].max())) + 3, h))
        x0, y0, x1, y1 = self.box
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
        d = np.stack([xx - left[0], yy - left[1]], -1)
        self.u, self.v = d @ self.eu, d @ self.ev                     # (h, w) pixel frame coords
        self._xx, self._yy = xx - x0, yy - y0                         # crop coordinates
        self.v_up = np.interp(self.u, self.up_u, self.up_v)           # (h, w)
        self.v_low = np.interp(self.u, self.low_u, self.low_v)
        opening = np.maximum(self.v_low - self.v_up, 0.0)
        self.v_close = self.v_up + CLOSE_AT * opening
        brow_here = np.interp(self.u, self.brow_u, self.brow_v)
        self.v_top = self.v_up - LID_BAND * np.maximum(self.v_up - brow_here, 1.0)
        # brow lift weight: 0 at the lid, 1 on the brow, 0 FOREHEAD_SPAN gaps above; 0 beyond the ends
        below = _smoothstep((self.v_up - self.v) / np.maximum(self.v_up - brow_here, 1.0))
        above = 1 - _smoothstep((brow_here - self.v) / (FOREHEAD_SPAN * self.brow_gap))
        side = BROW_SIDE * self.width
        along = (_smoothstep((self.u - self.brow_u.min() + side) / side)
                 * _smoothstep((self.brow_u.max() + side - self.u) / side))
        self.w_brow = np.where(self.v > brow_here, below, above) * along
        # gaze weight: the iris disc, fading out at IRIS_FALLOFF radii and toward the lids
        r = np.hypot(self.u - self.iris[0], self.v - self.iris[1]) / max(self.iris_r, 1.0)
        inside = _smoothstep(np.minimum(self.v - self.v_up, self.v_low - self.v) / 1.5)
        self.w_gaze = (1 - _smoothstep((r - 1) / (IRIS_FALLOFF - 1))) * inside

    def _to_crop(self, du: np.ndarray, dv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Backward map (crop pixels) for a source offset ``(du, dv)`` in the eye frame."""
        mx = self._xx + du * self.eu[0] + dv * self.ev[0]
        my = self._yy + du * self.eu[1] + dv * self.ev[1]
        return mx.astype(np.float32), my.astype(np.float32)

    def apply(self, frame: np.ndarray, closure: float, gaze: np.ndarray, brow_px: float) -> None:
        """Warp this eye of ``frame`` (H, W, 3) in place."""
        x0, y0, x1, y1 = self.box
        crop = frame[y0:y1, x0:x1]
        if brow_px or gaze.any():
            g = gaze * self.width                                     # (2,) pixels in (u, v)
            du = -g[0] * self.w_gaze
            dv = brow_px * self.w_brow - g[1] * self.w_gaze
            crop = cv2.remap(crop, *self._to_crop(du, dv), cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
        if closure > 0:
            shift = closure * (self.v_close - self.v_up)              # how far the lid's edge moves
            lash = self.v_up - LASH_SHARE * (self.v_up - self.v_top)   # top of the lash margin, at rest
            stretch = (lash - self.v_top) / np.maximum(lash + shift - self.v_top, 1e-6)
            src_v = np.where(self.v < self.v_top, self.v,
                             np.where(self.v < lash + shift, self.v_top + (self.v - self.v_top) * stretch,
                                      np.where(self.v < self.v_up + shift, self.v - shift, self.v)))
            crop = cv2.remap(np.ascontiguousarray(crop), *self._to_crop(0.0, src_v - self.v),
                             cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        frame[y0:y1, x0:x1] = crop


class EyeWarp:
    """Blinks, gaze and brow raise on frames of one portrait (its landmarks ``(478, 3)``, pixels)."""

    def __init__(self, landmarks: np.ndarray, shape: tuple[int, int], iod: float):
        self.eyes = [_Eye(landmarks, shape, *e) for e in _EYES]
        self.iod = iod

    def apply(self, frame: np.ndarray, blink: np.ndarray, gaze: np.ndarray, brow: float) -> None:
        """In place: ``blink`` ``(2,)`` closure (subject's right, left), ``gaze`` ``(2,)`` eye widths,
        ``brow`` IOD (up positive)."""
        for eye, closure in zip(self.eyes, blink):
            eye.apply(frame, float(closure), np.asarray(gaze, np.float64), float(brow) * self.iod)
