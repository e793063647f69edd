"""Does a rendered video do what it was asked? The acceptance checks of a ``say``/``animate`` output.

- durations: the video's and the audio track's, which must agree to within one frame;
- a face found by MediaPipe in every output frame;
- the inner-lip gap measured on the output (MediaPipe, in inter-ocular distances) against the gap
  of the motion that drove it: Pearson r;
- the region above the nose tip (full width) against the source portrait: PSNR in dB (the
  renderer must leave eyes, brows, forehead and background alone).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from babelface.face.indices import LIP_MID_INNER, NOSE_TIP, motion_slot


@dataclass
class RenderCheck:
    frames: int
    face_frames: int
    video_duration_s: float
    audio_duration_s: float
    gap_r: float                # Pearson r of measured vs driving inner-lip gap
    gap_range: float            # max − min of the measured gap (IOD units): was the mouth visible?
    psnr_upper_db: float        # region above the nose tip vs the source, worst frame

    def to_dict(self) -> dict:
        return asdict(self)


def motion_gap(motion: np.ndarray) -> np.ndarray:
    """Inner-lip gap (13 ↔ 14) that a motion ``(T, L, 3)`` asks for on a closed-mouth neutral: ``(T,)``."""
    up, lo = motion_slot(LIP_MID_INNER)
    return np.linalg.norm(motion[:, lo] - motion[:, up], axis=-1)


def measured_gap(landmarks: np.ndarray) -> np.ndarray:
    """Inner-lip gap of pixel landmarks ``(T, 478, 3)`` in inter-ocular distances ``(T,)`` (NaN: no face)."""
    from babelface.face.align import inter_ocular
    up, lo = LIP_MID_INNER
    return np.linalg.norm(landmarks[:, lo, :2] - landmarks[:, up, :2], axis=-1) / inter_ocular(landmarks)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def check_render(video: str | Path, source: np.ndarray, source_landmarks: np.ndarray,
                 driving_gap: np.ndarray) -> RenderCheck:
    """Measure ``video`` (rendered from ``source`` with its landmarks) against the driving gap ``(T,)``."""
    from babelface.face.landmarks import landmarks_sequence
    from babelface.media import probe_audio, probe_video, read_frames
    frames = read_frames(video)
    h, w = source.shape[:2]
    frames = frames[:, :h, :w]                          # drop yuv420p's even-size padding
    lm = landmarks_sequence(frames)
    ok = np.isfinite(lm).all(axis=(1, 2))
    gap = measured_gap(lm)
    n = min(len(gap), len(driving_gap))
    both = ok[:n]
    g, d = gap[:n][both], driving_gap[:n][both]
    r = float(np.corrcoef(g, d)[0, 1]) if len(g) > 2 and g.std() > 0 and d.std() > 0 else float("nan")
    top = int(source_landmarks[NOSE_TIP, 1])
    upper = [psnr(f[:top], source[:top]) for f in frames]
    v, a = probe_video(video), probe_audio(video)
    return RenderCheck(len(frames), int(ok.sum()), float(v.duration_s or len(frames) / 25),
                       float(a.duration_s or 0.0), r, float(np.nanmax(gap) - np.nanmin(gap)),
                       float(np.min(upper)))
