"""Audio-visual synchronisation metrics, independent of the embedding network.

Two protocols over per-frame audio and visual embeddings:

1. **SyncNet** (Chung & Zisserman 2016; the LSE-C / LSE-D = Sync-C / Sync-D of Wav2Lip and MuEx), as
   joonson/syncnet_python ``SyncNetInstance.evaluate`` computes it (REFERENCE.md):
   usable length ``min(n_frames, floor(n_samples / 640))``; ``usable − 5`` windows (the reference's
   ``lastframe``, which leaves out the last complete window); for window ``i`` and offset index
   ``j ∈ 0…2·vshift`` the distance ``||v_i − a_{i+j−vshift} + 1e-6||₂`` with the audio embeddings
   zero-padded by ``vshift`` at both ends (``torch.nn.functional.pad`` + ``pairwise_distance``, eps
   included); ``mdist`` = the mean over windows; **AV offset** = ``vshift − argmin(mdist)``;
   **Sync-D** = ``min(mdist)``; **Sync-C** = ``median(mdist) − min(mdist)``.
   SyncLipMAE §5 (Sync_conf) averages the per-window gap ``median_Δ d_t(Δ) − min_Δ d_t(Δ)``
   instead; it is reported as ``sync_conf_windowed``.
2. **Lag detection and retrieval** (SyncLipMAE §5): ``D(τ) = mean_t d(a_t, v_{t+τ})`` over valid
   indices, ``τ̂ = argmin D``; Offset = mean ``|τ̂ − τ*|``, Acc±K = share with ``|τ̂ − τ*| ≤ K``
   (K = 1, 5, 15); R-precision@k (k = 1, 2, 3) with a candidate pool of 32.

**Sign convention** everywhere: a positive offset means the *video lags the audio* (the mouth moves
``offset`` frames after the sound that caused it). Video frame ``t`` then matches audio frame
``t − offset``. The reference's ``vshift − argmin`` and SyncLipMAE's τ both follow it.

**Embeddings** are pluggable (:class:`SyncEmbedding`): row ``t`` of either embedding summarises the
``window`` frames starting at video frame ``t`` (SyncNet: 5 frames and MFCC frames ``4t … 4t+19``;
a per-frame token model: ``window = 1``). :func:`resolve_embedding` finds one: SyncNet weights named by
the user, else the built-in sync expert (``babelface.sync.SyncExpertEmbedding()``) when it is
installed, else none, with the reason.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from babelface.constants import SAMPLES_PER_FRAME

VSHIFT = 15                  # offsets −15 … +15 frames (syncnet_python demo/Wav2Lip: --vshift 15)
PAIRWISE_EPS = 1e-6          # torch.nn.functional.pairwise_distance's eps, kept for exact numbers
FRAMEWISE_MEDFILT = 9        # reference: scipy.signal.medfilt(fconf, kernel_size=9)
LAG_KS = (1, 5, 15)          # SyncLipMAE Tables 1-2: Acc±K
RPREC_KS = (1, 2, 3)         # SyncLipMAE: R-precision@1/2/3
RPREC_POOL = 32              # SyncLipMAE: pool of 32 candidates
_CHUNK = 128                 # windows per block in distance_curves


@runtime_checkable
class SyncEmbedding(Protocol):
    """An audio-visual embedding usable by the sync protocols.

    ``embed_audio(audio)``: mono 16 kHz float32 ``(n,)`` in [-1, 1] → ``(Ta, D)``.
    ``embed_video(frames, landmarks)``: RGB uint8 ``(T, H, W, 3)`` (or ``None`` when
    ``needs_frames`` is False) and pixel landmarks ``(T, 478, 3)`` at 25 fps → ``(Tv, D)``.
    Row ``t`` covers video frames ``t … t + window − 1``; rows past the data may be absent.
    """

    name: str
    window: int
    needs_frames: bool

    def embed_audio(self, audio: np.ndarray) -> np.ndarray: ...

    def embed_video(self, frames: np.ndarray | None, landmarks: np.ndarray) -> np.ndarray: ...


# ---------------------------------------------------------------------------------------------
# protocol 1: SyncNet's offset / min distance / confidence
# ---------------------------------------------------------------------------------------------

def usable_frames(n_frames: int, n_samples: int) -> int:
    """Reference: ``min(len(images), floor(len(audio) / 640))``."""
    return int(min(n_frames, n_samples // SAMPLES_PER_FRAME))


def n_windows(n_frames: int, n_samples: int, window: int = 5) -> int:
    """Number of windows the reference scores: ``usable − window`` (its ``lastframe = min_length − 5``)."""
    return max(0, usable_frames(n_frames, n_samples) - window)


def distance_curves(video: np.ndarray, audio: np.ndarray, vshift: int = VSHIFT) -> np.ndarray:
    """Reference ``calc_pdist``: ``(N, 2·vshift + 1)`` distances, row ``i`` = window ``i``.

    ``d[i, j] = ||video[i] − audio_padded[i + j] + eps||₂`` where ``audio_padded`` is ``audio`` with
    ``vshift`` zero rows before and after, i.e. video window ``i`` against audio window ``i + j − vshift``.
    """
    v = np.asarray(video, np.float64)
    a = np.asarray(audio, np.float64)
    if v.ndim != 2 or a.ndim != 2 or v.shape != a.shape:
        raise ValueError(f"video and audio embeddings must both be (N, D), got {v.shape} and {a.shape}")
    width = 2 * vshift + 1
    a_pad = np.pad(a, ((vshift, vshift), (0, 0)))                            # (N + 2·vshift, D)
    windows = np.lib.stride_tricks.sliding_window_view(a_pad, width, axis=0)  # (N, D, width), a view
    out = np.empty((len(v), width))
    for s in range(0, len(v), _CHUNK):                                        # bounded memory
        diff = v[s:s + _CHUNK, :, None] - windows[s:s + _CHUNK] + PAIRWISE_EPS
        out[s:s + _CHUNK] = np.sqrt((diff ** 2).sum(axis=1))
    return out                                                                # (N, width)


def _lower_median(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``torch.median``: the lower of the two middle values for an even count."""
    s = np.sort(x, axis=axis)
    return np.take(s, (s.shape[axis] - 1) // 2, axis=axis)


@dataclass
class SyncScores:
    """The SyncNet protocol's result for one video. Offsets in frames, positive = video lags audio."""

    av_offset: int
    sync_d: float                  # LSE-D: min over offsets of the mean distance
    sync_c: float                  # LSE-C: median − min of the mean distance curve
    sync_conf_windowed: float      # SyncLipMAE Sync_conf: mean over windows of (median − min)
    curve: np.ndarray              # (2·vshift + 1,) mdist, index j ↔ offset vshift − j
    framewise_conf: np.ndarray     # (N,) reference fconfm: median(mdist) − d[:, argmin], median-filtered
    n_windows: int
    vshift: int = VSHIFT
    offsets: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.offsets = self.vshift - np.arange(2 * self.vshift + 1)

    def to_dict(self) -> dict:
        return {"av_offset": self.av_offset, "sync_d": self.sync_d, "sync_c": self.sync_c,
                "sync_conf_windowed": self.sync_conf_windowed, "n_windows": self.n_windows}


Support = Literal["padded", "fixed"]


def sync_scores(video: np.ndarray, audio: np.ndarray, vshift: int = VSHIFT,
                support: Support = "padded") -> SyncScores:
    """AV offset, Sync-D, Sync-C from window embeddings ``(N, D)`` exactly as syncnet_python computes.

    ``support="padded"`` is the reference: every window, the audio zero-padded at both ends. The
    zero rows are harmless for SyncNet (its embeddings are far from the origin) but not for
    unit-norm embeddings: a unit vector is at distance 1 from a zero row and at about √2 from an
    unrelated unit vector, so padded offsets look *closer* and the curve's minimum drifts to
    ±vshift. ``support="fixed"`` (what per-frame token embeddings such as the sync expert declare)
    keeps only windows ``vshift … N − vshift − 1``, whose audio is real at every offset: each offset
    then averages the same video windows. Clips with fewer than ``2·vshift + 1`` such windows fall
    back to the padded form.
    """
    from scipy.signal import medfilt
    d = distance_curves(video, audio, vshift)                              # (N, width)
    if len(d) == 0:
        raise ValueError("no complete window: the clip is shorter than the sync window")
    if support not in ("padded", "fixed"):
        raise ValueError(f"support must be 'padded' or 'fixed', got {support!r}")
    if support == "fixed" and len(d) - 2 * vshift >= 2 * vshift + 1:
        d = d[vshift: len(d) - vshift]                                     # real audio at every offset
    mdist = d.mean(axis=0)                                                 # (width,)
    minidx = int(np.argmin(mdist))
    minval = float(mdist[minidx])
    med = float(_lower_median(mdist))
    fconf = med - d[:, minidx]
    fconfm = medfilt(fconf, kernel_size=FRAMEWISE_MEDFILT) if len(fconf) >= 1 else fconf
    windowed = float(np.mean(_lower_median(d, axis=1) - d.min(axis=1)))
    return SyncScores(av_offset=vshift - minidx, sync_d=minval, sync_c=med - minval,
                      sync_conf_windowed=windowed, curve=mdist, framewise_conf=fconfm,
                      n_windows=len(d), vshift=vshift)


def evaluate_sync(embedding: SyncEmbedding, audio: np.ndarray, landmarks: np.ndarray,
                  frames: np.ndarray | None = None, vshift: int = VSHIFT) -> SyncScores:
    """The whole SyncNet protocol on one video: embed, cut to the reference's window count, score.

    ``audio`` mono 16 kHz; ``landmarks`` ``(T, 478, 3)`` pixels at 25 fps; ``frames`` RGB uint8
    ``(T, H, W, 3)`` when ``embedding.needs_frames``.
    """
    n = n_windows(len(landmarks), len(audio), embedding.window)
    if n < 1:
        raise ValueError(f"{len(landmarks)} frames with {len(audio) / 16000:.2f} s of audio give no "
                         f"complete {embedding.window}-frame sync window")
    usable = usable_frames(len(landmarks), len(audio))
    if embedding.needs_frames and frames is None:
        raise ValueError(f"the {embedding.name} embedding needs the video frames")
    v = embedding.embed_video(None if frames is None else frames[:usable], landmarks[:usable])
    a = embedding.embed_audio(audio[:usable * SAMPLES_PER_FRAME])
    if len(v) < n or len(a) < n:
        raise ValueError(f"the {embedding.name} embedding returned {len(v)} video and {len(a)} audio "
                         f"rows; {n} are needed")
    return sync_scores(np.asarray(v)[:n], np.asarray(a)[:n], vshift, getattr(embedding, "support", "padded"))


# ---------------------------------------------------------------------------------------------
# protocol 2: SyncLipMAE lag detection and R-precision
# ---------------------------------------------------------------------------------------------

Distance = Literal["l2", "cosine"]


def dot(a, v):
    """Row-wise inner product ``(..., n, D)`` twice → ``(..., n)`` (NumPy or torch)."""
    return (a * v).sum(-1)


def shift_sums(a, v, max_offset: int, ok_a, ok_v, score=dot, fixed: bool = False) -> list:
    """The one S(Δ) (SyncLipMAE §4.1, ``S(Δ) = 1/(T−|Δ|) Σ_t ⟨A_t, v_{t+Δ}⟩``) and its relatives,
    as sums: for Δ = −M … M, ``(Σ_t w_t score(a_t, v_{t+Δ}), Σ_t w_t)`` with
    ``w_t = ok_a[t] · ok_v[t+Δ]``, or None where no ``t`` exists.

    ``a``, ``v`` ``(..., T, D)`` and ``ok_a``, ``ok_v`` ``(..., T)`` weights (1: the frame counts),
    NumPy or torch (differentiable: the sync loss trains through it). ``t`` runs over the frames
    with ``t + Δ`` inside the clip (the paper's ``1/(T−|Δ|)``), or with ``fixed``, over
    ``[M, T−M)`` for every Δ (all scores average the same audio frames). Positive Δ: the video
    lags the audio. ``score`` is the per-pair score (default :func:`dot`; a distance gives
    SyncLipMAE §5's D(τ)). Used by the sync tool (:func:`babelface.sync.offset_curve`), the sync
    loss (:func:`babelface.models.sync_loss.offset_scores`) and the lag metric (:func:`lag_curve`).
    """
    t = a.shape[-2]
    out = []
    for d in range(-max_offset, max_offset + 1):
        lo, hi = (max_offset, t - max_offset) if fixed else (max(0, -d), min(t, t - d))
        if abs(d) >= t or hi <= lo:
            out.append(None)
            continue
        w = ok_a[..., lo:hi] * ok_v[..., lo + d:hi + d]                      # (..., n)
        s = score(a[..., lo:hi, :], v[..., lo + d:hi + d, :])                  # (..., n)
        out.append(((s * w).sum(-1), w.sum(-1)))
    return out


def _pairwise(a: np.ndarray, v: np.ndarray, distance: Distance) -> np.ndarray:
    """Row-wise distance of equally long ``(n, D)`` arrays → ``(n,)``."""
    if distance == "l2":
        return np.linalg.norm(a - v, axis=-1)
    if distance == "cosine":
        na = np.linalg.norm(a, axis=-1)
        nv = np.linalg.norm(v, axis=-1)
        return 1.0 - (a * v).sum(-1) / np.maximum(na * nv, 1e-12)
    raise ValueError(f"distance must be 'l2' or 'cosine', not {distance!r}")


def lag_curve(audio: np.ndarray, video: np.ndarray, max_lag: int = VSHIFT,
              distance: Distance = "l2") -> tuple[np.ndarray, np.ndarray]:
    """SyncLipMAE §5: ``D(τ) = (1/T_τ) Σ_t d(a_t, v_{t+τ})`` for ``τ = −max_lag … max_lag``.

    Returns ``(lags, D)``; ``T_τ`` counts the indices valid for both; a lag with none is ``inf``.
    """
    t = min(len(audio), len(video))
    a, v = np.asarray(audio, np.float64)[:t], np.asarray(video, np.float64)[:t]
    ones = np.ones(t)
    sums = shift_sums(a, v, max_lag, ones, ones, score=lambda x, y: _pairwise(x, y, distance))
    curve = np.array([np.inf if s is None else s[0] / s[1] for s in sums])
    return np.arange(-max_lag, max_lag + 1), curve


def estimate_lag(audio: np.ndarray, video: np.ndarray, max_lag: int = VSHIFT,
                 distance: Distance = "l2") -> int:
    """``τ̂ = argmin_τ D(τ)`` (positive: video lags audio); ties go to the smallest ``|τ|``."""
    lags, curve = lag_curve(audio, video, max_lag, distance)
    best = np.flatnonzero(curve == curve.min())
    return int(lags[best[np.argmin(np.abs(lags[best]))]])


def lag_metrics(estimated, true, ks=LAG_KS) -> dict[str, float]:
    """SyncLipMAE: ``Offset = mean |τ̂ − τ*|`` and ``Acc±K = mean 1(|τ̂ − τ*| ≤ K)`` (as fractions)."""
    err = np.abs(np.asarray(estimated, np.int64) - np.asarray(true, np.int64))
    if err.size == 0:
        raise ValueError("lag_metrics needs at least one estimate")
    out = {"offset": float(err.mean())}
    out.update({f"acc@{k}": float((err <= k).mean()) for k in ks})
    return out


def r_precision(audio: np.ndarray, video: np.ndarray, ks=RPREC_KS, pool: int = RPREC_POOL,
                distance: Distance = "l2", seed: int = 0) -> dict[str, float]:
    """SyncLipMAE R-precision@k for audio→video matching of ``B`` pairs ``(B, D)``.

    The pool of pair ``i`` is its true ``v_i`` plus ``pool − 1`` other videos drawn without replacement
    (all others when ``B ≤ pool``); ``rank_i = 1 + #{negatives with distance ≤ d(a_i, v_i)}`` (ties
    count against the true match, so identical embeddings do not score).
    """
    a = np.asarray(audio, np.float64)
    v = np.asarray(video, np.float64)
    b = len(a)
    if b != len(v) or b < 2:
        raise ValueError(f"r_precision needs at least 2 audio/video pairs of equal count, got {len(a)}, {len(v)}")
    rng = np.random.default_rng(seed)
    ranks = np.empty(b, np.int64)
    for i in range(b):
        others = np.delete(np.arange(b), i)
        if len(others) > pool - 1:
            others = rng.choice(others, size=pool - 1, replace=False)
        d_pos = _pairwise(a[i:i + 1], v[i:i + 1], distance)[0]
        d_neg = _pairwise(np.repeat(a[i:i + 1], len(others), 0), v[others], distance)
        ranks[i] = 1 + int((d_neg <= d_pos).sum())
    return {f"r@{k}": float((ranks <= k).mean()) for k in ks}


# ---------------------------------------------------------------------------------------------
# which embedding: SyncNet weights, the built-in sync expert, or none
# ---------------------------------------------------------------------------------------------

# name → "module:factory". A factory takes the optional weights path and returns a SyncEmbedding,
# raising babelface.errors.WeightsError with a one-line reason when it cannot.
EMBEDDINGS: dict[str, str] = {
    "syncnet": "babelface.models.syncnet:SyncNetEmbedding",
    "sync_expert": "babelface.sync:SyncExpertEmbedding",
}
DEFAULT_ORDER = ("sync_expert",)


def register_embedding(name: str, factory: str) -> None:
    """Add or replace an embedding: ``factory`` is ``"module:callable"``, called with ``weights``."""
    if ":" not in factory:
        raise ValueError("factory must be 'module:callable'")
    EMBEDDINGS[name] = factory


def load_embedding(name: str, weights: str | None = None) -> SyncEmbedding:
    """Instantiate a registered embedding (ImportError when its module is not installed)."""
    module, _, attr = EMBEDDINGS[name].partition(":")
    factory = getattr(importlib.import_module(module), attr)
    emb = factory(weights) if weights is not None else factory()
    if not isinstance(emb, SyncEmbedding):
        raise TypeError(f"{EMBEDDINGS[name]} returned {type(emb).__name__}, not a SyncEmbedding")
    return emb


def resolve_embedding(syncnet: str | None = None) -> tuple[SyncEmbedding | None, str]:
    """The embedding ``babelface eval`` uses, or ``None`` with the reason sync metrics are unavailable.

    SyncNet when ``syncnet`` names its weights (errors propagate: the user asked for it); otherwise
    the first of :data:`DEFAULT_ORDER` that loads.
    """
    from babelface.errors import WeightsError
    if syncnet is not None:
        emb = load_embedding("syncnet", syncnet)
        return emb, f"SyncNet ({syncnet})"
    reasons = []
    for name in DEFAULT_ORDER:
        try:
            emb = load_embedding(name)
        except (ImportError, AttributeError):
            reasons.append(f"the built-in {name.replace('_', ' ')} is not installed in this version")
            continue
        except WeightsError as e:
            reasons.append(str(e))
            continue
        return emb, getattr(emb, "name", name)
    return None, ("no sync embedding: " + "; ".join(reasons)
                  + "; name SyncNet weights with --syncnet PATH (syncnet_v2.model or .safetensors)")
