"""A speaker's own speaking style: how far their mouth opens and how much its width changes.

Real talkers differ: on the real corpus's training speakers the inner-lip gap's 90th percentile
ranges over a factor of about two, and the mouth width's spread (rounding and spreading) too.
Generated motion (the text path, MuEx) has one amplitude for everyone; :func:`apply_style`
rescales it to a measured :class:`Style`:

- from a video of the person (``animate --style-video``, dubbing): :func:`measure_style` on the
  motion MediaPipe sees in it (:func:`babelface.motion.representation.landmarks_to_motion`);
- for a still portrait: :data:`MEDIAN_STYLE`, the median training speaker of the real corpus
  (fitted by scripts/calibrate_articulation.py, stored in calibration.json with its provenance).

The vertical opening (y and z of every motion point: jaw, lip opening, closure) is scaled by the
ratio of the gap's 90th percentile; the horizontal motion (x: spreading and rounding) so that the
width varies against the scaled gap as the speaker's does: the motion's width standard deviation
over its gap's becomes the speaker's (:attr:`Style.width_gap`). Each scale is clipped to
``[1 / MAX_SCALE, MAX_SCALE]``. (Matching the width's standard deviation on its own, as before
session 24, left generated motion rounding and spreading less than the speaker: a model's gap has
more full closures than a talker's, so at the speaker's 90th percentile its standard deviation is
larger; MuEx on the held-out real speakers came out at 0.59 × its gap against their 0.70.)
Motion is a displacement from a neutral face whose lips touch, so scaling keeps the rest pose at
rest and never makes the lips cross.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from babelface.errors import InputError
from babelface.face.indices import LIP_CORNER_OUTER, N_MOTION, motion_slot

GAP_QUANTILE = 90          # the opening of a speaker: this percentile of the inner-lip gap
MAX_SCALE = 3.0            # a style never scales motion by more than this (or less than its inverse)
MIN_FRAMES = 25            # one second of motion at least to measure a style


@dataclass(frozen=True)
class Style:
    """A speaker's mouth range in inter-ocular distances (IOD)."""

    opening: float         # GAP_QUANTILE-th percentile of the inner-lip gap (13 ↔ 14)
    width_std: float       # standard deviation of the outer mouth width (61 ↔ 291)
    gap_std: float         # standard deviation of the inner-lip gap

    @property
    def width_gap(self) -> float:
        """How much the width varies against the gap: rounding and spreading against opening."""
        return self.width_std / max(self.gap_std, 1e-9)

    def to_dict(self) -> dict:
        return {k: round(v, 5) for k, v in asdict(self).items()}


# The real corpus's median training speaker (scripts/calibrate_articulation.py, calibration.json)
MEDIAN_STYLE = Style(opening=0.231, width_std=0.048, gap_std=0.0735)


def measure_style(motion: np.ndarray) -> Style:
    """Style of motion ``(T, L, 3)`` (frames without a face, NaN, are skipped)."""
    from babelface.motion.articulatory_model import motion_inner_gap
    motion = np.asarray(motion, np.float64)
    if motion.ndim != 3 or motion.shape[1:] != (N_MOTION, 3):
        raise InputError(f"a style is measured on motion (T, {N_MOTION}, 3), got {motion.shape}")
    motion = motion[np.isfinite(motion).all(axis=(1, 2))]
    if len(motion) < MIN_FRAMES:
        raise InputError(f"a style needs at least {MIN_FRAMES} frames with a face, got {len(motion)}")
    gap = motion_inner_gap(motion)                                        # (T,)
    right, left = motion_slot(LIP_CORNER_OUTER)
    width = motion[:, left, 0] - motion[:, right, 0]                     # (T,) change of the width
    return Style(float(np.percentile(gap, GAP_QUANTILE)), float(width.std()), float(gap.std()))


def _ratio(target: float, own: float) -> float:
    if own <= 1e-6:
        return 1.0
    return float(np.clip(target / own, 1 / MAX_SCALE, MAX_SCALE))


def apply_style(motion: np.ndarray, style: Style, own: Style | None = None) -> np.ndarray:
    """Motion ``(T, L, 3)`` rescaled to ``style``; ``own`` (default: measured on ``motion``) is
    the style it has now. Motion too short to measure, or at rest, is returned unchanged."""
    motion = np.asarray(motion, np.float32)
    if own is None:
        try:
            own = measure_style(motion)
        except InputError:
            return motion.copy()
    vertical = _ratio(style.opening, own.opening)
    # the width the speaker's proportion asks for at the gap's new spread
    horizontal = _ratio(style.width_gap * own.gap_std * vertical, own.width_std)
    return motion * np.array([horizontal, vertical, vertical], np.float32)      # (3,) x, y, z


def style_of_video(path, max_seconds: float = 60.0) -> Style:
    """The style of the person in a video (their first ``max_seconds``): MediaPipe's landmarks,
    motion against their own neutral face, then :func:`measure_style`."""
    return measure_style(motion_of_video(path, max_seconds))


def motion_of_video(path, max_seconds: float = 60.0) -> np.ndarray:
    """The motion ``(T, L, 3)`` at 25 fps of the person in a video (their first ``max_seconds``)
    against their own neutral face; NaN on frames without a face. No face at all: InputError."""
    from babelface.constants import FPS
    from babelface.face.indices import N_LANDMARKS
    from babelface.face.landmarks import FaceTracker
    from babelface.media import iter_frames
    from babelface.motion.representation import landmarks_to_motion
    from babelface.progress import progress
    empty = np.full((N_LANDMARKS, 3), np.nan, np.float32)
    lms = []
    limit = int(max_seconds * FPS)
    with FaceTracker(max_faces=1) as tracker:
        for k, frame in enumerate(progress(iter_frames(path, fps=FPS), desc="style video", unit="frame")):
            if k >= limit:
                break
            faces = tracker.track(frame)
            lms.append(faces[0] if faces else empty)
    if not lms or not np.isfinite(np.stack(lms)).all(axis=(1, 2)).any():
        raise InputError(f"{path}: no face found in the style video")
    motion, _ = landmarks_to_motion(np.stack(lms))
    return motion


def apply_style_stream(chunks, style: Style):
    """:func:`apply_style` over motion chunks ``(t, L, 3)`` (windowed inference): the own style is
    measured once, on the first chunk long enough, and the same scaling applies to every chunk."""
    own = None
    for chunk in chunks:
        if own is None:
            try:
                own = measure_style(chunk)
            except InputError:
                yield np.asarray(chunk, np.float32)
                continue
        yield apply_style(chunk, style, own)
