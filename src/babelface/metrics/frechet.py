"""Fréchet distances between Gaussian fits of features: FID (Heusel et al. 2017), FVD (Unterthiner et al. 2019).

``d² = ||μ₁ − μ₂||² + tr(Σ₁) + tr(Σ₂) − 2·tr((Σ₁Σ₂)^½)``.

The trace of the matrix square root is computed from eigenvalues (``method="eig"``, default):
``tr((Σ₁Σ₂)^½) = Σ √λᵢ(Σ₁^½ Σ₂ Σ₁^½)``, a symmetric positive semi-definite product, so the result is
real, needs no ``sqrtm`` iteration, and stays finite for singular covariances (fewer samples than
feature dimensions). ``method="sqrtm"`` reproduces pytorch-fid / StyleGAN's code path
(``scipy.linalg.sqrtm``; on a non-finite result, retry with ``eps·I`` added to both covariances;
drop a negligible imaginary part) for bit-level comparability with numbers from those tools.
Both agree to ~1e-6 relative on well-conditioned inputs (tests/test_metrics_frechet.py).

Front-ends (:func:`fid`, :func:`fvd`) take any feature network as a callable; the I3D and
Inception exports load from local files only (:mod:`babelface.models.feature_nets`). The clip
choices that move FVD (REFERENCE.md, "FVD in practice") are fixed here and reported with every
number: :data:`FVD_PROTOCOL`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Literal

import numpy as np

SQRTM_EPS = 1e-6           # pytorch-fid's offset when sqrtm of a singular product fails
IMAG_TOL = 1e-3            # pytorch-fid: larger imaginary parts are an error


@dataclass(frozen=True)
class Gaussian:
    mu: np.ndarray       # (D,)
    sigma: np.ndarray    # (D, D)
    n: int               # samples it was fitted on


def fit_gaussian(features: np.ndarray) -> Gaussian:
    """Mean and unbiased covariance (``np.cov``, ddof = 1, as pytorch-fid) of ``(N, D)`` features."""
    x = np.asarray(features, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need at least two feature vectors (N, D), got shape {x.shape}")
    return Gaussian(x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False)), len(x))


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray,
                       method: Literal["eig", "sqrtm"] = "eig", eps: float = SQRTM_EPS) -> float:
    """``tr((Σ₁Σ₂)^½)`` for covariance matrices ``(D, D)``."""
    s1 = np.asarray(sigma1, np.float64)
    s2 = np.asarray(sigma2, np.float64)
    if method == "eig":
        r = _psd_sqrt(s1)
        m = r @ s2 @ r
        w = np.linalg.eigvalsh((m + m.T) / 2)
        return float(np.sqrt(np.clip(w, 0, None)).sum())
    if method == "sqrtm":
        from scipy import linalg
        covmean = linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():
            off = np.eye(len(s1)) * eps
            covmean = linalg.sqrtm((s1 + off) @ (s2 + off))
        if np.iscomplexobj(covmean):
            if not np.allclose(np.diagonal(covmean).imag, 0, atol=IMAG_TOL):
                raise ValueError(f"sqrtm left an imaginary component {np.abs(covmean.imag).max():.3g}")
            covmean = covmean.real
        return float(np.trace(covmean))
    raise ValueError(f"method must be 'eig' or 'sqrtm', not {method!r}")


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     method: Literal["eig", "sqrtm"] = "eig") -> float:
    """Squared Fréchet (2-Wasserstein) distance between N(μ₁, Σ₁) and N(μ₂, Σ₂); ≥ 0."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"shape mismatch: mu {mu1.shape} / {mu2.shape}, sigma {s1.shape} / {s2.shape}")
    diff = mu1 - mu2
    d = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt_product(s1, s2, method))
    return max(d, 0.0)


def frechet_from_features(real: np.ndarray, gen: np.ndarray, method: Literal["eig", "sqrtm"] = "eig") -> float:
    """Fréchet distance between Gaussian fits of two feature sets ``(N, D)`` and ``(M, D)``."""
    a, b = fit_gaussian(real), fit_gaussian(gen)
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma, method)


# ---------------------------------------------------------------------------------------------
# front-ends
# ---------------------------------------------------------------------------------------------

FeatureNet = Callable[[np.ndarray], np.ndarray]
"""A feature network: uint8 RGB batch → ``(N, D)`` float features. Images ``(N, H, W, 3)`` for FID,
clips ``(N, T, H, W, 3)`` for FVD; resizing and value range are the network wrapper's business."""


@dataclass(frozen=True)
class FVDProtocol:
    """The choices behind every FVD number babelface prints (REFERENCE.md: document them)."""

    clip_frames: int = 16              # frames per I3D clip (FVD-16, as StyleGAN-V / DIGAN)
    clip_stride: int = 16              # non-overlapping clips from frame 0
    max_clips_per_video: int | None = None   # None: every full clip of every video
    resolution: int = 224              # frames resized to 224×224 (bilinear, whole frame, no crop)
    value_range: str = "[-1, 1]"       # I3D input range, the TF-hub model's convention
    network: str = "Kinetics-400 I3D, 400-d logits (TorchScript export)"
    fps: int = 25                      # videos are read resampled to 25 fps
    source: str = "decoded from the given mp4s, no re-encoding"

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self).items())


FVD_PROTOCOL = FVDProtocol()


def video_clips(frames: np.ndarray, protocol: FVDProtocol = FVD_PROTOCOL) -> np.ndarray:
    """``(T, H, W, 3)`` → ``(n, clip_frames, H, W, 3)`` clips per the protocol (none if T < clip_frames)."""
    starts = list(range(0, len(frames) - protocol.clip_frames + 1, protocol.clip_stride))
    if protocol.max_clips_per_video is not None:
        starts = starts[:protocol.max_clips_per_video]
    if not starts:
        return np.zeros((0, protocol.clip_frames, *frames.shape[1:]), frames.dtype)
    return np.stack([frames[s:s + protocol.clip_frames] for s in starts])


def features_of(batches: Iterable[np.ndarray], net: FeatureNet) -> np.ndarray:
    """Run ``net`` over batches and stack the features ``(N, D)``."""
    feats = [np.asarray(net(b), np.float64) for b in batches if len(b)]
    if not feats:
        raise ValueError("no input for the feature network")
    return np.concatenate(feats)


def fid(real_images: Iterable[np.ndarray], gen_images: Iterable[np.ndarray], net: FeatureNet,
        method: Literal["eig", "sqrtm"] = "eig") -> float:
    """FID from batches of RGB uint8 images ``(N, H, W, 3)`` through an Inception-style ``net``."""
    return frechet_from_features(features_of(real_images, net), features_of(gen_images, net), method)


def fvd(real_videos: Iterable[np.ndarray], gen_videos: Iterable[np.ndarray], net: FeatureNet,
        protocol: FVDProtocol = FVD_PROTOCOL, method: Literal["eig", "sqrtm"] = "eig") -> float:
    """FVD from videos ``(T, H, W, 3)`` uint8, cut into clips by ``protocol``, through an I3D-style ``net``."""
    real = features_of((video_clips(v, protocol) for v in real_videos), net)
    gen = features_of((video_clips(v, protocol) for v in gen_videos), net)
    return frechet_from_features(real, gen, method)
