"""The whole head moves: a dense warp with a smooth fall-off, applied over the mouth renderer's frames
(issue 14). Eyelids, irises and brows: :mod:`babelface.render.eyes`.

A separate stage: :class:`HeadRenderer` takes each frame the :class:`~babelface.render.Renderer`
draws (the portrait's own pose, the mouth moved) and one head-motion frame
(:mod:`babelface.motion.head`), and returns the frame with the eyes, brows and head moved.

**The head warp.** Control points, in pixels with MediaPipe's depth ``z`` (same pixel scale):

* face: a fixed subset of the mesh (oval, eyes, brows, nose, outer lips, chin);
* skull and hair: the upper face oval pushed out from the face centre (``SKULL_SCALE``), at its
  depth, so they move with the head;
* neck: points below the jaw line that follow the jaw by ``NECK_SHARE`` (the neck bends, the
  shoulders stay);
* background: a fixed elliptic ring (``RING_SCALE`` × the face oval's half-axes: closer at the
  sides than above, where the hair is) with zero displacement.

Each frame the head's points turn about a pivot behind the face at the level of the ears (yaw
about the vertical axis, pitch about the horizontal, roll in the image plane, plus a small
translation), projected orthographically; their displacements are spread over the image by a
thin-plate spline whose interpolation matrix is computed once (positions never change, only the
values), evaluated on a coarse grid, multiplied by a taper that is exactly 0 beyond the ring,
inverted to a backward map (one fixed-point step) and applied with ``cv2.remap`` to the box
around the ring. Outside that box, and beyond the ring inside it, the frame is untouched: the
background more than about half a face width from the face does not move, nothing is torn (the
field is smooth and small), and the background next to the head stretches a few pixels.
"""

from __future__ import annotations

import threading
from typing import Iterable, Iterator

import cv2
import numpy as np

from babelface.errors import InputError
from babelface.face import indices as I
from babelface.face.align import inter_ocular
from babelface.motion.head import BLINK, BROW, GAZE, N_CHANNELS
from babelface.render.eyes import EyeWarp

SKULL_SCALE = (1.25, 1.45)       # hair/skull ring: × the oval's half-width, × its half-height above
NECK_SHARE = (0.55, 0.15)        # neck points 0.35 and 0.9 face half-heights below the jaw
RING_SCALE = (1.6, 1.8)          # fixed background ring, × the face oval's half-width, half-height
TAPER_FROM = 0.83                # the field fades from this share of the ring to 0 at the ring
PIVOT_BACK = 0.55                # pivot depth behind the cheeks, in face half-widths
GRID_PER_IOD = 6.0               # spline evaluation grid density
TPS_RIDGE = 1e-6

_FACE = np.array(sorted(set(I.FACE_OVAL + I.STABLE + I.NOSE_BRIDGE + I.NOSE_BASE + (I.NOSE_TIP,)
                            + I.LIP_OUTER + I.RIGHT_EYE + I.LEFT_EYE + I.RIGHT_BROW + I.LEFT_BROW
                            + I.CHIN)))


def _kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``r² log r²`` between ``a (N, 2)`` and ``b (M, 2)`` → ``(N, M)`` (Bookstein 1989, eq. 1)."""
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return d2 * np.log(np.maximum(d2, 1e-20))


def tps_matrix(ctrl: np.ndarray, points: np.ndarray, ridge: float = TPS_RIDGE) -> np.ndarray:
    """``(P, K)``: the thin-plate spline through ``ctrl (K, 2)`` evaluated at ``points (P, 2)`` is
    this matrix times the control values ``(K, C)`` (linear in the values, positions fixed)."""
    k = len(ctrl)
    system = np.zeros((k + 3, k + 3))
    system[:k, :k] = _kernel(ctrl, ctrl) + ridge * np.eye(k)
    p = np.hstack([np.ones((k, 1)), ctrl])
    system[:k, k:] = p
    system[k:, :k] = p.T
    inv = np.linalg.inv(system)[:, :k]                                     # (K + 3, K)
    basis = np.hstack([_kernel(points, ctrl), np.ones((len(points), 1)), points])
    return basis @ inv


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``(3, 3)`` rotation in the camera frame (x right, y down, z away) that changes
    :func:`babelface.face.align.head_pose` by about (yaw, pitch, roll) degrees."""
    a, b, c = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def _ellipse_scale(points: np.ndarray, centre: np.ndarray, axes: np.ndarray) -> np.ndarray:
    return np.hypot(*((points - centre) / axes).T)


class HeadWarp:
    """The head-pose warp of one portrait (landmarks ``(478, 3)`` pixels, image ``shape`` (H, W))."""

    def __init__(self, landmarks: np.ndarray, shape: tuple[int, int]):
        lm = landmarks.astype(np.float64)
        h, w = shape
        self.iod = float(inter_ocular(lm[:, :2]))
        oval = lm[list(I.FACE_OVAL)]
        centre = oval[:, :2].mean(0)
        axes = (oval[:, :2].max(0) - oval[:, :2].min(0)) / 2                  # half width, height
        self.centre, self.axes = centre, axes
        cheeks = lm[list(I.FACE_WIDTH_PAIR)]
        self.pivot = np.array([centre[0], lm[I.NOSE_TIP, 1], cheeks[:, 2].mean() + PIVOT_BACK * axes[0]])
        # moving control points (x, y, z) and the share of the head's motion each follows
        face = lm[_FACE]
        upper = oval[oval[:, 1] < centre[1]]
        skull = upper.copy()
        skull[:, 0] = centre[0] + SKULL_SCALE[0] * (upper[:, 0] - centre[0])
        skull[:, 1] = centre[1] + SKULL_SCALE[1] * (upper[:, 1] - centre[1])
        jaw = oval[oval[:, 1] >= centre[1]]
        necks = [jaw + [0, d * axes[1], 0] for d in (0.35, 0.9)]
        self._points = np.vstack([face, skull, *necks])                       # (K, 3)
        self._share = np.r_[np.ones(len(face) + len(skull)),
                            np.full(len(jaw), NECK_SHARE[0]), np.full(len(jaw), NECK_SHARE[1])]
        theta = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        ring_axes = np.array(RING_SCALE) * axes
        ring = centre + ring_axes * np.c_[np.cos(theta), np.sin(theta)]
        ctrl = np.vstack([self._points[:, :2], ring])
        # work box: the ring's bounding box inside the image; a coarse grid over it
        x0, y0 = np.maximum(np.floor(ring.min(0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(ring.max(0)).astype(int) + 1, (w, h))
        if x1 - x0 < 4 or y1 - y0 < 4:
            raise InputError("the face lies outside the image: use a portrait with the whole face in view")
        self.box = (int(x0), int(y0), int(x1), int(y1))
        gw = max(int(np.ceil((x1 - x0) / self.iod * GRID_PER_IOD)), 4)
        gh = max(int(np.ceil((y1 - y0) / self.iod * GRID_PER_IOD)), 4)
        gx = x0 + (np.arange(gw) + 0.5) * (x1 - x0) / gw - 0.5
        gy = y0 + (np.arange(gh) + 0.5) * (y1 - y0) / gh - 0.5
        grid = np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2)              # (G, 2)
        self._grid_shape = (gh, gw)
        self._gx, self._gy = (a.astype(np.float32) for a in np.meshgrid(np.arange(gw), np.arange(gh)))
        self._cell = np.array([(x1 - x0) / gw, (y1 - y0) / gh])
        self._origin = np.array([x0, y0], np.float64)
        scale = self.axes.max()
        tps = tps_matrix((ctrl - centre) / scale, (grid - centre) / scale)[:, :len(self._points)]
        s = _ellipse_scale(grid, centre, ring_axes)                           # 1 on the ring
        t = np.clip((s - TAPER_FROM) / (1 - TAPER_FROM), 0, 1)
        taper = (1 - t * t * (3 - 2 * t))[:, None]                            # (G, 1), 0 beyond the ring
        self._tps = (tps * taper).astype(np.float32)                          # (G, K) tapered
        yy, xx = np.mgrid[0:y1 - y0, 0:x1 - x0]
        self._xy = np.stack([xx, yy], -1).astype(np.float32)                  # (h, w, 2) identity
        self._buffers = threading.local()        # each render thread its own map and crop

    def _buffer(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """This thread's reusable buffer ``name`` (large images: no fresh 100 MB per frame)."""
        buf = getattr(self._buffers, name, None)
        if buf is None:
            buf = np.empty(shape, dtype)
            setattr(self._buffers, name, buf)
        return buf

    def displacement(self, pose: np.ndarray) -> np.ndarray:
        """Forward displacement ``(K, 2)`` pixels of the moving control points for ``pose`` =
        (yaw, pitch, roll degrees, tx, ty IOD)."""
        r = rotation(*pose[:3])
        moved = (self._points - self.pivot) @ r.T + self.pivot
        d = moved[:, :2] - self._points[:, :2] + np.asarray(pose[3:5]) * self.iod
        return d * self._share[:, None]

    def backward_map(self, pose: np.ndarray) -> np.ndarray:
        """The map ``(h, w, 2)`` float32 over the box (box pixel coordinates) for one pose ``(5,)``;
        a buffer of this thread's, reused by its next call."""
        fwd = (self._tps @ self.displacement(pose).astype(np.float32)).reshape(*self._grid_shape, 2)
        # backward: b(p) = -f(p - f(p)), the forward field read where p came from (one step)
        gx = self._gx - fwd[..., 0] * np.float32(1 / self._cell[0])
        gy = self._gy - fwd[..., 1] * np.float32(1 / self._cell[1])
        back = cv2.remap(fwd, gx, gy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        x0, y0, x1, y1 = self.box
        out = self._buffer("map", self._xy.shape, np.float32)
        cv2.resize(back, (x1 - x0, y1 - y0), dst=out, interpolation=cv2.INTER_LINEAR)
        return np.subtract(self._xy, out, out=out)

    def apply(self, frame: np.ndarray, pose: np.ndarray) -> None:
        """Move the head of ``frame`` (H, W, 3) in place."""
        x0, y0, x1, y1 = self.box
        crop = self._buffer("crop", (y1 - y0, x1 - x0, 3), np.uint8)
        np.copyto(crop, frame[y0:y1, x0:x1])
        frame[y0:y1, x0:x1] = cv2.remap(crop, self.backward_map(pose), None, cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_REPLICATE)


class HeadRenderer:
    """Head pose, blinks, gaze and brows over the frames of one portrait.

    >>> stage = HeadRenderer(landmarks, image.shape[:2])
    >>> for frame in stage.apply(renderer.render_sequence(motion), head):   # head (T, C)
    ...     writer.write(frame)

    ``apply`` moves each frame in place (the mouth renderer yields a fresh array per frame).
    An all-zero head frame leaves the frame bit for bit as it was. Threads may render frames
    at once (each keeps its own buffers).
    """

    def __init__(self, landmarks: np.ndarray, shape: tuple[int, int]):
        self.head = HeadWarp(landmarks, shape)
        self.eyes = EyeWarp(landmarks, shape, self.head.iod)

    def render(self, frame: np.ndarray, head_frame: np.ndarray) -> np.ndarray:
        """One frame ``(H, W, 3)`` uint8 moved by one head-motion frame ``(C,)``."""
        h = np.asarray(head_frame, np.float64)
        if h.any():
            self.eyes.apply(frame, h[BLINK], h[GAZE], h[BROW])
            if h[:5].any():
                self.head.apply(frame, h[:5])
        return frame

    def apply(self, frames: Iterable[np.ndarray], head: np.ndarray) -> Iterator[np.ndarray]:
        """Frames moved by head motion ``(T, C)`` (checked here, before the first frame)."""
        head = np.asarray(head, np.float32)
        if head.ndim != 2 or head.shape[1] != N_CHANNELS or not np.isfinite(head).all():
            raise InputError(f"head motion must be finite (T, {N_CHANNELS}), got {head.shape}")
        return (self.render(f, h) for f, h in zip(frames, head))
