"""The articulatory model: articulation ``(T, P)`` → motion ``(T, L, 3)`` (motion/representation.py).

One displacement field (basis) per parameter, built once from the neutral face template
(:func:`babelface.face.align.template` with the mouth closed) in the canonical frame (unit =
inter-ocular distance, x right, y down, z away from the camera). Motion is their weighted sum,
plus the bilabial-closure term, which is not a fixed field but closes whatever gap the others
open::

    m(t) = Σ_p a_p(t) · B_p                                   (p ≠ closure)
    m(t) += a_labiodental(t) · D · (g(m(t)) − g_teeth)₊        (lower lip up to the upper teeth)
    m(t) += a_closure(t) · C · g(m(t))                         (g: the inner-lip gap vectors)
    lips never cross: a pair whose lower point rises above its upper one is closed (a_closure = 1)

Bases (docs/phonetics.md has figures and numbers; all magnitudes are at parameter value 1):

- **jaw**: rotation of the lower face about a hinge at the temporomandibular joint (the template's
  ear points 234/454: y ≈ 0.24, z ≈ 0.96 IOD behind the face plane, slightly further back), with
  weights 1 on the chin and jaw, ``0.5 + 0.5 ρ(x)`` on the lower lip, ``0.5 (1 − ρ(x))`` on the
  upper lip (ρ = elliptical lip profile, 1 at the midline, 0 at the corners) and a smooth
  fall-off upward through the cheeks (0.5 at the mouth corners' height, 0 a third of an IOD
  above); plus the upper lip's own rise (levator labii) ``∝ ρ(x)`` carrying
  ``upper_share`` of the opening. The rotation angle and the rise are solved so that jaw = 1 gives
  an inner-lip gap (13 ↔ 14) of ``gap_at_full_jaw``, fitted on the real corpus's training
  speakers (issue 11, scripts/calibrate_articulation.py, calibration.json: the text path's gap
  varies as much as theirs, median over 26 clips; first set to 0.45 from one HDTF clip).
  The direction this gives the lower lip (down and back, 36° from vertical) matches the clip's
  regression of lower-lip motion on the gap (38°).
- **spread**: lips stretched sideways (x ∝ x/x_corner, corners ±``spread_x``), corners slightly up
  and back, cheeks near the corners following with a Gaussian fall-off.
- **round**: lips narrowed (corners ∓``round_x``), pushed forward a little, outer lips everted.
- **protrusion**: lips forward (−z, ``protrusion_z`` at the midline), outer lips everted,
  perioral cheeks dragged along.
- **closure**: upper lip points move down by ``closure_upper_share`` of the local inner gap,
  lower lip points up by the rest: at closure = 1 the inner lips meet exactly, whatever the jaw.
- **labiodental**: a contact like closure, not a fixed field: the lower lip rises to the upper
  teeth, so each inner pair's gap shrinks to at most ``labiodental_gap`` (the incisors' edge
  showing) whatever the jaw; the lower lip also moves back under the teeth and the upper lip is
  raised a little (fixed fields). With a fixed raise, an /f v/ between open vowels kept the vowels'
  lip gap while the renderer drew the teeth in it (issue 11: `say` on the Mona Lisa).
- **tongue**, **teeth**: no landmark motion (the face mesh has no tongue or teeth); the renderer
  reads them from the articulation to draw the mouth interior.

All parameters 0 (silence) → motion exactly 0: the closed neutral face.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from babelface.constants import FPS
from babelface.face.align import template
from babelface.face.indices import (CHIN, LIP_CORNER_INNER, LIP_CORNER_OUTER, LIP_INNER_LOWER,
                                    LIP_INNER_UPPER, LIP_MID_INNER, LIP_OUTER_LOWER, LIP_OUTER_UPPER,
                                    MOTION_INDICES, N_MOTION, motion_slot)
from babelface.motion.articulation import PARAMS, articulation_from_timeline
from babelface.motion.representation import close_mouth

_EAR_POINTS = (234, 454)


@dataclass(frozen=True)
class ArticulatoryModelConfig:
    """Magnitudes of the bases, in inter-ocular distances (IOD) at parameter value 1."""

    # inner-lip gap of the widest vowel target: fitted so that the text path's gap varies as much as
    # the real corpus's training speakers' (median ratio 1; calibration.json; was 0.45 from one clip)
    gap_at_full_jaw: float = 0.303
    upper_share: float = 0.4            # share of the vertical opening from the upper lip (clip: 0.44)
    hinge_behind_ear: float = 0.1       # TMJ this far behind the template's ear points (z)
    spread_x: float = 0.0875            # each corner outward: mouth width +21 % (calibration.json)
    round_x: float = 0.0875             # each corner inward: mouth width −21 % (calibration.json)
    round_z: float = 0.05               # rounded lips forward
    protrusion_z: float = 0.12          # lips forward at the midline
    evert_y: float = 0.025              # outer lips turned out (protrusion, rounding)
    labiodental_gap: float = 0.05       # inner gap left at full contact: the upper incisors' edge
    labiodental_back: float = 0.05      # and back under them
    labiodental_upper: float = 0.03     # upper lip raised: the upper teeth show
    closure_upper_share: float = 0.35   # share of the closing done by the upper lip
    cheek_sigma: float = 0.25           # fall-off of lip-corner motion through the cheeks


DEFAULT = ArticulatoryModelConfig()

_UPPER = sorted(set(LIP_OUTER_UPPER[1:-1]) | set(LIP_INNER_UPPER[1:-1]))
_LOWER = sorted(set(LIP_OUTER_LOWER[1:-1]) | set(LIP_INNER_LOWER[1:-1]))
_CORNERS = LIP_CORNER_OUTER + LIP_CORNER_INNER
_OUTER = set(LIP_OUTER_UPPER) | set(LIP_OUTER_LOWER)
# inner pairs facing each other (upper, lower), corners excluded, ordered along x
_PAIRS = tuple(zip(LIP_INNER_UPPER[1:-1][::-1], LIP_INNER_LOWER[1:-1]))
_BELOW_LIP = CHIN[0]                     # 18: the skin under the lower lip follows it halfway


@dataclass(frozen=True)
class Bases:
    """Precomputed fields: ``linear`` (P, L, 3) (closure row zero) and the closure operator."""

    linear: np.ndarray          # (P, L, 3)
    closure: np.ndarray         # (L, K): point displacement per unit inner gap of each of K pairs
    lift: np.ndarray            # (L, K): the same with the lower lip alone closing (labiodental)
    upper_slots: np.ndarray     # (K,) motion slots of the inner pairs' upper points
    lower_slots: np.ndarray     # (K,)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _neutral() -> np.ndarray:
    """The closed-mouth template ``(478, 3)`` (float64)."""
    return close_mouth(template().astype(np.float64))


@lru_cache(maxsize=8)
def bases(cfg: ArticulatoryModelConfig = DEFAULT) -> Bases:
    """Build the displacement fields from the template (see the module docstring)."""
    face = _neutral()
    pts = face[list(MOTION_INDICES)]                              # (L, 3)
    x, y, z = pts[:, 0], pts[:, 1], pts[:, 2]
    slot = {m: i for i, m in enumerate(MOTION_INDICES)}
    upper = np.zeros(N_MOTION, bool)
    lower = np.zeros(N_MOTION, bool)
    corner = np.zeros(N_MOTION, bool)
    outer = np.zeros(N_MOTION, bool)
    upper[[slot[i] for i in _UPPER]] = True
    lower[[slot[i] for i in _LOWER]] = True
    corner[[slot[i] for i in _CORNERS]] = True
    outer[[slot[i] for i in _OUTER]] = True
    lip = upper | lower | corner
    x_corner = float(abs(face[LIP_CORNER_OUTER[0], 0]))
    y_corner = float(face[LIP_CORNER_OUTER[0], 1])
    rho = np.sqrt(np.clip(1 - (x / x_corner) ** 2, 0, 1)) * lip    # elliptical lip profile
    # distance to the nearer mouth corner, for cheek fall-offs
    corners_xyz = face[list(LIP_CORNER_OUTER)]
    d_corner = np.linalg.norm(pts[:, None, :2] - corners_xyz[None, :, :2], axis=-1).min(1)
    near_corner = np.where(lip, 1.0, np.exp(-(d_corner / cfg.cheek_sigma) ** 2))
    side = np.sign(x)

    # --- jaw: rotation about the TMJ hinge + upper-lip rise --------------------------------------
    ear = face[list(_EAR_POINTS)]
    hinge_y, hinge_z = float(ear[:, 1].mean()), float(ear[:, 2].mean()) + cfg.hinge_behind_ear
    w_face = _smoothstep((y - (y_corner - 1 / 3)) / (2 / 3))
    w_jaw = np.where(lower, 0.5 + 0.5 * rho, np.where(upper, 0.5 * (1 - rho),
                                                      np.where(corner, 0.5, w_face)))
    rot = np.stack([np.zeros_like(y), -(z - hinge_z), y - hinge_y], axis=1)   # d/dφ of the rotation
    rot *= w_jaw[:, None]
    rise = np.zeros_like(pts)
    rise[:, 1] = -rho * upper
    up, lo = (slot[i] for i in LIP_MID_INNER)
    # solve φ, U: gap vector = φ (rot[lo] − rot[up]) + U (rise[lo] − rise[up]), |gap| = target,
    # vertical part shared upper_share : (1 − upper_share)
    g_rot = rot[lo] - rot[up]
    g_rise = rise[lo] - rise[up]
    u_per_phi = cfg.upper_share / (1 - cfg.upper_share) * g_rot[1] / g_rise[1]
    phi = cfg.gap_at_full_jaw / np.linalg.norm(g_rot + u_per_phi * g_rise)
    jaw = phi * rot + phi * u_per_phi * rise

    # --- spread and round: horizontal stretch of the lips, cheeks near the corners follow ---------
    stretch = np.where(lip, np.clip(x / x_corner, -1, 1), side * near_corner)
    spread = np.zeros_like(pts)
    spread[:, 0] = cfg.spread_x * stretch
    spread[:, 1] = -0.2 * cfg.spread_x * np.abs(stretch) * (1 - rho)        # corners lift a little
    spread[:, 2] = 0.3 * cfg.spread_x * np.abs(stretch)                     # and draw back
    evert = np.where(outer & upper, -1.0, np.where(outer & lower, 1.0, 0.0)) * rho
    rnd = np.zeros_like(pts)
    rnd[:, 0] = -cfg.round_x * stretch
    rnd[:, 1] = 0.5 * cfg.evert_y * evert
    rnd[:, 2] = -cfg.round_z * np.where(lip, 0.5 + 0.5 * rho, 0.5 * near_corner)

    # --- protrusion: lips forward, everted; perioral skin dragged along ---------------------------
    centre = face[list(LIP_CORNER_OUTER)].mean(0)
    d_centre = np.linalg.norm(pts[:, :2] - centre[None, :2], axis=1)
    pro = np.zeros_like(pts)
    pro[:, 2] = -cfg.protrusion_z * np.where(lip, 0.6 + 0.4 * rho, 0.4 * np.exp(-(d_centre / 0.45) ** 2))
    pro[:, 1] = cfg.evert_y * evert

    # --- labiodental: lower lip back under the upper teeth, upper lip raised (the rise: ``lift``) --
    lab = np.zeros_like(pts)
    lab[:, 1] = -cfg.labiodental_upper * rho * upper
    lab[:, 2] = cfg.labiodental_back * np.where(lower, 0.4 + 0.6 * rho, 0.0)

    linear = np.zeros((len(PARAMS), N_MOTION, 3))
    for name, field in (("jaw", jaw), ("spread", spread), ("round", rnd), ("protrusion", pro),
                        ("labiodental", lab)):
        linear[PARAMS.index(name)] = field

    # --- closure: interpolate the K inner pairs' gaps along x to every lip point ------------------
    pair_x = np.array([face[u, 0] for u, _ in _PAIRS])                       # (K,)
    order = np.argsort(pair_x)
    k = len(_PAIRS)
    knots = np.r_[-x_corner, pair_x[order], x_corner]
    interp = np.zeros((N_MOTION, k))
    for j in range(k):                        # hat function of pair order[j] along x
        hat = np.zeros(k + 2)
        hat[j + 1] = 1.0
        interp[:, order[j]] = np.interp(x, knots, hat)
    share = np.where(upper, cfg.closure_upper_share, np.where(lower, -(1 - cfg.closure_upper_share), 0.0))
    share[slot[_BELOW_LIP]] = -0.5 * (1 - cfg.closure_upper_share)
    closure = interp * share[:, None]                                          # (L, K)
    lower_share = np.where(lower, -1.0, 0.0)
    lower_share[slot[_BELOW_LIP]] = -0.5
    lift = interp * lower_share[:, None]                                       # (L, K)
    return Bases(linear.astype(np.float32), closure.astype(np.float32), lift.astype(np.float32),
                 motion_slot([u for u, _ in _PAIRS]), motion_slot([lo_ for _, lo_ in _PAIRS]))


def motion_from_articulation(art: np.ndarray, cfg: ArticulatoryModelConfig = DEFAULT) -> np.ndarray:
    """Articulation ``(T, P)`` (columns in :data:`PARAMS` order) → motion ``(T, L, 3)`` float32."""
    art = np.asarray(art, dtype=np.float32)
    if art.ndim != 2 or art.shape[1] != len(PARAMS):
        raise ValueError(f"articulation must be (T, {len(PARAMS)}), got {art.shape}")
    b = bases(cfg)
    motion = np.einsum("tp,pld->tld", art, b.linear)                          # (T, L, 3)
    gap = motion[:, b.lower_slots] - motion[:, b.upper_slots]                # (T, K, 3)
    size = np.linalg.norm(gap, axis=-1)                                       # (T, K)
    excess = np.clip(1 - cfg.labiodental_gap / np.maximum(size, 1e-9), 0, None)   # share above the teeth
    lab = art[:, PARAMS.index("labiodental")][:, None] * excess               # (T, K)
    motion += np.einsum("lk,tkd->tld", b.lift, gap * lab[..., None])
    gap = motion[:, b.lower_slots] - motion[:, b.upper_slots]
    c = art[:, PARAMS.index("closure")][:, None]                             # (T, 1)
    c = np.where(gap[..., 1] < 0, 1.0, c)                                     # (T, K): lips never cross
    motion += np.einsum("lk,tkd->tld", b.closure, gap * c[..., None])
    return motion.astype(np.float32)


def timeline_to_motion(phonemes, n_frames: int, fps: float = FPS,
                       cfg: ArticulatoryModelConfig = DEFAULT) -> np.ndarray:
    """Timed phonemes → motion ``(T, L, 3)`` float32 at ``fps`` (coarticulation, then the bases)."""
    return motion_from_articulation(articulation_from_timeline(phonemes, n_frames, fps), cfg)


def motion_inner_gap(motion: np.ndarray) -> np.ndarray:
    """Inner-lip gap (13 ↔ 14) of motion ``(T, L, 3)`` → ``(T,)``: the neutral's lips touch, so this
    equals :func:`babelface.motion.representation.inner_gap` of the animated face."""
    up, lo = motion_slot(LIP_MID_INNER)
    return np.linalg.norm(motion[:, lo] - motion[:, up], axis=-1)
