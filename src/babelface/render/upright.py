"""Tilted portraits (issue 17): turned upright around the face for rendering, and back.

The renderer's work box is laid out for an upright face (the mouth below the nose). A portrait
whose face is rolled by more than ``MAX_PLAIN_ROLL_DEG`` (a head tilt, a photo on its side or
upside down) is rotated about the face so that the eye line is level, rendered there, and each
frame's work box is rotated back and pasted over the portrait as given: outside the box the output
is the portrait bit for bit; inside, the mouth moves as on an upright face.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator

import cv2
import numpy as np

from babelface.render.renderer import Renderer

MAX_PLAIN_ROLL_DEG = 10.0      # rolls up to this are rendered as they are
LEVEL_TRIES = 3                # rotate, measure again, correct: the first estimate can be 25° off
_EYE_OUTER = (33, 263)         # MediaPipe: outer corners of the right and left eye


def roll_degrees(landmarks: np.ndarray) -> float:
    """In-plane rotation of a face from its landmarks ``(478, ≥2)``: the angle of the line between
    the outer eye corners (0° level; positive: turned clockwise as seen)."""
    d = landmarks[_EYE_OUTER[1], :2] - landmarks[_EYE_OUTER[0], :2]
    return math.degrees(math.atan2(float(d[1]), float(d[0])))


@dataclass
class Upright:
    """A portrait and, when its face is rolled, the same portrait turned upright about the face."""

    image: np.ndarray               # (H, W, 3) uint8 as given
    upright: np.ndarray             # (H', W', 3) uint8 the face level (``image`` when not rolled)
    landmarks: np.ndarray           # (478, 3) pixels in ``upright``
    matrix: np.ndarray | None       # (2, 3) affine image → upright; None when not rolled
    roll: float                     # degrees


def make_upright(image: np.ndarray, landmarks: np.ndarray,
                 detect: Callable[[np.ndarray], np.ndarray]) -> Upright:
    """Level the face of ``image`` (landmarks ``(478, 3)``) when rolled; ``detect`` finds the
    landmarks again on the levelled image (the detector is more exact on an upright face)."""
    roll = roll_degrees(landmarks)
    if abs(roll) <= MAX_PLAIN_ROLL_DEG:
        return Upright(image, image, landmarks, None, roll)
    centre = tuple(float(v) for v in landmarks[:, :2].mean(0))
    angle = roll
    for _ in range(LEVEL_TRIES):        # a face lying on its side is measured roughly at first
        m, upright = _rotate(image, centre, angle)
        found = detect(upright)
        residual = roll_degrees(found)
        if abs(residual) <= MAX_PLAIN_ROLL_DEG:
            break
        angle += residual
    return Upright(image, upright, found, m, roll)


def _rotate(image: np.ndarray, centre: tuple[float, float], angle: float) -> tuple[np.ndarray, np.ndarray]:
    """``image`` turned by ``angle`` degrees counter-clockwise about ``centre`` on a canvas that
    holds all of it: (the (2, 3) affine map, the turned image)."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D(centre, angle, 1.0)                   # (2, 3)
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ m.T   # (4, 2)
    lo, hi = np.floor(corners.min(0)), np.ceil(corners.max(0))
    m[:, 2] -= lo                                                     # the whole image stays in view
    size = (int(hi[0] - lo[0]), int(hi[1] - lo[1]))
    return m, cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class UprightRenderer:
    """:class:`Renderer` frames of an :class:`Upright` portrait, in the geometry it was given in:
    the ``warp`` :class:`~babelface.models.protocols.MotionRenderer`."""

    name = "warp"

    def __init__(self, portrait: Upright):
        self.portrait = portrait
        self.renderer = Renderer(portrait.upright, portrait.landmarks)
        if portrait.matrix is not None:
            self._setup_paste()

    def _setup_paste(self) -> None:
        """Where the upright work box lands in the given image: a rectangle and a mask in it."""
        x0, y0, x1, y1 = self.renderer.box
        inv = cv2.invertAffineTransform(self.portrait.matrix)          # (2, 3) upright → image
        box = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], np.float64) @ inv.T
        h, w = self.portrait.image.shape[:2]
        rx0, ry0 = np.maximum(np.floor(box.min(0)).astype(int), 0)
        rx1, ry1 = np.minimum(np.ceil(box.max(0)).astype(int) + 1, (w, h))
        self._rect = (int(rx0), int(ry0), int(rx1), int(ry1))
        self._inv = inv.copy()
        self._inv[:, 2] -= (rx0, ry0)                                  # into the rectangle
        inside = np.zeros(self.portrait.upright.shape[:2], np.uint8)
        inside[y0 + 1:y1 - 1, x0 + 1:x1 - 1] = 1                       # one pixel in: no border bleed
        self._mask = self._warp(inside, cv2.INTER_NEAREST).astype(bool)[..., None]   # (h, w, 1)

    def _warp(self, img: np.ndarray, flags: int) -> np.ndarray:
        rx0, ry0, rx1, ry1 = self._rect
        return cv2.warpAffine(img, self._inv, (rx1 - rx0, ry1 - ry0), flags=flags,
                              borderMode=cv2.BORDER_REPLICATE)

    def render_sequence(self, motion: np.ndarray, articulation: np.ndarray | None = None,
                        workers: int = 1) -> Iterator[np.ndarray]:
        """Frames ``(H, W, 3)`` uint8 of the portrait as given, one per motion frame ``(T, L, 3)``
        (``workers``: as :meth:`Renderer.render_sequence`)."""
        frames = self.renderer.render_sequence(motion, articulation=articulation, workers=workers)
        if self.portrait.matrix is None:
            return frames
        return (self._paste(f) for f in frames)

    def _paste(self, frame: np.ndarray) -> np.ndarray:
        rx0, ry0, rx1, ry1 = self._rect
        out = self.portrait.image.copy()
        region = out[ry0:ry1, rx0:rx1]
        np.copyto(region, self._warp(frame, cv2.INTER_LINEAR), where=self._mask)
        return out


def warp_renderer(image: np.ndarray, landmarks: np.ndarray, **options) -> UprightRenderer:
    """The ``warp`` entry of :data:`babelface.models.protocols.RENDERERS`: the landmark-driven warp
    renderer, a rolled face levelled first (issue 17). ``options``: ``detect`` (landmarks of an image,
    default MediaPipe's)."""
    detect = options.pop("detect", None)
    if options:
        raise TypeError(f"the warp renderer takes no option {sorted(options)[0]!r}")
    if detect is None:
        from babelface.face.landmarks import detect_landmarks as detect
    return UprightRenderer(make_upright(image, landmarks, detect))
