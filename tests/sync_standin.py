"""A minimal stand-in for the synthetic benchmark (issue 4), for the sync expert's tests only.

espeak-ng speech with its phoneme timeline, and a crude articulation → motion mapping on the face
template (jaw rotation about the ear, lip spread/rounding, bilabial closure, labiodental contact),
returned as the benchmark datasets' dicts: ``mel`` (4T, 80) log-mel, ``motion`` (T, 111, 3),
``language``. It is deliberately simple: the real corpus comes from ``babelface bench build``.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from babelface.constants import FPS, SAMPLE_RATE
from babelface.face.align import template
from babelface.face.indices import (LIP_INNER_LOWER, LIP_INNER_UPPER, LIP_OUTER_LOWER, LIPS,
                                    MOTION_INDICES)
from babelface.media.audio import resample
from babelface.media.features import log_mel
from babelface.phonetics.espeak import PAUSE, synthesize
from babelface.phonetics.samples import SAMPLES

_OPEN, _MID, _CLOSE = set("aɑæɐɒʌä"), set("eɛəoɔøœɜɤɘɵ"), set("iɪyʏuʊɯɨʉ")
_ROUND, _SPREAD = set("oɔuʊyʏøœɒwʷ"), set("iɪeɛæɯ")
_BILABIAL, _LABIODENTAL = set("pbmɸβ"), set("fvɱ")


def phoneme_targets(ipa: str) -> np.ndarray:
    """(jaw, spread, round, closure, labiodental) target of one IPA segment."""
    if ipa == PAUSE:
        return np.zeros(5)
    c = ipa[0]
    jaw = 1.0 if c in _OPEN else 0.6 if c in _MID else 0.3 if c in _CLOSE else 0.2
    out = np.array([jaw, float(c in _SPREAD), float(c in _ROUND), 0.0, 0.0])
    if c in _BILABIAL:
        out[:] = (0.05, 0, 0, 1, 0)
    elif c in _LABIODENTAL:
        out[:] = (0.1, 0, 0, 0, 1)
    return out


def _basis() -> np.ndarray:
    """Displacement of the motion points per unit of each articulation parameter: (5, 111, 3)."""
    tpl = template()
    pts = tpl[list(MOTION_INDICES)].astype(np.float64)          # (111, 3)
    slot = {m: i for i, m in enumerate(MOTION_INDICES)}
    basis = np.zeros((5, len(pts), 3))
    # jaw: rotation about the ear axis (y 0.75, z 1.0) of the points below the lips' midline
    hinge = np.array([0.75, 1.0])
    dy, dz = pts[:, 1] - hinge[0], pts[:, 2] - hinge[1]
    weight = np.clip((pts[:, 1] - 1.05) / 0.35, 0, 1)
    for i in LIP_INNER_UPPER + tuple(set(LIPS) - set(LIP_OUTER_LOWER) - set(LIP_INNER_LOWER)):
        weight[slot[i]] = 0.1
    for i in LIP_INNER_LOWER + LIP_OUTER_LOWER:
        weight[slot[i]] = 1.0
    theta = 0.2
    basis[0, :, 1] = weight * (dy * (np.cos(theta) - 1) - dz * np.sin(theta))
    basis[0, :, 2] = weight * (dy * np.sin(theta) + dz * (np.cos(theta) - 1))
    lips = np.array([slot[i] for i in LIPS])
    xr = pts[lips, 0] / 0.44
    basis[1, lips, 0] = 0.08 * xr                                  # spread
    basis[2, lips, 0] = -0.10 * xr                                 # round: narrow, protrude
    basis[2, lips, 2] = -0.08 * (1 - np.clip(xr ** 2, 0, 1))
    up = np.array([slot[i] for i in LIP_INNER_UPPER[1:-1]])
    lo = np.array([slot[i] for i in LIP_INNER_LOWER[1:-1][::-1]])
    basis[3, up, 1] = 0.02                                         # closure: press the lips
    basis[3, lo, 1] = -0.02
    lower = np.array([slot[i] for i in LIP_OUTER_LOWER[1:-1] + LIP_INNER_LOWER[1:-1]])
    basis[4, lower, 1] = -0.05                                     # lower lip up to the teeth
    basis[4, lower, 2] = 0.03
    return basis.astype(np.float32)


_BASIS = None


def articulation_to_motion(params: np.ndarray) -> np.ndarray:
    """(T, 5) articulation → (T, 111, 3) motion. Closure and labiodental contact also cancel the
    jaw's opening of the lower lip."""
    global _BASIS
    if _BASIS is None:
        _BASIS = _basis()
    p = params.copy()
    p[:, 0] *= 1 - 0.8 * np.clip(p[:, 3] + p[:, 4], 0, 1)
    return np.einsum("tk,kpc->tpc", p, _BASIS).astype(np.float32)


def make_clip(language: str, rng: np.random.Generator, n_words: int = 8) -> dict:
    """One stand-in clip: random words of the language's sample text, a random voice."""
    words = SAMPLES[language].split()
    text = " ".join(rng.choice(words, size=min(n_words, len(words)), replace=False))
    syn = synthesize(text, language, rate=int(rng.integers(130, 230)), pitch=int(rng.integers(20, 80)))
    audio = resample(syn.audio, syn.sample_rate, SAMPLE_RATE)
    t = len(audio) // (SAMPLE_RATE // FPS)
    audio = audio[: t * (SAMPLE_RATE // FPS)]
    # articulation at 100 Hz from the timeline, coarticulated, sampled at the frames' centres
    grid = np.arange(4 * t) / 100.0
    params = np.zeros((len(grid), 5))
    for ph in syn.phonemes:
        params[(grid >= ph.start) & (grid < ph.end)] = phoneme_targets(ph.ipa)
    params = gaussian_filter1d(params, sigma=rng.uniform(2.0, 4.0), axis=0)
    params *= rng.uniform(0.6, 1.4, size=5)
    centres = (np.arange(t) + 0.5) * 4
    params = np.stack([np.interp(centres, np.arange(len(grid)), params[:, k]) for k in range(5)], 1)
    return {"mel": log_mel(audio)[: 4 * t], "motion": articulation_to_motion(params),
            "language": language, "audio": audio}
