"""Motion beyond the mouth: head pose, blinks, gaze and brows (issue 14; docs/head.md).

**Head motion** is float32 ``(T, C)`` at 25 fps, ``C = len(CHANNELS)``, beside the mouth motion
``(T, L, 3)`` and in the same canonical convention (:mod:`babelface.face.align`: x to the image's
right, y down, z away from the camera, unit = inter-ocular distance, IOD). Every channel is a
*change from the portrait's own rest*: all zeros is today's still portrait.

=========  ======  ===========================================================================
channel    unit    meaning
=========  ======  ===========================================================================
yaw        degree  turn, as :func:`babelface.face.align.head_pose` measures it
pitch      degree  nod, likewise
roll       degree  tilt, likewise
tx, ty     IOD     translation of the eye-centre midpoint in the image plane
blink_r/l  0 … 1   eyelid closure of the subject's right / left eye (1 = closed)
gaze_x/y   eye w.  iris offset from its rest place, in eye widths (x right, y down, canonical)
brow       IOD     brow raise (up is positive)
=========  ======  ===========================================================================

:func:`measure_head` reads the same channels off MediaPipe landmarks, so the real clips, the
model and the rendered output are measured by one function.
"""

from __future__ import annotations

import numpy as np

from babelface.constants import FPS
from babelface.face import indices as I
from babelface.face.align import head_pose, to_canonical

CHANNELS = ("yaw", "pitch", "roll", "tx", "ty", "blink_r", "blink_l", "gaze_x", "gaze_y", "brow")
N_CHANNELS = len(CHANNELS)
POSE = slice(0, 5)             # yaw, pitch, roll, tx, ty
ANGLES = slice(0, 3)
BLINK = slice(5, 7)
GAZE = slice(7, 9)
BROW = 9

OPEN_QUANTILE = 0.8            # a clip's open-eye aspect ratio: this quantile of its frames
BLINK_THRESHOLD = 0.4          # a blink: mean closure above this (40 % of the open aspect ratio lost)
BLINK_MIN_GAP = 2              # closure runs closer than this many frames are one blink
BLINK_MAX_S = 1.0              # longer closures are not blinks (eyes lowered, squinting)
SMOOTH_SIGMA = 1.0             # frames: Gaussian smoothing of tracked pose before speeds (tracker jitter)
WINDOW_S = 5.0                 # statistics are taken over windows of this length (outputs are ~5 s)

_BROWS = np.array(I.RIGHT_BROW + I.LEFT_BROW)
_EYE_CORNERS = np.array(I.RIGHT_EYE_CORNERS + I.LEFT_EYE_CORNERS)


def channel(name: str) -> int:
    """Column of ``name`` in head motion (``channel("pitch") == 1``)."""
    return CHANNELS.index(name)


def still(n_frames: int) -> np.ndarray:
    """Head motion ``(T, C)`` of a still portrait: zeros."""
    return np.zeros((n_frames, N_CHANNELS), np.float32)


# ---------------------------------------------------------------------------------- measuring
def eye_aspect(landmarks: np.ndarray) -> np.ndarray:
    """Eye aspect ratio (lid gap over eye width, mean of three lid pairs) ``(..., 2)`` (right, left)
    of landmarks ``(..., 478, 3)``."""
    out = []
    for pairs, (a, b) in ((I.RIGHT_EAR_PAIRS, I.RIGHT_EYE_CORNERS), (I.LEFT_EAR_PAIRS, I.LEFT_EYE_CORNERS)):
        up, lo = np.array(pairs).T
        gap = np.linalg.norm(landmarks[..., up, :2] - landmarks[..., lo, :2], axis=-1).mean(-1)
        out.append(gap / np.linalg.norm(landmarks[..., a, :2] - landmarks[..., b, :2], axis=-1))
    return np.stack(out, -1)


def _gaze(canonical: np.ndarray) -> np.ndarray:
    """Iris centre relative to its eye's corner midpoint, in eye widths, mean of both eyes ``(T, 2)``."""
    out = []
    for iris, (a, b) in ((I.RIGHT_IRIS[0], I.RIGHT_EYE_CORNERS), (I.LEFT_IRIS[0], I.LEFT_EYE_CORNERS)):
        mid = (canonical[:, a, :2] + canonical[:, b, :2]) / 2
        width = np.linalg.norm(canonical[:, a, :2] - canonical[:, b, :2], axis=-1, keepdims=True)
        out.append((canonical[:, iris, :2] - mid) / width)
    return (out[0] + out[1]) / 2


def measure_head(landmarks: np.ndarray) -> np.ndarray:
    """Head motion ``(T, C)`` read off tracked pixel landmarks ``(T, 478, 3)`` (NaN frames → NaN).

    Pose: :func:`head_pose` angles; translation: the eye-centre midpoint in IODs; blink: 1 − eye
    aspect ratio / the clip's open ratio (its ``OPEN_QUANTILE``); gaze: iris in eye widths; brow:
    brow-to-eye-corner height in the canonical frame. Every channel but blink is taken relative to
    the clip's median, so the numbers describe movement, not the person's resting face."""
    lm = np.asarray(landmarks, np.float64)
    out = np.full((len(lm), N_CHANNELS), np.nan)
    ok = np.isfinite(lm).all(axis=(1, 2))
    if not ok.any():
        return out.astype(np.float32)
    seq = lm[ok]
    canonical, _ = to_canonical(seq)
    out[ok, ANGLES] = [head_pose(f) for f in seq]
    eyes = seq[:, _EYE_CORNERS, :2]                                        # (T, 4, 2)
    iod = np.linalg.norm(eyes[:, :2].mean(1) - eyes[:, 2:].mean(1), axis=-1)
    out[ok, 3:5] = eyes.mean(1) / np.median(iod)
    ear = eye_aspect(seq)                                                  # (T, 2)
    out[ok, BLINK] = np.clip(1 - ear / np.quantile(ear, OPEN_QUANTILE, axis=0), 0, 1)
    out[ok, GAZE] = _gaze(canonical)
    out[ok, BROW] = canonical[:, _EYE_CORNERS, 1].mean(1) - canonical[:, _BROWS, 1].mean(1)
    rel = [c for c in range(N_CHANNELS) if c not in (5, 6)]
    out[:, rel] -= np.nanmedian(out[:, rel], axis=0)
    return out.astype(np.float32)


# ---------------------------------------------------------------------------------- events
def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` of every run of True in a boolean ``(T,)``."""
    m = np.r_[False, np.asarray(mask, bool), False]
    d = np.flatnonzero(np.diff(m.astype(np.int8)))
    return list(zip(d[0::2], d[1::2]))


def blinks(closure: np.ndarray, threshold: float = BLINK_THRESHOLD) -> list[tuple[int, int, float]]:
    """Blinks in a mean-closure series ``(T,)``: ``(onset, end, peak)`` frames, where a blink is a
    run above ``threshold`` (runs closer than ``BLINK_MIN_GAP`` merged) and its extent is where the
    closure stays above half its peak (full width at half maximum: the same rule for real and
    rendered video); closures longer than ``BLINK_MAX_S`` are not blinks."""
    c = np.nan_to_num(np.asarray(closure, np.float64))
    merged: list[list[int]] = []
    for s, e in runs(c > threshold):
        if merged and s - merged[-1][1] < BLINK_MIN_GAP:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    out = []
    for s, e in merged:
        peak = float(c[s:e].max())
        a, b = s, e
        while a > 0 and c[a - 1] > peak / 2:
            a -= 1
        while b < len(c) and c[b] > peak / 2:
            b += 1
        if b - a <= BLINK_MAX_S * FPS:
            out.append((a, b, peak))
    return out


def smooth(x: np.ndarray, sigma: float = SMOOTH_SIGMA) -> np.ndarray:
    """Gaussian smoothing along time of ``(T, ...)`` (NaN-free input)."""
    from scipy.ndimage import gaussian_filter1d
    return gaussian_filter1d(np.asarray(x, np.float64), sigma, axis=0, mode="nearest")


# ---------------------------------------------------------------------------------- statistics
def window_stats(head: np.ndarray, window_s: float = WINDOW_S) -> dict[str, np.ndarray]:
    """Per-window statistics of head motion ``(T, C)`` (NaN-free): pose std (deg, IOD), mean
    absolute angular speed (deg/s), brow and gaze std, over consecutive windows of ``window_s``.
    Each value is ``(n_windows,)``; a clip shorter than one window gives one window of its length."""
    n = max(int(round(window_s * FPS)), 2)
    pieces = [head[i:i + n] for i in range(0, max(len(head) - n, 0) + 1, n)] if len(head) >= n else [head]
    stats: dict[str, list[float]] = {}
    for w in pieces:
        s = smooth(w)
        speed = np.abs(np.diff(s[:, ANGLES], axis=0)).mean(0) * FPS
        for k, name in enumerate(("yaw", "pitch", "roll")):
            stats.setdefault(f"{name}_std", []).append(float(s[:, k].std()))
            stats.setdefault(f"{name}_speed", []).append(float(speed[k]))
        stats.setdefault("tx_std", []).append(float(s[:, 3].std()))
        stats.setdefault("ty_std", []).append(float(s[:, 4].std()))
        stats.setdefault("brow_std", []).append(float(s[:, BROW].std()))
        stats.setdefault("gaze_std", []).append(float(np.linalg.norm(s[:, GAZE].std(0))))
    return {k: np.array(v) for k, v in stats.items()}


def blink_stats(head: np.ndarray) -> tuple[int, float, list[float]]:
    """(number of blinks, seconds observed, blink durations in seconds) of head motion ``(T, C)``."""
    events = blinks(np.nanmean(head[:, BLINK], axis=1))
    return len(events), len(head) / FPS, [(e - s) / FPS for s, e, _ in events]
