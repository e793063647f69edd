"""Lip-geometry metrics on MediaPipe face-mesh landmarks: LSE-D, TMDC, MAR, LMD, LVE, FDD.

Pure NumPy. Every function takes landmark sequences ``(T, 478, 3)`` (pixels, as
:func:`babelface.face.landmarks.landmarks_sequence` returns them, or already canonical) and
compares a *real* (ground-truth) sequence with a *generated* one of the same clip.

- LSE-D, MuEx §4.2.1 eq. 7: mean distance of 26 lip landmarks (``indices.LSE_D_26``).
- TMDC, MuEx §4.2.2 eq. 8–9: mean Pearson correlation of five mouth-shape features.
- MAR and MAR diversity, JUST-DUB-IT A.1 eq. 5–6 (``indices.MAR_VERTICAL / MAR_HORIZONTAL``).
- LMD, JUST-DUB-IT A.1 eq. 4 on the 20 dlib mouth points (``indices.DLIB_MOUTH_20``).
- LVE (FaceFormer; KMTalk Tables 1–4): per frame the largest lip-vertex error, averaged.
- FDD (CodeTalker; KMTalk): upper-face dynamics deviation.

Policies (docs/metrics.md gives the full text):

- **Standardization** (``standardize=``): ``"canonical"`` (default) aligns every frame to the neutral
  template with :func:`babelface.face.align.to_canonical` (a similarity fit on the stable upper-face
  points; unit = inter-ocular distance, IOD), so distances are in IODs and free of head pose,
  translation and image size. ``"lips"`` centres each frame's selected lip points on their centroid
  and divides by their RMS radius (Procrustes-style; removes jaw translation too). ``"none"`` uses the
  coordinates as given. Geometry is 2-D (x, y of the standardized frame) unless ``dims=3``:
  MediaPipe's z is a weak monocular estimate.
- **Missing faces**: a frame counts only where every landmark used is finite in *both* sequences;
  a metric with no usable frame is NaN.
- **Length mismatch**: the sequences are compared over their common length ``min(T_real, T_gen)``;
  the CLI reports the mismatch.
- **Constant features** (TMDC): Pearson is undefined for a constant sequence. If both real and
  generated features are constant the two agree (r = 1); if only one is constant there is no
  linear relationship to measure (r = 0).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from babelface.face.indices import (DLIB_MOUTH_20, LIP_CORNER_OUTER, LIP_MID_INNER, LIP_MID_OUTER,
                                    LIPS, LSE_D_26, MAR_HORIZONTAL, MAR_VERTICAL, N_LANDMARKS,
                                    UPPER_FACE)

Standardize = Literal["canonical", "lips", "none"]

TMDC_EPS = 1e-8                 # MuEx eq. 8: ε in the two ratios
TMDC_FEATURES = ("width", "height", "area", "aspect_ratio", "openness")
CONSTANT_RTOL = 1e-6            # a feature whose std is below this fraction of its magnitude is constant
# MuEx eq. 8's L_left/L_right/L_top/L_bottom: the outer lip corners and the outer lip midpoints. The
# outer midpoints never meet (the lips have thickness), so the aspect ratio stays finite when the
# mouth is closed; the inner gap (13 ↔ 14) would drive width / (height + ε) towards 1e8.
TMDC_LEFT_RIGHT = LIP_CORNER_OUTER          # (61, 291)
TMDC_TOP_BOTTOM = LIP_MID_OUTER             # (0, 17)


# ---------------------------------------------------------------------------------------------
# standardization
# ---------------------------------------------------------------------------------------------

def canonical(landmarks: np.ndarray) -> np.ndarray:
    """Every frame of ``(T, 478, 3)`` similarity-aligned to the template (IOD = 1); NaN stays NaN.

    The transform of :func:`babelface.face.align.fit_similarity` (scale = template IOD / frame IOD,
    Kabsch rotation on the stable points), computed for all frames at once.
    """
    from babelface.face.align import inter_ocular, template
    from babelface.face.indices import STABLE
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.ndim != 3 or lm.shape[1:] != (N_LANDMARKS, 3):
        raise ValueError(f"canonical alignment needs (T, {N_LANDMARKS}, 3) landmarks, got {lm.shape}")
    out = np.full(lm.shape, np.nan, np.float32)
    iod = inter_ocular(lm.astype(np.float64))                              # (T,)
    ok = np.isfinite(lm).all(axis=(1, 2)) & np.isfinite(iod) & (iod > 0)
    if not ok.any():
        return out
    ref = template().astype(np.float64)
    x = lm[ok][:, list(STABLE)].astype(np.float64)                        # (F, S, 3)
    y = ref[list(STABLE)]                                                  # (S, 3)
    s = (float(inter_ocular(ref)) / iod[ok])[:, None, None]               # (F, 1, 1)
    mx, my = x.mean(axis=1, keepdims=True), y.mean(axis=0)
    h = np.einsum("fsi,sj->fij", s * (x - mx), y - my)                     # (F, 3, 3) cross-covariance
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.einsum("fji,fkj->fik", vt, u)))           # det(Vᵀᵀ Uᵀ)
    fix = np.ones((len(d), 3))
    fix[:, 2] = d
    r = np.einsum("fji,fj,fkj->fik", vt, fix, u)                           # V diag(1,1,d) Uᵀ
    t = my - np.einsum("fij,fj->fi", r, s[:, :, 0] * mx[:, 0])             # (F, 3)
    full = lm[ok].astype(np.float64)
    out[ok] = (s * (full @ r.transpose(0, 2, 1)) + t[:, None, :]).astype(np.float32)
    return out


def _select(landmarks: np.ndarray, indices, standardize: Standardize, dims: int) -> np.ndarray:
    """Standardize, then pick ``indices``: ``(T, 478, 3)`` → ``(T, K, dims)`` float64."""
    lm = np.asarray(landmarks)
    if lm.ndim != 3 or lm.shape[-1] < dims:
        raise ValueError(f"expected landmarks (T, N, 3), got {lm.shape}")
    if standardize == "canonical":
        lm = canonical(lm)
    elif standardize not in ("lips", "none"):
        raise ValueError(f"standardize must be 'canonical', 'lips' or 'none', not {standardize!r}")
    pts = lm[:, list(indices), :dims].astype(np.float64)                  # (T, K, dims)
    if standardize == "lips":
        centre = pts.mean(axis=1, keepdims=True)                          # (T, 1, dims)
        radius = np.sqrt(((pts - centre) ** 2).sum(-1).mean(-1))[:, None, None]   # (T, 1, 1) RMS radius
        with np.errstate(invalid="ignore", divide="ignore"):
            pts = (pts - centre) / np.where(radius > 0, radius, np.nan)
    return pts


def _pair(real: np.ndarray, gen: np.ndarray, indices, standardize: Standardize, dims: int):
    """Both sequences standardized and cut to the common length, with the mask of usable frames."""
    t = min(len(real), len(gen))
    r = _select(np.asarray(real)[:t], indices, standardize, dims)
    g = _select(np.asarray(gen)[:t], indices, standardize, dims)
    valid = np.isfinite(r).all(axis=(1, 2)) & np.isfinite(g).all(axis=(1, 2))   # (T,)
    return r, g, valid


def _nanmean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else float("nan")


# ---------------------------------------------------------------------------------------------
# point-distance metrics: LSE-D (MuEx eq. 7), LMD (JUST-DUB-IT eq. 4), LVE (FaceFormer)
# ---------------------------------------------------------------------------------------------

def point_distances(real: np.ndarray, gen: np.ndarray, indices, standardize: Standardize = "canonical",
                    dims: int = 2) -> np.ndarray:
    """Per-frame, per-point Euclidean distances ``(T, K)``; NaN rows where a face is missing."""
    r, g, valid = _pair(real, gen, indices, standardize, dims)
    d = np.linalg.norm(r - g, axis=-1)                                    # (T, K)
    d[~valid] = np.nan
    return d


def lse_frames(real: np.ndarray, gen: np.ndarray, standardize: Standardize = "canonical",
               dims: int = 2) -> np.ndarray:
    """MuEx eq. 7: ``LSE_t = (1/26) Σ_i ||l_real − l_gen||₂`` for every frame, ``(T,)``, NaN if no face."""
    return point_distances(real, gen, LSE_D_26, standardize, dims).mean(axis=1)


def lse_d(real: np.ndarray, gen: np.ndarray, standardize: Standardize = "canonical", dims: int = 2) -> float:
    """LSE-D (MuEx §4.2.1): the temporal mean of :func:`lse_frames` over frames with a face in both.

    Lower is better; in IOD units with the default canonical standardization.
    """
    per_frame = lse_frames(real, gen, standardize, dims)
    return _nanmean(per_frame[np.isfinite(per_frame)])


def lmd(real: np.ndarray, gen: np.ndarray, indices=DLIB_MOUTH_20, standardize: Standardize = "canonical",
        dims: int = 2) -> float:
    """LMD (JUST-DUB-IT eq. 4): ``1/(T|L|) Σ_t Σ_{i∈L} ||P_ref − P_gen||₂`` over the 20 dlib mouth points.

    Lower is better when ``real`` is the ground truth. (JUST-DUB-IT's ablation reads it the other way
    round, as distance *from the source video*: higher = new lip motion rather than a copy.)
    """
    d = point_distances(real, gen, indices, standardize, dims)
    d = d[np.isfinite(d).all(axis=1)]
    return _nanmean(d)


def lve(real: np.ndarray, gen: np.ndarray, indices=LIPS, standardize: Standardize = "canonical",
        dims: int = 2, squared: bool = True) -> float:
    """Lip vertex error (FaceFormer; KMTalk): per frame the largest lip-vertex error, averaged over frames.

    ``squared=True`` (default) follows the FaceFormer/CodeTalker evaluation code whose numbers KMTalk
    compares to: the error of a vertex is its *squared* Euclidean distance (hence their mm² scale).
    Over the 40 ``FACEMESH_LIPS`` vertices.
    """
    d = point_distances(real, gen, indices, standardize, dims)            # (T, K)
    d = d[np.isfinite(d).all(axis=1)]
    if squared:
        d = d ** 2
    return _nanmean(d.max(axis=1)) if len(d) else float("nan")


def fdd(real: np.ndarray, gen: np.ndarray, indices=UPPER_FACE, standardize: Standardize = "canonical",
        dims: int = 2, neutral: np.ndarray | None = None) -> float:
    """Upper-face dynamics deviation (CodeTalker; KMTalk), signed as published.

    ``FDD = (1/|V|) Σ_{v∈V} dyn(M_real^v) − dyn(M_gen^v)``, where ``M^v_t = x^v_t − neutral^v`` is the
    motion of upper-face vertex ``v`` and ``dyn`` the standard deviation over time of its squared norm
    (CodeTalker's code). ``neutral`` ``(K, dims)`` defaults to the real clip's per-vertex median, used
    for both sequences (same speaker). Positive: the generated upper face moves less than the real one.
    """
    r, g, valid = _pair(real, gen, indices, standardize, dims)
    r, g = r[valid], g[valid]
    if len(r) < 2:
        return float("nan")
    ref = np.median(r, axis=0) if neutral is None else np.asarray(neutral, np.float64)
    dyn_r = (((r - ref) ** 2).sum(-1)).std(axis=0)                        # (K,)
    dyn_g = (((g - ref) ** 2).sum(-1)).std(axis=0)
    return float(dyn_r.mean() - dyn_g.mean())


# ---------------------------------------------------------------------------------------------
# TMDC (MuEx eq. 8–9)
# ---------------------------------------------------------------------------------------------

def _hull_area(points: np.ndarray) -> float:
    """Area of the 2-D convex hull of ``(K, 2)`` points; 0 for degenerate (collinear) sets."""
    from scipy.spatial import ConvexHull, QhullError
    try:
        return float(ConvexHull(points).volume)        # in 2-D, "volume" is the area
    except (QhullError, ValueError):
        return 0.0


def mouth_features(landmarks: np.ndarray, standardize: Standardize = "canonical",
                   indices=LSE_D_26) -> np.ndarray:
    """MuEx eq. 8: ``(T, 5)`` = width, height, convex-hull area, aspect ratio, openness per frame.

    Width: outer corners 61 ↔ 291; height: outer midpoints 0 ↔ 17; area: convex hull of the lip set
    ``indices`` (default the 26 of LSE-D); aspect ratio = W / (H + ε); openness = H / (W + ε),
    ε = 1e-8. 2-D, in the standardized frame. NaN rows where the face is missing.
    """
    idx = list(indices)
    for i in TMDC_LEFT_RIGHT + TMDC_TOP_BOTTOM:
        if i not in idx:
            idx.append(i)
    pts = _select(landmarks, idx, standardize, dims=2)                    # (T, K, 2)
    pos = {m: k for k, m in enumerate(idx)}
    left, right = pts[:, pos[TMDC_LEFT_RIGHT[0]]], pts[:, pos[TMDC_LEFT_RIGHT[1]]]
    top, bottom = pts[:, pos[TMDC_TOP_BOTTOM[0]]], pts[:, pos[TMDC_TOP_BOTTOM[1]]]
    width = np.linalg.norm(left - right, axis=-1)
    height = np.linalg.norm(top - bottom, axis=-1)
    hull_pts = pts[:, [pos[i] for i in indices]]
    area = np.array([_hull_area(p) if np.isfinite(p).all() else np.nan for p in hull_pts])
    feats = np.stack([width, height, area, width / (height + TMDC_EPS), height / (width + TMDC_EPS)], axis=1)
    return feats                                                          # (T, 5)


def _is_constant(x: np.ndarray) -> bool:
    return float(x.std()) <= CONSTANT_RTOL * max(float(np.abs(x).max()), 1e-30)


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """MuEx eq. 9 / Int-Corr: Pearson correlation of two equally long series, with the constant policy.

    Both constant → 1.0; exactly one constant → 0.0; fewer than two samples → NaN.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if len(x) != len(y):
        raise ValueError(f"pearson needs equal lengths, got {len(x)} and {len(y)}")
    if len(x) < 2:
        return float("nan")
    cx, cy = _is_constant(x), _is_constant(y)
    if cx or cy:
        return 1.0 if (cx and cy) else 0.0
    xc, yc = x - x.mean(), y - y.mean()
    r = float((xc * yc).sum() / np.sqrt((xc ** 2).sum() * (yc ** 2).sum()))
    return float(np.clip(r, -1.0, 1.0))


def tmdc_components(real: np.ndarray, gen: np.ndarray, standardize: Standardize = "canonical") -> dict[str, float]:
    """The five per-feature correlations ``r_k`` of MuEx eq. 9, by feature name."""
    t = min(len(real), len(gen))
    fr = mouth_features(np.asarray(real)[:t], standardize)
    fg = mouth_features(np.asarray(gen)[:t], standardize)
    valid = np.isfinite(fr).all(axis=1) & np.isfinite(fg).all(axis=1)
    return {name: pearson(fr[valid, k], fg[valid, k]) for k, name in enumerate(TMDC_FEATURES)}


def tmdc(real: np.ndarray, gen: np.ndarray, standardize: Standardize = "canonical") -> float:
    """TMDC (MuEx §4.2.2): ``(1/5) Σ_k r_k``, in [−1, 1]; higher is better, 1 for identical sequences."""
    comps = tmdc_components(real, gen, standardize)
    return float(np.mean(list(comps.values())))


# ---------------------------------------------------------------------------------------------
# MAR (JUST-DUB-IT eq. 5–6) and the mouth-opening curve
# ---------------------------------------------------------------------------------------------

def mar(landmarks: np.ndarray, standardize: Standardize = "canonical") -> np.ndarray:
    """JUST-DUB-IT eq. 5: ``MAR_t = ||P_55 − P_61|| / ||P_52 − P_58||`` = ``|0 ↔ 17| / |61 ↔ 291|``, ``(T,)``."""
    idx = MAR_VERTICAL + MAR_HORIZONTAL
    pts = _select(landmarks, idx, standardize, dims=2)                    # (T, 4, 2)
    vert = np.linalg.norm(pts[:, 0] - pts[:, 1], axis=-1)
    horiz = np.linalg.norm(pts[:, 2] - pts[:, 3], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(horiz > 0, vert / horiz, np.nan)


def mar_div(landmarks: np.ndarray, standardize: Standardize = "canonical") -> float:
    """JUST-DUB-IT eq. 6: the population standard deviation (1/T) of MAR over frames with a face."""
    m = mar(landmarks, standardize)
    m = m[np.isfinite(m)]
    return float(m.std()) if len(m) else float("nan")


def mouth_opening(landmarks: np.ndarray, standardize: Standardize = "canonical") -> np.ndarray:
    """Inner-lip gap 13 ↔ 14 per frame ``(T,)`` (IOD units when canonical): the curve the report plots."""
    pts = _select(landmarks, LIP_MID_INNER, standardize, dims=2)
    return np.linalg.norm(pts[:, 0] - pts[:, 1], axis=-1)


# ---------------------------------------------------------------------------------------------
# everything at once
# ---------------------------------------------------------------------------------------------

def lip_metrics(real: np.ndarray, gen: np.ndarray, standardize: Standardize = "canonical") -> dict[str, float]:
    """All lip metrics of one clip pair, standardizing each sequence once.

    Keys: ``lse_d, tmdc, mar_div, mar_div_real, lmd, lve, fdd, valid_frames``.
    """
    t = min(len(real), len(gen))
    if standardize == "canonical":
        real, gen, standardize = canonical(np.asarray(real)[:t]), canonical(np.asarray(gen)[:t]), "none"
    _, _, valid = _pair(real, gen, LIPS, "none" if standardize == "lips" else standardize, 2)
    return {
        "lse_d": lse_d(real, gen, standardize),
        "tmdc": tmdc(real, gen, standardize),
        "mar_div": mar_div(gen, standardize),
        "mar_div_real": mar_div(real, standardize),
        "lmd": lmd(real, gen, standardize=standardize),
        "lve": lve(real, gen, standardize=standardize),
        "fdd": fdd(real, gen, standardize=standardize),
        "valid_frames": int(valid.sum()),
    }


def motion_metrics(real: np.ndarray, gen: np.ndarray) -> dict[str, float]:
    """LSE-D, LMD and TMDC of two motions ``(T, L, 3)`` of one clip (canonical, inter-ocular units),
    both placed on the neutral face template and scored without further standardisation (as
    ``benchmarks/muex_results.py`` scores MuEx)."""
    from babelface.face.align import template
    from babelface.motion.representation import motion_to_canonical
    t = min(len(real), len(gen))
    neutral = template()
    r, g = motion_to_canonical(real[:t], neutral), motion_to_canonical(gen[:t], neutral)
    return {"lse_d": lse_d(r, g, "none"), "lmd": lmd(r, g, standardize="none"), "tmdc": tmdc(r, g, "none")}
