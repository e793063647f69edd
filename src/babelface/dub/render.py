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

import numpy as np

from babelface.dub.mouth_bank import MouthBank
from babelface.dub.tracking import Tracking
from babelface.errors import FaceError
from babelface.face.align import fit_similarity
from babelface.face.indices import MOTION_INDICES
from babelface.render.mouth import Palette
from babelface.render.renderer import RenderConfig, Renderer

_MOTION = np.array(MOTION_INDICES)


class FrameRenderer:
    """Re-renders the frames of one tracked video.

    >>> fr = FrameRenderer(tracking, bank)
    >>> out = fr(image, i, motion_frame)      # (H, W, 3) uint8; the input itself when passed through
    """

    def __init__(self, tracking: Tracking, bank: MouthBank | None = None,
                 config: RenderConfig = RenderConfig()):
        self.tracking = tracking
        self.bank = bank
        self.config = config
        self.palette: Palette | None = None
        self.passed_through = 0

    def __call__(self, image: np.ndarray, i: int, motion_frame: np.ndarray,
                 teeth: float | None = None, tongue: float | None = None) -> np.ndarray:
        """Frame ``i`` ``(H, W, 3)`` uint8 speaking ``motion_frame (L, 3)`` (canonical, from rest)."""
        w = float(self.tracking.weight[i])
        if w <= 0:
            self.passed_through += 1
            return image
        lm = self.tracking.landmarks[i]                                  # (478, 3) smoothed pixels
        canonical = fit_similarity(lm).apply(lm)
        neutral = canonical.copy()                                       # this frame's face ...
        neutral[_MOTION] = self.tracking.neutral[_MOTION]                # ... with the speaker's rest mouth
        own = canonical[_MOTION] - neutral[_MOTION]                      # (L, 3) the frame's own motion
        motion = w * motion_frame + (1 - w) * own
        if self.palette is None:
            self.palette = Palette.from_portrait(image, lm, self.config.mouth)
        try:
            r = Renderer(image, lm, self.config, neutral=neutral, palette=self.palette)
        except FaceError:                                                # mouth outside the picture
            self.passed_through += 1
            return image
        tgt = r.target(motion)
        source = None
        if self.bank is not None:
            source = self.bank.source_for(tgt, image, lm)
        return r.render_target(tgt, teeth, tongue, source)
