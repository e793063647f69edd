"""PROVISIONAL stand-in for babelface.phonetics.ipa/visemes and babelface.motion.articulation.

Used by :mod:`babelface.data.groundtruth` only while those modules are not installed, so that the
benchmark builder runs end to end. It is deliberately crude: one articulatory target per viseme
class, Gaussian smoothing as coarticulation, and a hand-set linear map to motion. Datasets built
with it carry ``"ground_truth": "provisional"`` in their provenance; rebuild them once the real
model is present. Delete this module when it is.
"""

from __future__ import annotations

import unicodedata

import numpy as np
from scipy.ndimage import gaussian_filter1d

from babelface.constants import FPS
from babelface.face.align import template
from babelface.face.indices import (CHEEKS, CHIN, JAW, LIP_INNER_LOWER, LIP_INNER_UPPER,
                                    LIP_OUTER_LOWER, LIP_OUTER_UPPER, MOTION_INDICES)

PARAMS = ("jaw", "spread", "round", "protrusion", "closure", "labiodental", "tongue", "teeth")
VISEMES = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou")

_CLASSES = {
    "PP": "p b m ɸ β ʙ ɓ",
    "FF": "f v ʋ ɱ pf",
    "TH": "θ ð",
    "DD": "t d ʈ ɖ",
    "kk": "c ɟ ç ʝ k ɡ x ɣ ɰ q ɢ ɴ χ ʁ ʀ ħ ʕ ʔ h ɦ ŋ",
    "CH": "ʃ ʒ tʃ dʒ ɕ ʑ tɕ dʑ ʂ ʐ tʂ dʐ",
    "SS": "s z ts dz",
    "nn": "n ɳ ɲ l ɫ ɭ ʎ ɬ",
    "RR": "r ɾ ɹ ɻ ɽ",
    "aa": "a ɑ æ ɐ ʌ ɶ",
    "E": "e ɛ ə ɘ ɜ ɤ ɚ",
    "ih": "i ɪ ɨ ɯ ᵻ j",
    "oh": "o ɔ ø œ ɵ ɞ ɒ",
    "ou": "u ʊ y ʏ ʉ w ɥ",
}
_VISEME_OF = {s: VISEMES.index(c) for c, syms in _CLASSES.items() for s in syms.split()}
BASES = tuple(s for syms in _CLASSES.values() for s in syms.split())
_MAX_LEN = max(len(b) for b in BASES)
_ASCII = {"S": "ʃ", "Z": "ʒ", "N": "ŋ", "A": "ɑ", "E": "ɛ", "O": "ɔ", "I": "ɪ", "U": "ʊ", "V": "ʌ",
          "@": "ə", "&": "æ", "?": "ʔ", "g": "ɡ"}
_RETROFLEX = {"s": "ʂ", "z": "ʐ", "ts": "tʂ", "t": "ʈ", "d": "ɖ", "n": "ɳ", "r": "ɽ", "l": "ɭ"}


def segment_parts(name: str):
    from babelface.data.groundtruth import Part, SegmentInfo
    raw = name.strip()
    if raw == "" or set(raw) <= set("_:!^;|"):
        return SegmentInfo("pause", (Part("_", 1.0, 0),))
    if raw.startswith("(") and raw.endswith(")"):
        return SegmentInfo("switch")
    s = unicodedata.normalize("NFD", "".join(_ASCII.get(c, c) for c in raw))
    bases: list[str] = []
    i = 0
    while i < len(s):
        m = next((s[i:i + n] for n in range(min(_MAX_LEN, len(s) - i), 0, -1) if s[i:i + n] in _VISEME_OF), None)
        if m is not None:
            if bases and bases[-1] in ("t", "p", "k", "c", "ts", "tʂ", "tɕ", "tʃ") and m == "h":
                i += 1                                   # espeak-ng aspiration: kh, ph, tɕh
                continue
            bases.append(m)
            i += len(m)
        elif s[i] == "." and bases and bases[-1] in _RETROFLEX:
            bases[-1] = _RETROFLEX[bases[-1]]
            i += 1
        elif unicodedata.category(s[i]).startswith(("M", "L", "N", "P", "S")) and s[i] not in "?":
            i += 1                                       # marks, modifiers, tones, stress
        else:
            return SegmentInfo("unknown")
    if not bases:
        return SegmentInfo("unknown")
    merged = [b for k, b in enumerate(bases) if k == 0 or b != bases[k - 1]]
    w = 1.0 / len(merged)
    return SegmentInfo("speech", tuple(Part(b, w, _VISEME_OF[b]) for b in merged))


# one target per viseme class over PARAMS
_TARGETS = np.array([
    # jaw  spread round protr closure labiod tongue teeth
    [0.00, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],    # sil
    [0.10, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],    # PP
    [0.12, 0.1, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0],    # FF
    [0.22, 0.2, 0.0, 0.0, 0.0, 0.0, 1.0, 0.9],    # TH
    [0.20, 0.1, 0.0, 0.0, 0.0, 0.0, 0.4, 0.5],    # DD
    [0.30, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2],    # kk
    [0.10, 0.0, 0.5, 0.7, 0.0, 0.0, 0.0, 0.8],    # CH
    [0.08, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],    # SS
    [0.20, 0.1, 0.0, 0.0, 0.0, 0.0, 0.5, 0.4],    # nn
    [0.25, 0.0, 0.3, 0.3, 0.0, 0.0, 0.3, 0.3],    # RR
    [1.00, 0.2, 0.0, 0.0, 0.0, 0.0, 0.3, 0.6],    # aa
    [0.55, 0.5, 0.0, 0.0, 0.0, 0.0, 0.15, 0.6],   # E
    [0.20, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.7],    # ih
    [0.50, 0.0, 0.8, 0.6, 0.0, 0.0, 0.0, 0.1],    # oh
    [0.18, 0.0, 1.0, 0.9, 0.0, 0.0, 0.0, 0.0],    # ou
], np.float32)
_SMOOTH_FRAMES = 1.2            # Gaussian σ in frames: a crude coarticulation


def articulation(phonemes, n_frames: int, fps: int = FPS) -> np.ndarray:
    """``(T, 8)`` float32: each frame takes its viseme class's target, then Gaussian smoothing."""
    from babelface.data.groundtruth import frame_labels
    _, vis = frame_labels(phonemes, n_frames, fps)
    vis = np.where(vis < 0, 0, vis)
    art = _TARGETS[vis]
    return gaussian_filter1d(art, _SMOOTH_FRAMES, axis=0, mode="nearest").astype(np.float32)


def _basis() -> np.ndarray:
    """``(8, L, 3)``: canonical displacement (IOD units) per unit of each parameter."""
    t = template()
    idx = list(MOTION_INDICES)
    pts = t[idx]                                               # (L, 3)
    cx = t[list(LIP_OUTER_UPPER + LIP_OUTER_LOWER), 0].mean()
    half = np.ptp(t[list(LIP_OUTER_UPPER), 0]) / 2
    slot = {k: n for n, k in enumerate(idx)}
    basis = np.zeros((len(PARAMS), len(idx), 3), np.float32)
    lips = set(LIP_OUTER_UPPER + LIP_OUTER_LOWER + LIP_INNER_UPPER + LIP_INNER_LOWER)
    lower = {k: w for group, w in ((CHEEKS, 0.25), (JAW, 0.7), (CHIN, 0.9), (LIP_OUTER_LOWER, 1.0),
                                   (LIP_INNER_LOWER, 1.0)) for k in group}
    corners_inner = set(LIP_INNER_UPPER[:1] + LIP_INNER_UPPER[-1:])
    for k, w in lower.items():
        if k in slot and k not in (LIP_OUTER_LOWER[0], LIP_OUTER_LOWER[-1]) and k not in corners_inner:
            basis[0, slot[k], 1] = 0.45 * w                    # jaw: lower face down
    for k in lips:
        n = slot[k]
        rel = (pts[n, 0] - cx) / half
        basis[1, n, 0] = 0.12 * rel                            # spread: corners out
        basis[2, n, 0] = -0.12 * rel                           # round: corners in
        basis[2, n, 2] = -0.05
        basis[3, n, 2] = -0.10                                 # protrusion: lips forward
    for k in LIP_INNER_LOWER[1:-1]:
        basis[4, slot[k], 1] = -0.06                           # closure: lower lip up
        basis[5, slot[k], 1] = -0.05                           # labiodental: lower lip up and in
        basis[5, slot[k], 2] = 0.03
    for k in LIP_INNER_UPPER[1:-1]:
        basis[4, slot[k], 1] = 0.03
    return basis


def motion_from_articulation(art: np.ndarray) -> np.ndarray:
    """``(T, 8)`` → motion ``(T, L, 3)`` float32 by the fixed linear basis."""
    return np.einsum("tp,plc->tlc", art, _basis()).astype(np.float32)
