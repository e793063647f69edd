"""The landmark-driven warp renderer: motion ``(T, L, 3)`` + one portrait → video frames.

Construction (once per portrait):

1. head pose and canonical landmarks of the portrait (:mod:`babelface.face.align`); its neutral is
   the canonical face with the lips brought together whole, each with its own thickness
   (:func:`~babelface.motion.representation.close_lips`), so an open-mouthed portrait rests with
   its mouth closed;
2. a work box around the lower face, with room for the jaw to drop; everything outside it is
   copied from the portrait untouched, so a 4000×3000 image costs what its mouth costs;
3. the *rest image*: the portrait with its lips brought together by a piecewise-affine warp over a
   Delaunay mesh whose mouth opening is a hole (:mod:`babelface.render.warp`); a closed-mouth
   portrait is left as it is.

Each frame:

1. target landmarks = :func:`~babelface.motion.representation.motion_to_pixels`; every landmark
   outside the motion set stays at its rest position, so eyes, brows and nose are anchored;
2. a thin-plate spline through the motion landmarks (moving), every other landmark from the
   subnasale up (fixed anchors: nose, lower cheeks) and a ring of fixed points on the box border
   gives the backward displacement; it is evaluated on a coarse grid (``grid_per_iod`` points per
   inter-ocular distance), tapered to exactly zero at the border, upsampled (bicubic) and applied
   with ``cv2.remap`` to the rest image;
3. where the target inner lips part, the mouth interior is painted (:mod:`babelface.render.mouth`).

Everything is deterministic: no randomness, fixed-order arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import cv2
import numpy as np

from babelface.errors import FaceError, InputError
from babelface.face.align import fit_similarity
from babelface.face.indices import (LIP_INNER, LIP_INNER_LOWER, LIP_INNER_UPPER, LIP_OUTER,
                                    MOTION_INDICES, N_LANDMARKS, N_MOTION, NOSE_BASE, NOSE_TIP)
from babelface.motion.representation import close_lips, motion_to_pixels
from babelface.render.mouth import (MouthConfig, MouthFrame, Palette, SourceMouth, paint_interior,
                                    paint_lip_seam)
from babelface.render.warp import SplineField, mesh_triangles, piecewise_affine_map, untangle

_MESH = 468                    # landmarks of the face mesh proper (the 10 iris points are left out)
_MOTION = np.array(MOTION_INDICES)
_SUBNASALE = NOSE_BASE[0]      # landmark 2, where the nose meets the upper lip


@dataclass(frozen=True)
class RenderConfig:
    """Geometry of the warp (lengths in inter-ocular distances, IOD)."""

    margin_side: float = 0.35     # work box beyond the motion points: left and right
    margin_top: float = 0.12      # above (but the box never starts above the nose tip's row)
    margin_bottom: float = 0.7    # below the chin: room for the jaw to drop
    border_points: float = 0.25   # spacing of the fixed points on the box border
    taper: float = 0.12           # displacement fades to zero over this band inside the border
    grid_per_iod: float = 16.0    # spline evaluation grid density
    close_threshold_px: float = 0.5   # lips further apart than this are closed for the rest image
    close_supersample: int = 4    # anti-aliasing of the seam where an open portrait's lips meet
    mesh_opening: float = 0.15    # how far the mouth is propped open to triangulate around it
    min_area_ratio: float = 0.15  # mesh triangles squeezed below this share of their rest area
                                  # (or flipped) have their moving corners relaxed (no folds)
    mouth: MouthConfig = field(default_factory=MouthConfig)


def _as_hint(values, n: int, name: str) -> list[float | None]:
    if values is None:
        return [None] * n
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(arr) != n:
        raise InputError(f"{name} hint has {len(arr)} values for {n} motion frames: give one per frame")
    return [float(v) for v in arr]


def _articulation_hints(articulation, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``teeth`` and ``tongue`` columns ``(T,)`` of an articulation array ``(T, P)``."""
    from babelface.phonetics.ipa import ARTICULATORY_PARAMS    # the articulation's column order
    art = np.asarray(articulation, dtype=np.float64)
    if art.shape != (n, len(ARTICULATORY_PARAMS)):
        raise InputError(f"articulation must be ({n}, {len(ARTICULATORY_PARAMS)}) for {n} motion "
                         f"frames, got {art.shape}")
    return (art[:, ARTICULATORY_PARAMS.index("teeth")],
            art[:, ARTICULATORY_PARAMS.index("tongue")])


class Renderer:
    """Renders motion frames onto one portrait.

    >>> r = Renderer(image, detect_landmarks(image))
    >>> frame = r.render(motion[0])                  # (H, W, 3) uint8
    >>> for frame in r.render_sequence(motion): ...  # a generator, one frame at a time

    ``image``: RGB uint8 ``(H, W, 3)``; ``landmarks``: its MediaPipe landmarks ``(478, 3)`` pixels.
    ``neutral``: the canonical face ``(478, 3)`` that motion is added to; default the portrait's own
    with the lips closed. ``palette``: the interior's colours; default measured on the portrait.
    Dubbing builds one renderer per video frame with the speaker's rest mouth as ``neutral`` and
    one palette for the whole video (:mod:`babelface.dub.render`): the same warp and paste-back.
    """

    def __init__(self, image: np.ndarray, landmarks: np.ndarray,
                 config: RenderConfig = RenderConfig(), neutral: np.ndarray | None = None,
                 palette: Palette | None = None):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(f"expected an RGB uint8 portrait (H, W, 3), got {image.dtype} {image.shape}")
        if landmarks.shape != (N_LANDMARKS, 3) or not np.isfinite(landmarks).all():
            raise FaceError(f"expected finite face landmarks (478, 3), got {landmarks.shape}: "
                            "detect them with babelface.face.landmarks.detect_landmarks")
        self.config = config
        self.image = image
        self.pose = fit_similarity(landmarks)
        self.canonical = self.pose.apply(landmarks)                    # (478, 3)
        self.neutral = close_lips(self.canonical) if neutral is None else neutral   # (478, 3)
        self.iod = 1.0 / self.pose.scale                               # pixels per canonical unit
        self.source = landmarks[:, :2].astype(np.float64)              # (478, 2) as photographed
        self.rest = self._pixels(np.zeros((N_MOTION, 3), np.float32))  # (478, 2) mouth closed
        self.box = self._work_box()
        self._setup_controls()
        self.palette = palette or Palette.from_portrait(image, landmarks, config.mouth)
        self.rest_image = self._close_lips()
        self._source_mouth = SourceMouth.of_open_mouth(image, self.source, config.mouth)

    @classmethod
    def from_image(cls, image: np.ndarray, config: RenderConfig = RenderConfig(),
                   source: str = "image") -> "Renderer":
        """Detect the face in ``image`` (RGB uint8) and build its renderer."""
        from babelface.face.landmarks import detect_landmarks
        return cls(image, detect_landmarks(image, source=source), config)

    # ------------------------------------------------------------------ construction
    def _pixels(self, motion_frame: np.ndarray) -> np.ndarray:
        """Target pixel landmarks ``(478, 2)`` of one motion frame ``(L, 3)``."""
        return motion_to_pixels(motion_frame[None], self.neutral, self.pose)[0, :, :2].astype(np.float64)

    def _work_box(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)``: the motion points with margins, never above the nose tip's row,
        so that the upper face (eyes, brows, forehead) is copied bit for bit whatever the motion."""
        c, s = self.config, self.iod
        pts = np.vstack([self.source[_MOTION], self.rest[_MOTION]])
        (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
        h, w = self.image.shape[:2]
        top = max(np.floor(y0 - c.margin_top * s), np.ceil(self.source[NOSE_TIP, 1]), 0)
        box = (max(int(np.floor(x0 - c.margin_side * s)), 0), int(top),
               min(int(np.ceil(x1 + c.margin_side * s)) + 1, w),
               min(int(np.ceil(y1 + c.margin_bottom * s)) + 1, h))
        if box[2] - box[0] < 8 or box[3] - box[1] < 8:
            raise FaceError("the face's mouth lies outside the image: "
                            "use a portrait with the whole face in view")
        return box

    def _setup_controls(self) -> None:
        """Nodes of the spline (moving motion landmarks, fixed anchors, a fixed ring on the box
        border), its evaluation grid and border taper, and the pixel grid of the box."""
        x0, y0, x1, y1 = self.box
        s = self.iod
        pad = 0.5 * self.config.border_points * s
        # the motion points, and as fixed anchors every other landmark from the subnasale up
        # (nose, cheeks under the eyes); the unlisted landmarks among the lips and on the chin
        # are left free to follow their moving neighbours
        anchored = self.canonical[:_MESH, 1] <= self.canonical[_SUBNASALE, 1]
        use = anchored | np.isin(np.arange(_MESH), _MOTION)
        inside = ((self.rest[:_MESH, 0] > x0 + pad) & (self.rest[:_MESH, 0] < x1 - 1 - pad)
                  & (self.rest[:_MESH, 1] > y0 + pad) & (self.rest[:_MESH, 1] < y1 - 1 - pad))
        nodes = np.flatnonzero(inside & use)                          # landmark indices
        self._moving = np.intersect1d(nodes, _MOTION)                 # follow the motion
        self._anchors = np.setdiff1d(nodes, _MOTION)                  # stay at rest
        nx = max(int(np.ceil((x1 - 1 - x0) / (self.config.border_points * s))), 1)
        ny = max(int(np.ceil((y1 - 1 - y0) / (self.config.border_points * s))), 1)
        xs, ys = np.linspace(x0, x1 - 1, nx + 1), np.linspace(y0, y1 - 1, ny + 1)
        ring = np.vstack([np.c_[xs, np.full_like(xs, y0)], np.c_[xs, np.full_like(xs, y1 - 1)],
                          np.c_[np.full_like(ys[1:-1], x0), ys[1:-1]],
                          np.c_[np.full_like(ys[1:-1], x1 - 1), ys[1:-1]]])
        self._ring = ring                                             # (R, 2) pixels, fixed
        self._lo = np.array([x0 + pad, y0 + pad])                     # targets are kept inside
        self._hi = np.array([x1 - 1 - pad, y1 - 1 - pad])
        # coarse evaluation grid aligned with cv2.resize's pixel-centre convention
        w, h = x1 - x0, y1 - y0
        gw = max(int(np.ceil(w / s * self.config.grid_per_iod)), 4)
        gh = max(int(np.ceil(h / s * self.config.grid_per_iod)), 4)
        gx = x0 + (np.arange(gw) + 0.5) * w / gw - 0.5
        gy = y0 + (np.arange(gh) + 0.5) * h / gh - 0.5
        gxx, gyy = np.meshgrid(gx, gy)
        self._grid = np.stack([gxx, gyy], -1).reshape(-1, 2)          # (G, 2) pixels
        self._grid_shape = (gh, gw)
        # taper: 0 within two grid cells of the border (the upsampling then reads only zeros
        # there), rising smoothly to 1 over `taper` IOD
        cell = max(w / gw, h / gh)
        dist = np.minimum.reduce([gxx - x0, x1 - 1 - gxx, gyy - y0, y1 - 1 - gyy])
        t = np.clip((dist - 2 * cell) / max(self.config.taper * s, 1e-6), 0, 1)
        self._taper = (t * t * (3 - 2 * t)).reshape(-1, 1).astype(np.float32)   # (G, 1)
        self._origin = np.array([x0, y0], np.float64)
        fixed = np.vstack([self.rest[self._anchors], ring])
        self._field = SplineField(self._to_unit(fixed), self._to_unit(self._grid))
        yy, xx = np.mgrid[y0:y1, x0:x1]
        self._xx, self._yy = xx.astype(np.float32), yy.astype(np.float32)
        self._setup_mesh()

    def _setup_mesh(self) -> None:
        """A triangle mesh over the spline's nodes (moving, anchors, ring) with the mouth as a hole.

        Triangulated with the mouth propped open (every node below the closed lip line pushed
        toward the chin by ``mesh_opening`` IOD), so no triangle bridges the lips whatever the
        portrait's own mouth does. It closes an open portrait's lips and catches folds."""
        nodes = np.vstack([self.rest[self._moving], self.rest[self._anchors], self._ring])
        n_moving = len(self._moving)
        lips = MouthFrame(self.rest)
        a, b = lips.coords(nodes)
        below = b > lips.top(a) + 1e-6
        lower_inner = np.isin(self._moving, LIP_INNER_LOWER[1:-1])
        upper_inner = np.isin(self._moving, LIP_INNER_UPPER[1:-1])
        below[:n_moving] = (below[:n_moving] | lower_inner) & ~upper_inner
        opened = nodes + below[:, None] * (self.config.mesh_opening * self.iod) * lips.normal
        where = {m: k for k, m in enumerate(self._moving)}
        if any(i not in where for i in LIP_INNER):      # the box is laid out for an upright face
            d = self.source[263] - self.source[33]        # outer eye corners
            raise FaceError(f"the face is tilted by {np.degrees(np.arctan2(d[1], d[0])):.0f}°: its lips "
                            "fall outside the mouth's work box; use a portrait with the face upright")
        hole = opened[[where[i] for i in LIP_INNER]]
        self._tri = mesh_triangles(opened, hole)                      # (K, 3) node indices
        self._nodes_rest = nodes                                      # (N, 2) pixels

    def _to_unit(self, pixels: np.ndarray) -> np.ndarray:
        """Pixels → spline coordinates (IOD units from the box corner), of order one."""
        return (pixels - self._origin) / self.iod

    def _close_lips(self) -> np.ndarray:
        """The portrait with its inner lips together (the rest pose), or the portrait itself."""
        if np.abs(self.rest - self.source)[list(LIP_INNER)].max() < self.config.close_threshold_px:
            return self.image
        src = np.vstack([self.source[self._moving], self.source[self._anchors], self._ring])
        out = self.image.copy()
        x0, y0, x1, y1 = self.box
        map_x, map_y = piecewise_affine_map(src, self._nodes_rest, self._tri, self.box)
        out[y0:y1, x0:x1] = cv2.remap(self.image, map_x, map_y, cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REPLICATE)
        # where the lips meet the map tears: supersample there and average down (anti-aliasing)
        ss = self.config.close_supersample
        lips = np.vstack([self.source[list(LIP_OUTER)], self.rest[list(LIP_OUTER)]])
        mx0, my0 = np.maximum(np.floor(lips.min(0)).astype(int) - 2, (x0, y0))
        mx1, my1 = np.minimum(np.ceil(lips.max(0)).astype(int) + 3, (x1, y1))
        fine_x, fine_y = piecewise_affine_map(src, self._nodes_rest, self._tri,
                                              (mx0, my0, mx1, my1), supersample=ss)
        fine = cv2.remap(self.image, fine_x, fine_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out[my0:my1, mx0:mx1] = cv2.resize(fine, (mx1 - mx0, my1 - my0), interpolation=cv2.INTER_AREA)
        paint_lip_seam(out, self.rest, self.palette, self.box, self.config.mouth)
        return out

    # ------------------------------------------------------------------ rendering
    def target(self, motion_frame: np.ndarray) -> np.ndarray:
        """The pixel landmarks ``(478, 2)`` a motion frame ``(L, 3)`` is drawn to: kept inside the
        box, folds relaxed (:func:`~babelface.render.warp.untangle`)."""
        motion_frame = np.asarray(motion_frame, dtype=np.float32)
        if motion_frame.shape != (N_MOTION, 3):
            raise InputError(f"a motion frame must be ({N_MOTION}, 3), got {motion_frame.shape}")
        if not np.isfinite(motion_frame).all():
            raise InputError("motion frame contains NaN or infinite values: interpolate missing frames first")
        tgt = self._pixels(motion_frame)
        tgt[_MOTION] = np.clip(tgt[_MOTION], self._lo, self._hi)
        tgt[self._moving] = untangle(self._nodes_rest, tgt[self._moving], self._tri,
                                     self.config.min_area_ratio)
        return tgt

    def render(self, motion_frame: np.ndarray, teeth: float | None = None,
               tongue: float | None = None) -> np.ndarray:
        """One frame ``(H, W, 3)`` uint8 for one motion frame ``(L, 3)``.

        ``teeth``, ``tongue``: optional per-frame visibility hints in [0, 1] from articulation;
        ``None`` lets the lip geometry decide.
        """
        return self.render_target(self.target(motion_frame), teeth, tongue, self._source_mouth)

    def render_target(self, tgt: np.ndarray, teeth: float | None = None, tongue: float | None = None,
                      source: SourceMouth | None = None) -> np.ndarray:
        """One frame ``(H, W, 3)`` uint8 with the lower face warped from rest to the pixel
        landmarks ``tgt (478, 2)`` (:meth:`target`) and the interior painted, its pixels read
        from ``source`` where that mouth is open (:func:`~babelface.render.mouth.paint_interior`)."""
        x0, y0, x1, y1 = self.box
        idx = self._moving
        # backward displacement (target → rest) at the moving points, in IOD units
        field = self._field(self._to_unit(tgt[idx]), (self.rest[idx] - tgt[idx]) / self.iod)
        field = (field * self._taper * np.float32(self.iod)).reshape(*self._grid_shape, 2)   # (gh, gw, 2) px
        field = cv2.resize(field, (x1 - x0, y1 - y0), interpolation=cv2.INTER_CUBIC)
        crop = cv2.remap(self.rest_image, self._xx + field[..., 0], self._yy + field[..., 1],
                         cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)     # (h, w, 3) uint8
        paint_interior(crop, (x0, y0), tgt, self.palette, self.config.mouth,
                       teeth=teeth, tongue=tongue, source=source)
        out = self.rest_image.copy()
        out[y0:y1, x0:x1] = crop
        return out

    def render_sequence(self, motion: np.ndarray, articulation: np.ndarray | None = None,
                        teeth=None, tongue=None, workers: int = 1) -> Iterator[np.ndarray]:
        """Frames ``(H, W, 3)`` uint8, one at a time, for motion ``(T, L, 3)``.

        A generator: a long video is never held in memory. Optional mouth-interior hints, one
        value in [0, 1] per frame: ``articulation`` ``(T, P)`` (its ``teeth`` and ``tongue``
        columns, :data:`babelface.phonetics.ipa.ARTICULATORY_PARAMS` order), or ``teeth`` /
        ``tongue`` ``(T,)`` directly (these win). Without hints the lip geometry decides.
        Shapes are checked here, before the first frame is asked for. ``workers`` > 1 renders
        that many frames at once on threads (:func:`babelface.concurrency.ordered_map`; the
        frames are the same, in the same order)."""
        motion = np.asarray(motion, dtype=np.float32)
        if motion.ndim != 3 or motion.shape[1:] != (N_MOTION, 3):
            raise InputError(f"motion must be (T, {N_MOTION}, 3), got {motion.shape}")
        if articulation is not None:
            art_teeth, art_tongue = _articulation_hints(articulation, len(motion))
            teeth = art_teeth if teeth is None else teeth
            tongue = art_tongue if tongue is None else tongue
        teeth_h = _as_hint(teeth, len(motion), "teeth")
        tongue_h = _as_hint(tongue, len(motion), "tongue")
        from babelface.concurrency import ordered_map
        return ordered_map(lambda job: self.render(job[0], teeth=job[1], tongue=job[2]),
                           zip(motion, teeth_h, tongue_h), workers)
