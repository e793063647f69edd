"""Coarticulation: timed phonemes → smooth per-frame articulation parameters ``(T, P)`` at 25 fps.

Cohen, M. M. & Massaro, D. W. (1993). *Modeling coarticulation in synthetic visual speech.* In
Thalmann & Thalmann (eds.), Models and Techniques in Computer Animation, 139–156.

Every segment ``s`` has, for every parameter ``p``, a target ``T_sp`` and a dominance function
(Cohen & Massaro 1993, eq. 1)::

    D_sp(t) = α_sp · exp(−θ←_sp · τ^c)    for t before the segment (τ = c_s − t, anticipatory)
    D_sp(t) = α_sp · exp(−θ→_sp · τ^c)    for t after it           (τ = t − c_s, carry-over)

and the parameter track is the dominance-weighted average of the targets (eq. 2)::

    F_p(t) = Σ_s D_sp(t) · T_sp / Σ_s D_sp(t)

Choices (docs/phonetics.md justifies each):

- α_sp comes from the segment's criticality κ_sp (:func:`babelface.phonetics.ipa.articulatory_target`):
  ``α = ALPHA_FLOOR + (1 − ALPHA_FLOOR) · κ``. Vowels dominate the jaw; sibilants hold it high;
  consonants that do not use the lips (k, h, t …) have a low α for lip shape, so rounding flows
  through them from the vowels (anticipatory rounding, e.g. "stew").
- Plateau: τ is measured from the segment's *core* ``[centre − h, centre + h]``,
  ``h = max(0, duration / 2 − CORE_MARGIN)`` rather than from its centre, so that a long pause or
  vowel holds its target instead of fading from the middle. For segments shorter than
  ``2 · CORE_MARGIN`` this is exactly Cohen–Massaro.
- Pauses target the closed, neutral mouth (all parameters 0) with α growing with the pause's
  length (``pause_alpha · min(1, duration / pause_full)``, up to 4× a vowel's): a long pause
  closes the mouth, a 30 ms word gap barely dents it.
- Contact gestures (``closure``, ``labiodental``) are not averaged: averaging can never reach
  full closure between two open vowels (the known weakness of the model, e.g. Beskow 2004,
  *Trainable articulatory control models for visual speech synthesis*). They are constraints, so
  they take the maximum over segments of ``value · exp(−d / GESTURE_TAU_S)`` where ``d`` is the
  distance from the segment's interval. Evaluated over each frame's whole interval (the maximum of
  that function over ``[k/fps, (k+1)/fps)`` in closed form), a bilabial shorter than a frame still
  gives closure = 1 in the frame it falls in.

- Visual lead (anticipatory coarticulation measured on real talkers): the lips and jaw move
  before the sound they shape. The blended parameters are sampled ``lead`` seconds after the
  frame (``F_p(t + lead_g)``: the opening, i.e. jaw, tongue, teeth; and the lip shape, i.e.
  spread, round, protrusion); a contact gesture (closure, labiodental) *starts* ``lead`` early and
  still holds through its acoustic segment (the frame's interval is extended forward by the lead
  before the maximum), since the lips stay shut during a stop's silence. The leads are fitted on
  the real corpus's training speakers by scripts/calibrate_articulation.py and read from
  src/babelface/motion/calibration.json, which holds the fit, its provenance and the sync expert's
  lead scan (benchmarks/lead_scan.py); every phoneme motion (``say``, ``animate``, ``dub``) uses them.

Frame ``k`` covers ``[k / fps, (k + 1) / fps)`` (the audio samples ``640 k … 640 (k + 1)``); the
averaged parameters are sampled at its centre (plus the group's lead).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from babelface.constants import FPS
from babelface.motion.calibration import leads
from babelface.phonetics.ipa import (ARTICULATORY_PARAMS, N_PARAMS, PAUSE_TARGET, TimedPart,
                                     articulatory_target, expand_timeline)

PARAMS = ARTICULATORY_PARAMS          # fixed order: the columns of every articulation array
P = N_PARAMS
GESTURES = ("closure", "labiodental")
_GESTURE_IDX = np.array([PARAMS.index(g) for g in GESTURES])
_BLEND_IDX = np.array([i for i, p in enumerate(PARAMS) if p not in GESTURES])
_LIP_SHAPE_IDX = np.array([PARAMS.index("round"), PARAMS.index("protrusion")])
# the parameter groups that share a visual lead (CoarticulationConfig.lead_*)
LEAD_GROUPS = {"opening": ("jaw", "tongue", "teeth"), "closure": GESTURES,
               "shape": ("spread", "round", "protrusion")}
# The visual leads, read from motion/calibration.json, the one file that holds them (issues 10, 11):
# fitted on the real corpus's speakers (validation TMDC), checked against the sync expert for the
# portrait and the dub alike ("sync_lead_scan"). The shape lead is 0: rounding already anticipates
# (theta_round_anticipation).
_LEADS = leads()
LEAD_OPENING_S = _LEADS["opening"]
LEAD_CLOSURE_S = _LEADS["closure"]
LEAD_SHAPE_S = _LEADS["shape"]


@dataclass(frozen=True)
class CoarticulationConfig:
    """Dominance-function parameters (times in seconds, rates θ in 1/s; c is dimensionless)."""

    c: float = 1.0                     # Cohen & Massaro's exponent (1: exponential fall-off)
    theta_vowel: float = 12.0          # vowels: dominance falls to 1/e 83 ms away from the core
    theta_consonant: float = 20.0      # consonants: 50 ms
    theta_pause: float = 25.0          # pauses release quickly when speech starts (40 ms)
    theta_round_anticipation: float = 6.0   # rounding/protrusion reach ahead ~170 ms (Benguerel & Cowan 1974)
    alpha_floor: float = 0.02          # α = floor + (1 − floor) κ
    core_margin: float = 0.03          # plateau: core = segment shrunk by this much at each end
    pause_full: float = 0.15           # pauses this long (or longer) get full dominance
    pause_alpha: float = 4.0           # a full pause outweighs its neighbours: the mouth rests
    gesture_tau: float = 0.03          # closure/labiodental approach and release time constant
    eps: float = 1e-3                  # dominance below eps · α is treated as 0 (window size)
    lead_opening_s: float = LEAD_OPENING_S   # jaw/tongue/teeth move this long before the sound
    lead_closure_s: float = LEAD_CLOSURE_S   # bilabial/labiodental contact
    lead_shape_s: float = LEAD_SHAPE_S       # spreading, rounding, protrusion

    def lead(self, group: str) -> float:
        return {"opening": self.lead_opening_s, "closure": self.lead_closure_s,
                "shape": self.lead_shape_s}[group]


DEFAULT = CoarticulationConfig()
_PAD_S = 10.0                          # virtual pauses before and after the timeline
_CHUNK = 2048                          # frames blended at once


@dataclass
class TargetTrack:
    """A timeline as arrays: N segments (parts), P parameters."""

    start: np.ndarray        # (N,)
    end: np.ndarray          # (N,)
    value: np.ndarray        # (N, P) targets
    alpha: np.ndarray        # (N, P) dominance magnitudes
    theta_ant: np.ndarray    # (N, P) anticipatory rates
    theta_car: np.ndarray    # (N, P) carry-over rates
    pause: np.ndarray        # (N,) bool


def target_track(parts: list[TimedPart], duration: float, cfg: CoarticulationConfig = DEFAULT) -> TargetTrack:
    """Arrays of targets, α and θ for timed parts, padded with pauses to cover ``[−pad, duration + pad]``."""
    first = parts[0].start if parts else 0.0
    last = parts[-1].end if parts else 0.0
    padded = ([TimedPart(min(first, 0.0) - _PAD_S, first, None)] + list(parts)
              + [TimedPart(last, max(last, duration) + _PAD_S, None)])
    n = len(padded)
    start = np.array([p.start for p in padded])
    end = np.maximum(np.array([p.end for p in padded]), start)
    value = np.zeros((n, P))
    kappa = np.zeros((n, P))
    theta = np.zeros((n, P))
    pause = np.array([p.is_pause for p in padded])
    for i, tp in enumerate(padded):
        if tp.part is None:
            value[i], kappa[i] = PAUSE_TARGET.value, PAUSE_TARGET.kappa
            theta[i] = cfg.theta_pause
        else:
            tgt = articulatory_target(tp.part, tp.stress)
            value[i], kappa[i] = tgt.value, tgt.kappa
            theta[i] = cfg.theta_vowel if tp.part.features.vowel else cfg.theta_consonant
    alpha = cfg.alpha_floor + (1 - cfg.alpha_floor) * kappa
    pause_len = np.minimum(1.0, (end - start) / cfg.pause_full)
    alpha[pause] = (cfg.alpha_floor + cfg.pause_alpha * pause_len[pause])[:, None]
    theta_ant = theta.copy()
    rounded = value[:, _LIP_SHAPE_IDX] > 0.3            # rounding is anticipated far ahead
    theta_ant[:, _LIP_SHAPE_IDX] = np.where(rounded, cfg.theta_round_anticipation,
                                            theta_ant[:, _LIP_SHAPE_IDX])
    return TargetTrack(start, end, value, alpha, theta_ant, theta, pause)


def _cores(track: TargetTrack, cfg: CoarticulationConfig) -> tuple[np.ndarray, np.ndarray]:
    centre = (track.start + track.end) / 2
    half = np.maximum(0.0, (track.end - track.start) / 2 - cfg.core_margin)
    return centre - half, centre + half


def _windows(lo_edge: np.ndarray, hi_edge: np.ndarray, t: np.ndarray, reach: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(M, W)`` and validity mask of the segments within ``reach`` of each time."""
    first = np.searchsorted(hi_edge + reach, t, side="left")
    last = np.searchsorted(lo_edge - reach, t, side="right")       # exclusive
    first = np.minimum(first, len(lo_edge) - 1)
    width = int(max(1, (last - first).max()))
    idx = first[:, None] + np.arange(width)[None, :]
    valid = idx < np.maximum(last, first + 1)[:, None]
    return np.minimum(idx, len(lo_edge) - 1), valid


def blend(track: TargetTrack, t: np.ndarray, cfg: CoarticulationConfig = DEFAULT,
          columns: np.ndarray | None = None) -> np.ndarray:
    """Cohen–Massaro weighted average (eqs. 1–2) of every parameter at times ``t`` → ``(M, P)``.

    Only segments whose dominance can exceed ``eps · α`` are summed: the window reaches
    ``(ln(1/eps) / θ_min)^(1/c)`` seconds, computed per group of parameters sharing θ_min
    (rounding anticipates furthest), in chunks of ``_CHUNK`` times to stay in cache. Only the
    parameters in ``columns`` (default: all) are computed; the others stay 0.
    """
    lo, hi = _cores(track, cfg)
    theta_min = np.minimum(track.theta_ant.min(0), track.theta_car.min(0))      # (P,)
    out = np.zeros((len(t), P))
    wanted = np.zeros(P, bool)
    wanted[np.arange(P) if columns is None else columns] = True
    for th in np.unique(theta_min[wanted]):
        cols = np.flatnonzero((theta_min == th) & wanted)
        reach = (np.log(1.0 / cfg.eps) / th) ** (1.0 / cfg.c)
        alpha, value = track.alpha[:, cols], track.value[:, cols]
        th_a, th_c = track.theta_ant[:, cols], track.theta_car[:, cols]
        for a in range(0, len(t), _CHUNK):
            tt = t[a:a + _CHUNK]
            idx, valid = _windows(lo, hi, tt, reach)                     # (M, W)
            before = np.maximum(lo[idx] - tt[:, None], 0.0)[..., None]   # (M, W, 1) anticipatory τ
            after = np.maximum(tt[:, None] - hi[idx], 0.0)[..., None]    # (M, W, 1) carry-over τ
            log_d = -(th_a[idx] * before ** cfg.c + th_c[idx] * after ** cfg.c)
            dom = alpha[idx] * np.exp(log_d) * valid[..., None]          # (M, W, G)
            out[a:a + _CHUNK, cols] = (dom * value[idx]).sum(1) / np.maximum(dom.sum(1), 1e-12)
    return out


def gestures(track: TargetTrack, t0: np.ndarray, t1: np.ndarray, cfg: CoarticulationConfig = DEFAULT
             ) -> np.ndarray:
    """Max over segments of the contact gestures over each interval ``[t0, t1)`` → ``(M, len(GESTURES))``."""
    vals = track.value[:, _GESTURE_IDX]                              # (N, G)
    active = np.flatnonzero(vals.max(1) > 0)
    out = np.zeros((len(t0), len(GESTURES)))
    if active.size == 0:
        return out
    s, e, v = track.start[active], track.end[active], vals[active]
    reach = cfg.gesture_tau * np.log(1.0 / cfg.eps)
    mid = (t0 + t1) / 2
    idx, valid = _windows(s, e, mid, reach + float((t1 - t0).max()) / 2)   # (M, W)
    gap = np.maximum(0.0, np.maximum(s[idx] - t1[:, None], t0[:, None] - e[idx]))   # (M, W)
    g = v[idx] * (np.exp(-gap / cfg.gesture_tau) * valid)[..., None]       # (M, W, G)
    return g.max(1)


def frame_times(n_frames: int, fps: float = FPS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, centre, end) in seconds of each frame, ``(T,)`` each."""
    k = np.arange(n_frames, dtype=np.float64)
    return k / fps, (k + 0.5) / fps, (k + 1) / fps


_GESTURE_FRAMES = 4096      # frames whose contact gestures are computed at once (issue 16: bounded memory)


def articulation_from_parts(parts: list[TimedPart], n_frames: int, fps: float = FPS,
                            cfg: CoarticulationConfig = DEFAULT) -> np.ndarray:
    """Timed parts → articulation ``(T, P)`` float32 (see the module docstring)."""
    out = np.zeros((n_frames, P), np.float32)
    if n_frames == 0:
        return out
    t0, tc, t1 = frame_times(n_frames, fps)
    track = target_track(parts, n_frames / fps, cfg)
    for group, names in LEAD_GROUPS.items():
        cols = np.array([PARAMS.index(n) for n in names])
        lead = cfg.lead(group)                       # sample the sound's track ahead: motion leads
        if group == "closure":               # contact starts early, releases with the sound
            for a in range(0, n_frames, _GESTURE_FRAMES):     # per frame: blocks bound the (M, W, G) arrays
                b = a + _GESTURE_FRAMES
                out[a:b, cols] = gestures(track, t0[a:b], t1[a:b] + lead, cfg)
        else:
            out[:, cols] = blend(track, tc + lead, cfg, cols)[:, cols]
    return np.clip(out, 0.0, 1.0)


def articulation_from_timeline(phonemes, n_frames: int, fps: float = FPS,
                               cfg: CoarticulationConfig = DEFAULT) -> np.ndarray:
    """Timed phonemes (list of :class:`babelface.phonetics.espeak.Phoneme`) → articulation
    ``(T, P)`` float32 at ``fps``, columns in :data:`PARAMS` order, every value in [0, 1].

    Frames outside the timeline are silence (closed, neutral mouth). Unknown IPA symbols raise
    :class:`babelface.phonetics.ipa.UnknownSegmentError`.
    """
    return articulation_from_parts(expand_timeline(phonemes), n_frames, fps, cfg)
