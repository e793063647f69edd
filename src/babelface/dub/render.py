"""One video frame re-rendered: the lower face warped from the frame's own (smoothed) landmarks
to the speaker's rest mouth plus the new motion, in that frame's head pose.

The warp and paste-back are the portrait renderer's (:class:`babelface.render.Renderer`), built
on the frame itself with the speaker's rest mouth as its neutral: the frame's lips are first
brought together (the original mouth, mid-word in the source language, is replaced, not added
to), then a thin-plate spline takes them to the target and the interior is painted, its pixels
retrieved from the video's own open mouths (:mod:`babelface.dub.mouth_bank`). The work box never
reaches above the nose tip and the displacement tapers to zero at its border, so everything
above the nose, and every pixel outside the box, is the input's. Near frames without a usable
face the motion is blended toward the frame's own (``weight``), so the edit fades in and out.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from babelface.concurrency import ordered_map
from babelface.dub import mouth_bank
from babelface.dub.mouth_bank import Exemplar, MouthBank
from babelface.dub.tracking import Tracking
from babelface.errors import FaceError
from babelface.face.align import fit_similarity
from babelface.face.indices import MOTION_INDICES
from babelface.render.mouth import Palette
from babelface.render.renderer import RenderConfig, Renderer

_MOTION = np.array(MOTION_INDICES)


@dataclass
class Frame:
    """One frame on its way through the render stages."""

    image: np.ndarray                  # (H, W, 3) uint8
    i: int                             # its index in the video
    motion: np.ndarray                 # (L, 3) canonical motion from rest at its time
    teeth: float | None = None
    tongue: float | None = None
    renderer: Renderer | None = None   # None: passed through
    landmarks: np.ndarray | None = None   # (478, 3) its smoothed landmarks, pixels
    target: np.ndarray | None = None   # (478, 2) target landmarks, pixels
    own: Exemplar | None = None        # the frame's own open mouth
    exemplar: Exemplar | None = None   # the interior chosen for it
    bank: MouthBank | None = None      # the run's bank (its own sticky choice), None: synthesized


class FrameRenderer:
    """Re-renders the frames of one tracked video, in three stages so that the heavy ones run on
    several threads (:func:`babelface.concurrency.ordered_map`) while the output stays the same:
    :meth:`prepare` (warp set-up, parallel), :meth:`choose` (the mouth bank's sticky choice, in
    frame order), :meth:`finish` (interior and paste-back, parallel). Each :meth:`frames` call is
    a run with its own sticky choice, so runs (the video's segments) may render side by side; the
    interior's colours are measured once, before (:meth:`measure_palette`), or on the first edited
    frame of the first run.

    >>> fr = FrameRenderer(tracking, bank)
    >>> out = fr(image, i, motion_frame)      # (H, W, 3) uint8; the input itself when passed through
    >>> outs = fr.frames(frames, workers=2)   # frames: Frame items in order
    """

    def __init__(self, tracking: Tracking, bank: MouthBank | None = None,
                 config: RenderConfig = RenderConfig()):
        self.tracking = tracking
        self.bank = bank
        self.config = config
        self.palette: Palette | None = None
        self.passed_through = 0
        self._lock = threading.Lock()

    def __call__(self, image: np.ndarray, i: int, motion_frame: np.ndarray,
                 teeth: float | None = None, tongue: float | None = None) -> np.ndarray:
        """Frame ``i`` ``(H, W, 3)`` uint8 speaking ``motion_frame (L, 3)`` (canonical, from rest)."""
        return next(self.frames([Frame(image, i, motion_frame, teeth, tongue)], workers=1))

    def frames(self, frames: Iterable[Frame], workers: int = 1) -> Iterator[np.ndarray]:
        """The rendered images of ``frames`` (one run, in order), ``workers`` threads per parallel
        stage."""
        bank = None if self.bank is None else self.bank.fork()

        def start(f: Frame) -> Frame:
            f.bank = bank
            self.measure_palette(f.image, f.i)
            return f

        ready = ordered_map(self.prepare, map(start, frames), workers)
        return ordered_map(self.finish, map(self.choose, ready), workers)

    def measure_palette(self, image: np.ndarray, i: int) -> bool:
        """Measure the interior's colours on frame ``i`` ``(H, W, 3)`` if none are yet and it is
        edited; True once they are measured."""
        if self.palette is None and self.tracking.weight[i] > 0:
            self.palette = Palette.from_portrait(image, self.tracking.landmarks[i], self.config.mouth)
        return self.palette is not None

    def prepare(self, f: Frame) -> Frame:
        """The frame's warp (the portrait renderer built on it, the speaker's rest mouth as its
        neutral) and its target mouth: rest + motion, faded toward its own motion by the weight."""
        w = float(self.tracking.weight[f.i])
        if w <= 0:
            return f
        lm = f.landmarks = self.tracking.landmarks[f.i]                  # (478, 3) smoothed pixels
        canonical = fit_similarity(lm).apply(lm)
        neutral = canonical.copy()                                       # this frame's face ...
        neutral[_MOTION] = self.tracking.neutral[_MOTION]                # ... with the speaker's rest mouth
        own = canonical[_MOTION] - neutral[_MOTION]                      # (L, 3) the frame's own motion
        try:
            f.renderer = Renderer(f.image, lm, self.config, neutral=neutral, palette=self.palette)
        except FaceError:                                                # mouth outside the picture
            return f
        f.target = f.renderer.target(w * f.motion + (1 - w) * own)
        if self.bank is not None:
            f.own = mouth_bank.exemplar(f.image, lm)
        return f

    def choose(self, f: Frame) -> Frame:
        """The retrieved interior (sticky from frame to frame: called in frame order)."""
        if f.renderer is None:
            with self._lock:                             # runs choose side by side
                self.passed_through += 1
        elif f.bank is not None:
            f.exemplar = f.bank.choose(f.target, f.own)
        return f

    def finish(self, f: Frame) -> np.ndarray:
        """The frame rendered (the input itself when passed through)."""
        if f.renderer is None:
            return f.image
        source = mouth_bank.place(f.exemplar, f.target, f.image, f.landmarks, f.own)
        return f.renderer.render_target(f.target, f.teeth, f.tongue, source)
