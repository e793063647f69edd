"""Key frames for KMTalk (``papers/004``, supplement §A "Phoneme-based Localization Method", Table 5).

KMTalk places its *key motions* at phoneme boundaries: the frames where one phoneme ends and the
next begins, which are close to the inflection points of the lip curve (supplement Fig. 4). The
paper finds them with ASR + the Montreal Forced Aligner; babelface has exact timelines (espeak-ng
events, :func:`babelface.phonetics.align.align_transcript`, the benchmark's ground truth), and, for
audio alone, a boundary detector (:class:`babelface.models.kmtalk.KMTalk`'s boundary head) whose
frame-level probabilities :func:`peaks` turns into key frames.

A boundary is read at frame resolution in exactly one way everywhere (training labels, inference
from a timeline): frame ``k`` is a boundary when the phoneme heard at its centre differs from the
one at frame ``k − 1``'s centre (:func:`babelface.data.groundtruth.frame_labels`). So a boundary at
time ``b`` lands on frame ``round(b · fps)``. The first and the last frame are always key frames:
completion (CMC) interpolates between key motions and needs both ends.

Uniform sampling with stride 2, 3, 4 is the paper's comparison (supplement Table 5).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from babelface.constants import FPS

BOUNDARY_TOLERANCE = 1          # frames: precision/recall of detected boundaries at ±1 frame
UNIFORM_STRIDES = (2, 3, 4)     # supplement Table 5
PEAK_RADIUS = 1                 # a detected boundary is a local maximum over ±1 frame


def boundaries_from_labels(labels: np.ndarray) -> np.ndarray:
    """Frame-level phoneme ids ``(T,)`` (−1 unknown) → bool ``(T,)``: True where the label changes.

    Frame 0 is never a boundary here (it has no predecessor); unknown frames never start one.
    """
    lab = np.asarray(labels)
    out = np.zeros(len(lab), bool)
    if len(lab) > 1:
        out[1:] = (lab[1:] != lab[:-1]) & (lab[1:] >= 0)
    return out


def centres_from_labels(labels: np.ndarray) -> np.ndarray:
    """Frame labels ``(T,)`` → bool ``(T,)``: the middle frame of every run of one known phoneme (the
    articulatory targets, a comparison placement: boundaries are KMTalk's)."""
    lab = np.asarray(labels)
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    ends = np.r_[starts[1:], len(lab)]
    out = np.zeros(len(lab), bool)
    keep = lab[starts] >= 0 if len(lab) else np.zeros(0, bool)
    out[((starts + ends - 1) // 2)[keep]] = True
    return out


def boundaries_from_timeline(timeline: Sequence, n_frames: int, fps: int = FPS) -> np.ndarray:
    """Phoneme boundaries ``(T,)`` bool of a timeline (espeak-ng ``Phoneme`` list or manifest dicts)."""
    from babelface.data.groundtruth import frame_labels
    phon, _ = frame_labels(timeline, n_frames, fps)
    return boundaries_from_labels(phon)


def with_ends(boundary: np.ndarray) -> np.ndarray:
    """Key frames: the boundaries plus the first and last frame, bool ``(T,)``."""
    key = np.asarray(boundary, bool).copy()
    if len(key):
        key[0] = key[-1] = True
    return key


def uniform(n_frames: int, stride: int) -> np.ndarray:
    """Uniform sampling (supplement Table 5): every ``stride``-th frame and the last one, bool ``(T,)``."""
    if stride < 1:
        raise ValueError(f"stride must be ≥ 1, got {stride}")
    key = np.zeros(n_frames, bool)
    key[::stride] = True
    return with_ends(key)


def peaks(prob: np.ndarray, threshold: float, radius: int = PEAK_RADIUS) -> np.ndarray:
    """Boundary probabilities ``(T,)`` → bool ``(T,)``: local maxima over ±``radius`` frames above
    ``threshold`` (ties keep the earliest frame)."""
    p = np.asarray(prob, np.float64)
    padded = np.pad(p, radius, constant_values=-np.inf)
    window = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1)     # (T, 2r + 1)
    before, after = window[:, :radius].max(axis=1), window[:, radius + 1:].max(axis=1)
    return (p > threshold) & (p > before) & (p >= after)


def match_counts(true: np.ndarray, pred: np.ndarray, tolerance: int = BOUNDARY_TOLERANCE
                 ) -> tuple[int, int, int]:
    """(hits, predicted, true) with one-to-one matching within ±``tolerance`` frames (greedy in time:
    each true boundary takes the nearest unmatched prediction)."""
    t_idx = np.flatnonzero(true)
    p_idx = list(np.flatnonzero(pred))
    hits = 0
    for b in t_idx:
        near = [p for p in p_idx if abs(p - b) <= tolerance]
        if near:
            p_idx.remove(min(near, key=lambda p: (abs(p - b), p)))
            hits += 1
    return hits, int(np.count_nonzero(pred)), len(t_idx)


def precision_recall(hits: int, predicted: int, true: int) -> tuple[float, float, float]:
    """(precision, recall, F1); NaN where undefined (nothing predicted / nothing to find)."""
    p = hits / predicted if predicted else float("nan")
    r = hits / true if true else float("nan")
    f = 2 * p * r / (p + r) if predicted and true and (p + r) > 0 else float("nan")
    return p, r, f
