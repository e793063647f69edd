"""The mouth interior taken from the video itself (Bregler et al. 1997, "Video Rewrite";
Suwajanakorn et al. 2017, "Synthesizing Obama", §3.2: for each target mouth shape, the source
frames whose mouth shape is closest supply its texture).

During the tracking pass every frame whose mouth is open offers its mouth region, cut out in
*mouth coordinates* (rotated so that the inner-lip corners are level, scaled so that they are
:data:`PATCH_WIDTH` pixels apart): an exemplar. The bank keeps one exemplar per band of opening
(gap / width, :data:`OPEN_STEP` wide), the most frontal one, so it holds a few dozen small
patches whatever the video's length. For each rendered frame the bank returns the exemplar whose
inner-lip shape is closest to the target's among those open at least as wide, the frame's own
open mouth included (real teeth, tongue and lighting), placed on the target mouth by the similarity that takes its inner-lip
corners onto the target's and colour-matched to the frame's lips. The renderer reads it where it
is open (:func:`babelface.render.mouth.paint_interior`) and synthesizes the rest: when the video
never opens its mouth, the interior is wholly the synthesized one.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from babelface.face.align import head_pose
from babelface.face.indices import LIP_INNER, LIP_OUTER
from babelface.render.mouth import MouthFrame, SourceMouth

PATCH_WIDTH = 96                     # px between the inner-lip corners of a stored exemplar
PATCH_A = (-0.35, 1.35)              # stored span along the mouth, in mouth widths
PATCH_B = (-0.45, 0.95)              # ... and across it (toward the chin)
MIN_OPEN = 0.06                      # gap / width below which a mouth shows no interior
OPEN_STEP = 0.025                    # width of a band of opening
SHAPE_SAMPLES = np.linspace(0.1, 0.9, 9)   # where along the mouth the inner-lip shape is compared
STICKY = 1.2                         # keep the previous exemplar unless another is this much closer
OWN_FRAME = 0.25                     # the frame's own mouth: its cost weighs this much (same light,
                                     # pose and moment), and it may be this much less open (KatieHill
                                     # reconstruction, mouth-box SSIM retrieved vs synthesized:
                                     # 0.7 → 0.625 vs 0.625, 0.4 → 0.627, 0.25 → 0.628)
COLOUR_GAIN = (0.85, 1.18)           # limits of the per-channel colour match


def shape_of(m: MouthFrame) -> np.ndarray:
    """Inner-lip shape descriptor ``(18,)``: upper and lower lip depth along the mouth, in widths."""
    return np.concatenate([m.top(SHAPE_SAMPLES), m.bottom(SHAPE_SAMPLES)]) / m.width


def lip_colour(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
    """Median RGB ``(3,)`` between the outer and inner lip contours of ``landmarks (478, 2)``."""
    pts = landmarks[list(LIP_OUTER)]
    x0, y0 = np.maximum(np.floor(pts.min(0)).astype(int), 0)
    x1, y1 = np.ceil(pts.max(0)).astype(int) + 1
    crop = image[y0:y1, x0:x1]
    if crop.size == 0:
        return None
    mask = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(pts - (x0, y0)).astype(np.int32)], 1)
    cv2.fillPoly(mask, [np.round(landmarks[list(LIP_INNER)] - (x0, y0)).astype(np.int32)], 0)
    return np.median(crop[mask > 0], axis=0) if mask.any() else None


def _patch_to_image(m: MouthFrame) -> np.ndarray:
    """``(2, 3)`` affine from patch pixels to image pixels for the mouth frame ``m``."""
    k = m.width / PATCH_WIDTH
    corner = m.origin + (PATCH_A[0] * m.axis + PATCH_B[0] * m.normal) * m.width
    return np.column_stack([m.axis * k, m.normal * k, corner])


def _apply(affine: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ affine[:, :2].T + affine[:, 2]


@dataclass
class Exemplar:
    patch: np.ndarray          # (h, w, 3) uint8 in mouth coordinates
    landmarks: np.ndarray      # (478, 2) in patch pixels
    shape: np.ndarray          # (18,) shape_of
    opening: float             # max inner-lip gap / width
    colour: np.ndarray         # (3,) lip colour
    yaw: float                 # |yaw| in degrees when it was taken


def exemplar(image: np.ndarray, landmarks: np.ndarray) -> Exemplar | None:
    """The open mouth of one frame ``(H, W, 3)`` with landmarks ``(478, 3)`` in mouth coordinates,
    or ``None`` when it is (nearly) closed."""
    lm = landmarks[:, :2].astype(np.float64)
    m = MouthFrame(lm)
    opening = m.max_gap() / m.width
    if opening < MIN_OPEN:
        return None
    colour = lip_colour(image, lm)
    if colour is None:
        return None
    to_image = _patch_to_image(m)
    size = (int(round((PATCH_A[1] - PATCH_A[0]) * PATCH_WIDTH)),
            int(round((PATCH_B[1] - PATCH_B[0]) * PATCH_WIDTH)))
    patch = cv2.warpAffine(image, to_image, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REPLICATE)
    to_patch = cv2.invertAffineTransform(to_image)
    return Exemplar(patch, _apply(to_patch, lm), shape_of(m), opening, colour,
                    abs(head_pose(landmarks)[0]))


class MouthBank:
    """Open-mouth exemplars of one face, at most one per band of opening."""

    def __init__(self):
        self.exemplars: dict[int, Exemplar] = {}
        self._last: Exemplar | None = None

    def __len__(self) -> int:
        return len(self.exemplars)

    def fork(self) -> "MouthBank":
        """The same exemplars with a fresh sticky choice: one per run of frames chosen in order
        (the segments of a video, rendered side by side, each choose as if they started the video)."""
        other = MouthBank()
        other.exemplars = self.exemplars
        return other

    @property
    def max_opening(self) -> float:
        return max((e.opening for e in self.exemplars.values()), default=0.0)

    def add(self, image: np.ndarray, landmarks: np.ndarray) -> None:
        """Offer one frame ``(H, W, 3)`` with its raw landmarks ``(478, 3)``."""
        ex = exemplar(image, landmarks)
        if ex is None:
            return
        band = int((ex.opening - MIN_OPEN) / OPEN_STEP)
        old = self.exemplars.get(band)
        if old is None or ex.yaw < old.yaw:
            self.exemplars[band] = ex

    def nearest(self, target: MouthFrame, current: Exemplar | None = None) -> Exemplar | None:
        """The exemplar for a target mouth: closest inner-lip shape among those open at least as
        wide (else the widest), the previous one kept unless another is :data:`STICKY` closer.
        ``current``: the frame's own open mouth, a candidate like the stored ones."""
        every = list(self.exemplars.values()) + ([current] if current is not None else [])
        if not every:
            return None
        want = target.max_gap() / target.width
        pool = [e for e in every if e.opening >= want * (OWN_FRAME if e is current else 1.0)]
        if not pool:
            pool = [max(every, key=lambda e: e.opening)]
        shape = shape_of(target)
        cost = {id(e): float(np.linalg.norm(e.shape - shape)) * (OWN_FRAME if e is current else 1.0)
                for e in pool}
        best = min(pool, key=lambda e: cost[id(e)])
        if self._last is not None and id(self._last) in cost and cost[id(self._last)] <= STICKY * cost[id(best)]:
            best = self._last
        self._last = best
        return best

    def choose(self, target: np.ndarray, current: Exemplar | None = None) -> Exemplar | None:
        """The exemplar for ``target (478, 2)`` pixels (:meth:`nearest`, sticky: call in frame
        order), or ``None`` when the target is closed or nothing is open. ``current``: the frame's
        own open mouth (:func:`exemplar`)."""
        m = MouthFrame(target)
        if m.max_gap() / m.width < MIN_OPEN / 2:
            return None
        return self.nearest(m, current)

    def source_for(self, target: np.ndarray, image: np.ndarray, landmarks: np.ndarray
                   ) -> SourceMouth | None:
        """The retrieved interior placed on ``target (478, 2)`` pixels of the frame ``image`` whose
        own landmarks are ``landmarks (478, 3)`` (its own open mouth is a candidate too),
        colour-matched to the frame's lips; ``None`` when the target is closed or nothing is open."""
        current = exemplar(image, landmarks)
        return place(self.choose(target, current), target, image, landmarks, current)


def place(ex: Exemplar | None, target: np.ndarray, image: np.ndarray, landmarks: np.ndarray,
          current: Exemplar | None = None) -> SourceMouth | None:
    """Exemplar ``ex`` placed on ``target (478, 2)`` pixels of ``image`` (whose landmarks are
    ``landmarks (478, 3)``, whose own open mouth is ``current``), colour-matched to the frame's
    lips. Pure: frames may be placed in parallel."""
    if ex is None:
        return None
    m = MouthFrame(target)
    colour = current.colour if current is not None else lip_colour(image, landmarks[:, :2])
    to_image = _patch_to_image(m)
    inner = target[list(LIP_INNER)]
    pad = 0.15 * m.width + 2
    x0, y0 = np.floor(inner.min(0) - pad).astype(int)
    x1, y1 = np.ceil(inner.max(0) + pad).astype(int)
    placed = to_image.copy()
    placed[:, 2] -= (x0, y0)
    crop = cv2.warpAffine(ex.patch, placed, (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    if colour is not None and ex is not current:
        gain = np.clip(colour / np.maximum(ex.colour, 1.0), *COLOUR_GAIN)
        crop = np.clip(crop * gain, 0, 255).astype(np.uint8)
    return SourceMouth(crop, _apply(to_image, ex.landmarks), (float(x0), float(y0)))
