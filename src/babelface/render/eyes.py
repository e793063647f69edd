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
MIN_SHIFT_PX = 0.05      # smaller movements are not drawn (the frame stays bit for bit)
EYE_GRID = 48            # map samples per eye width (larger eyes: computed coarse, upsampled)

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
        # the maps are computed on a grid of EYE_GRID points per eye width (every pixel for
        # eyes narrower than that) and upsampled: an eye costs the same at every image size
        w, h = x1 - x0, y1 - y0
        step = max(1.0, self.width / EYE_GRID)
        self._size = (w, h)
        gw, gh = (w, h) if step == 1.0 else (max(int(np.ceil(w / step)), 2), max(int(np.ceil(h / step)), 2))
        gx = x0 + (np.arange(gw) + 0.5) * w / gw - 0.5
        gy = y0 + (np.arange(gh) + 0.5) * h / gh - 0.5
        xx, yy = np.meshgrid(gx, gy)
        d = np.stack([xx - left[0], yy - left[1]], -1)
        self.u, self.v = d @ self.eu, d @ self.ev                     # (gh, gw) eye-frame coords
        cy, cx = np.mgrid[0:h, 0:w]
        self._xy = np.stack([cx, cy], -1).astype(np.float32)          # (h, w, 2) crop pixel coords
        self.v_up = np.interp(self.u, self.up_u, self.up_v)
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
        # per-unit offset fields (gh, gw, 2) in crop pixels: a frame's map is a sum of these
        ev, eu = self.ev.astype(np.float32), self.eu.astype(np.float32)
        self._brow = (self.w_brow[..., None] * ev).astype(np.float32)      # per pixel of lift
        self._gaze_u = (-self.w_gaze[..., None] * eu).astype(np.float32)   # per pixel of gaze
        self._gaze_v = (-self.w_gaze[..., None] * ev).astype(np.float32)
        self._ev = ev
        # blink: the lid skin above the lash margin stretches, the margin moves down rigidly
        f32 = np.float32
        self.v, self.v_top, self.v_up = self.v.astype(f32), self.v_top.astype(f32), self.v_up.astype(f32)
        self._lash = (self.v_up - LASH_SHARE * (self.v_up - self.v_top)).astype(f32)
        self._reach = (self.v_close - self.v_up).astype(f32)
        self._reach_max = float(self._reach.max())

    def _blink(self, closure: float) -> np.ndarray:
        """Source offset ``(gh, gw)`` along ``v`` of the lid closed by ``closure``."""
        shift = np.float32(closure) * self._reach                     # how far the lid's edge moves
        stretch = (self._lash - self.v_top) / np.maximum(self._lash + shift - self.v_top, 1e-6)
        v = self.v
        dv = np.where(v < self._lash + shift, (self.v_top - v) * (1 - stretch), -shift)
        dv[(v < self.v_top) | (v >= self.v_up + shift)] = 0
        return dv

    def apply(self, frame: np.ndarray, closure: float, gaze: np.ndarray, brow_px: float) -> None:
        """Warp this eye of ``frame`` (H, W, 3) in place: one remap of its crop. Brow/gaze and blink
        offsets are summed (first order: the two fields barely overlap, at the lid's crease)."""
        g = gaze * self.width                                         # (2,) pixels in (u, v)
        off = None
        if max(abs(brow_px), np.abs(g).max()) >= MIN_SHIFT_PX:
            off = brow_px * self._brow + g[0] * self._gaze_u + g[1] * self._gaze_v
        if closure * self._reach_max >= MIN_SHIFT_PX:
            lid = self._blink(closure)[..., None] * self._ev
            off = lid if off is None else off + lid
        if off is None:
            return
        off = off.astype(np.float32)
        if off.shape[:2] != self._xy.shape[:2]:
            off = cv2.resize(off, self._size, interpolation=cv2.INTER_LINEAR)
        x0, y0, x1, y1 = self.box
        frame[y0:y1, x0:x1] = cv2.remap(frame[y0:y1, x0:x1], self._xy + off, None, cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_REPLICATE)


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
