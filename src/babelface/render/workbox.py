"""Large portraits (issue 17): the face worked on at a sane resolution in a box around it, and
pasted back into the portrait at its full resolution.

The output may be as large as ``--max-pixels`` allows (at most H.264 level 5.1's frame), but what
the renderers do each frame grows with the face's size in pixels. When the box that holds every
pixel a frame can change (the head warp's fixed background ring about the face, with a margin) has
more than ``WORK_BOX_PIXELS``, it is cut out and scaled down to that many pixels; the mouth, head
and eyes are rendered there, and each frame's *change* (the rendered box minus the box as cut) is
scaled back up and added to the full-resolution box. Where a frame changes nothing the output is
the portrait bit for bit; where it does, the motion is the sane-resolution one over the portrait's
own full-resolution detail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Iterator

import cv2
import numpy as np

from babelface.constants import WORK_BOX_PIXELS
from babelface.render.head import RING_SCALE

BOX_MARGIN = 1.15        # × the head ring's reach: the box holds every pixel a frame can change


@dataclass
class WorkBox:
    """A box of a large portrait, scaled down for rendering (``image``, ``landmarks``)."""

    portrait: np.ndarray            # (H, W, 3) uint8 the full portrait
    rect: tuple[int, int, int, int]  # (x0, y0, x1, y1) of the box in the portrait
    image: np.ndarray               # (h, w, 3) uint8 the box, scaled down
    landmarks: np.ndarray           # (478, 3) pixels in ``image`` (z on the same scale)
    scale: float                    # image pixels per portrait pixel (< 1)

    def paste(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Each rendered box frame ``(h, w, 3)`` → the full portrait ``(H, W, 3)`` with its change
        scaled up (bilinear, over the changed part of the box only) and added (saturating)."""
        for frame in frames:
            out = self.portrait.copy()
            diff = cv2.absdiff(frame, self.image)                                    # (h, w, 3)
            moved = cv2.findNonZero(diff.reshape(diff.shape[0], -1))                  # (h, w·3)
            if moved is not None:
                x, y, w, h = cv2.boundingRect(moved)
                self._add(out, frame, (x // 3, y, (x + w - 1) // 3 + 1, y + h))
            yield out

    def stage(self, inner=None) -> "PasteStage":
        """A frame stage for :func:`babelface.render.segments.segment_jobs` (``apply(frames, head)``):
        ``inner``'s (the head renderer's, when the head moves), then :meth:`paste`."""
        return PasteStage(self, inner)

    def _add(self, out: np.ndarray, frame: np.ndarray, changed: tuple[int, int, int, int]) -> None:
        """Add ``frame − image`` within ``changed`` (x0, y0, x1, y1 of the box), scaled up, to ``out``."""
        x0, y0, x1, y1 = self.rect
        bh, bw = self.image.shape[:2]
        sx, sy = bw / (x1 - x0), bh / (y1 - y0)
        cx0, cy0 = max(changed[0] - 1, 0), max(changed[1] - 1, 0)              # one pixel of margin:
        cx1, cy1 = min(changed[2] + 1, bw), min(changed[3] + 1, bh)            # bilinear reaches it
        change = frame[cy0:cy1, cx0:cx1].astype(np.int16) - self.image[cy0:cy1, cx0:cx1]
        # the full pixels whose centres sample inside it: u ↦ (u + 0.5)·sx − 0.5 (pixel centres)
        fx0, fy0 = max(int((cx0 + 0.5) / sx - 0.5), 0), max(int((cy0 + 0.5) / sy - 0.5), 0)
        fx1 = min(int(math.ceil((cx1 - 0.5) / sx - 0.5)) + 1, x1 - x0)
        fy1 = min(int(math.ceil((cy1 - 0.5) / sy - 0.5)) + 1, y1 - y0)
        m = np.array([[sx, 0, (fx0 + 0.5) * sx - 0.5 - cx0], [0, sy, (fy0 + 0.5) * sy - 0.5 - cy0]])
        up = cv2.warpAffine(change, m, (fx1 - fx0, fy1 - fy0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)       # (fh, fw, 3) int16
        region = out[y0 + fy0:y0 + fy1, x0 + fx0:x0 + fx1]
        region[:] = cv2.add(region, up, dtype=cv2.CV_8U)                          # saturating


@dataclass
class PasteStage:
    box: WorkBox
    inner: object | None = None         # a stage with apply(frames, head), or None

    def apply(self, frames: Iterable[np.ndarray], head: np.ndarray) -> Iterator[np.ndarray]:
        """``frames`` of the box (head motion ``(t, C)`` drawn first by ``inner``) → full portraits."""
        return self.box.paste(frames if self.inner is None else self.inner.apply(frames, head))


def work_box(image: np.ndarray, landmarks: np.ndarray, max_pixels: int = WORK_BOX_PIXELS) -> WorkBox | None:
    """The scaled-down box around the face of ``image`` (landmarks ``(478, 3)`` pixels) when it is
    larger than ``max_pixels``; None when the face is small enough to work on as it is."""
    h, w = image.shape[:2]
    lo, hi = landmarks[:, :2].min(0), landmarks[:, :2].max(0)
    centre = (lo + hi) / 2
    reach = BOX_MARGIN * max(RING_SCALE) * float((hi - lo).max()) / 2    # any roll: a square box
    x0, y0 = (max(int(math.floor(c - reach)), 0) for c in centre)
    x1, y1 = min(int(math.ceil(centre[0] + reach)) + 1, w), min(int(math.ceil(centre[1] + reach)) + 1, h)
    if (x1 - x0) * (y1 - y0) <= max_pixels:
        return None
    scale = math.sqrt(max_pixels / ((x1 - x0) * (y1 - y0)))
    size = (max(int((x1 - x0) * scale), 1), max(int((y1 - y0) * scale), 1))
    small = cv2.resize(image[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    sx, sy = size[0] / (x1 - x0), size[1] / (y1 - y0)
    lm = landmarks.astype(np.float32).copy()                                     # (478, 3)
    lm[:, 0] = (lm[:, 0] - x0 + 0.5) * sx - 0.5                                  # pixel centres map
    lm[:, 1] = (lm[:, 1] - y0 + 0.5) * sy - 0.5
    lm[:, 2] *= (sx + sy) / 2
    return WorkBox(image, (x0, y0, x1, y1), small, lm, (sx + sy) / 2)
