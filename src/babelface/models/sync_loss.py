"""Audio–vocal contrastive alignment: SyncLipMAE's multi-positive symmetric InfoNCE, and the sync
loss that a speech-to-motion model (MuEx) can train against.

SyncLipMAE (``papers/001``) §3.3, L_CL::

    p_{t→s} = exp(⟨A_t, v_s⟩/τ) / Σ_u exp(⟨A_t, v_u⟩/τ)
    L_CL = −1/(2T) Σ_t [ log Σ_{s∈P_t} p_{t→s} + log Σ_{s∈P_t} p_{s→t} ]

with P_t the aligned index and its neighbours within ±k, "expanded by an audio self-similarity
threshold". The paper gives neither k nor τ nor the threshold; our defaults
(:class:`ContrastiveConfig`) are k = 1 (±40 ms, the next frame is nearly the same picture),
τ = 0.07 (CLIP's initial value) and a cosine threshold of 0.9 between per-frame input features
(silences, held vowels): frames whose *sound* is the same are not pushed apart.

We read the second term as the video-anchored direction with the same (symmetric) relation:
for a visual anchor s, the positives are {t : s ∈ P_t}. The candidates u run over the clip — every
u ≠ t is the same clip shifted by t − u, i.e. "hard negatives from shifted copies of the same
clip" — and optionally over the other clips of the batch (easy negatives, ``cross_clip``).

:func:`shift_curve_loss` is our addition (not in the paper): a cross-entropy over the clip-level
curve S(Δ), Δ ∈ [−M, M], that asks for its maximum at Δ = 0, the very quantity the offset
detector of §4.1 reads (:mod:`babelface.sync`).

Shapes: a, v ``(b, t, d)`` unit-norm tokens; valid ``(b, t)`` bool.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from babelface.constants import MEL_FRAMES_PER_VIDEO_FRAME
from babelface.metrics.sync import shift_sums

MAX_OFFSET = 15         # frames: the SyncNet protocol's ±15 (REFERENCE.md) and SyncLipMAE's K = 15


@dataclass
class ContrastiveConfig:
    """L_CL and our shift-curve term. The paper leaves k, τ and the threshold unstated."""

    k: int = 1                        # positives: |t − s| ≤ k
    tau: float = 0.07                 # InfoNCE temperature τ
    self_sim_threshold: float = 0.9   # audio self-similarity expansion of P_t (None/≥1: off)
    cross_clip: bool = False          # the batch's other clips as negatives too (costly on CPU)
    shift_weight: float = 0.5         # weight of shift_curve_loss (0: the paper's L_CL alone)
    shift_tau: float = 0.02           # temperature of the curve cross-entropy
    max_offset: int = MAX_OFFSET
    # known-answer ranking of S(0) (our addition, issue 11 part 5): real > shifted by
    # ``rank_shift`` frames > mouth frozen > video reversed, each step by at least ``rank_margin``
    rank_weight: float = 0.0          # 0: off (the shipped session-19 recipe)
    rank_margin: float = 0.05
    rank_shift: int = 5


def audio_descriptors(mel: torch.Tensor) -> torch.Tensor:
    """Per-video-frame audio description for the self-similarity test: the mean of each frame's
    4 per-utterance-normalised log-mel frames, ``(b, 4t, f)`` → ``(b, t, f)``."""
    mel = (mel - mel.mean(dim=1, keepdim=True)) / (mel.std(dim=1, unbiased=False, keepdim=True) + 1e-5)
    b, m, f = mel.shape
    t = m // MEL_FRAMES_PER_VIDEO_FRAME
    return mel[:, :t * MEL_FRAMES_PER_VIDEO_FRAME].reshape(b, t, MEL_FRAMES_PER_VIDEO_FRAME, f).mean(2)


def positive_mask(b: int, t: int, k: int, descriptors: torch.Tensor | None = None,
                  threshold: float | None = None, cross_clip: bool = True) -> torch.Tensor:
    """The relation P as an ``(b·t, b·t)`` bool matrix over flattened (clip, frame) indices:
    same clip and |t − s| ≤ k, or (when ``descriptors`` and ``threshold`` are given) cosine of the
    audio descriptors ≥ threshold — across clips only when ``cross_clip``. Symmetric."""
    idx = torch.arange(t)
    near = (idx[:, None] - idx[None, :]).abs() <= k                       # (t, t)
    pos = torch.block_diag(*([near] * b)) if b > 1 else near              # (bt, bt)
    if descriptors is not None and threshold is not None and threshold < 1.0:
        d = F.normalize(descriptors.reshape(b * t, -1).float(), dim=-1)
        sim = (d @ d.T) >= threshold
        if not cross_clip:
            sim &= torch.block_diag(*([torch.ones(t, t, dtype=torch.bool, device=sim.device)] * b))
        pos = pos.to(sim.device) | sim
    return pos


def multi_positive_infonce(a: torch.Tensor, v: torch.Tensor, positives: torch.Tensor,
                           valid: torch.Tensor | None = None, tau: float = 0.07,
                           cross_clip: bool = True) -> torch.Tensor:
    """SyncLipMAE L_CL (§3.3), both directions averaged, over the valid anchors.

    ``a``, ``v`` ``(b, t, d)`` unit-norm; ``positives`` ``(b·t, b·t)`` from :func:`positive_mask`.
    """
    b, t, _ = a.shape
    ok = valid if valid is not None else torch.ones(b, t, dtype=torch.bool, device=a.device)
    if cross_clip:                     # one (bt, bt) problem over the whole batch
        a, v, ok, positives = a.reshape(1, b * t, -1), v.reshape(1, b * t, -1), ok.reshape(1, b * t), \
            positives[None]
    else:                              # b independent (t, t) problems: the paper's u = 1 … T
        positives = torch.stack([positives[i * t:(i + 1) * t, i * t:(i + 1) * t] for i in range(b)])
    logits = torch.einsum("bid,bjd->bij", a, v) / tau                   # audio i, video j
    big = torch.finfo(logits.dtype).max / 4
    cand = ok[:, None, :] & ok[:, :, None]                                # both ends usable
    pos = positives.to(a.device) & cand
    cand_bias = (~cand).to(logits.dtype) * -big
    pos_bias = (~pos).to(logits.dtype) * -big
    anchors = ok & pos.any(dim=2)
    # P and the candidate set are symmetric: the video-anchored direction reduces over dim 1
    a2v = torch.logsumexp(logits + cand_bias, dim=2) - torch.logsumexp(logits + pos_bias, dim=2)
    v2a = torch.logsumexp(logits + cand_bias, dim=1) - torch.logsumexp(logits + pos_bias, dim=1)
    return 0.5 * (a2v[anchors].mean() + v2a[anchors].mean())


def offset_scores(a: torch.Tensor, v: torch.Tensor, max_offset: int = MAX_OFFSET,
                  valid: torch.Tensor | None = None, audio_valid: torch.Tensor | None = None) -> torch.Tensor:
    """SyncLipMAE §4.1 ``S(Δ) = 1/(T−|Δ|) Σ_t ⟨A_t, v_{t+Δ}⟩`` for Δ = −M … M, batched:
    ``(b, t, d)`` → ``(b, 2M+1)`` (column M is Δ = 0; positive Δ: the video lags the audio).
    The mean runs over the pairs whose video frame is ``valid`` and audio frame ``audio_valid``
    (both ``(b, t)`` bool, default all)."""
    b, t, _ = a.shape
    ones = torch.ones(b, t, dtype=a.dtype, device=a.device)
    ok_v = valid.to(a.dtype) if valid is not None else ones
    ok_a = audio_valid.to(a.dtype) if audio_valid is not None else ones
    nan = torch.full((b,), float("nan"), dtype=a.dtype, device=a.device)
    sums = shift_sums(a, v, max_offset, ok_a, ok_v)                        # metrics.sync: the one S(Δ)
    return torch.stack([nan if s is None else s[0] / s[1].clamp(min=1.0) for s in sums], dim=1)


def shift_curve_loss(a: torch.Tensor, v: torch.Tensor, max_offset: int = MAX_OFFSET,
                     tau: float = 0.02, valid: torch.Tensor | None = None,
                     audio_valid: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy asking the clip-level curve S(Δ) to peak at Δ = 0 (our addition)."""
    m = min(max_offset, a.shape[1] // 2)
    s = offset_scores(a, v, m, valid, audio_valid) / tau                  # (b, 2m+1)
    return F.cross_entropy(s, torch.full((s.shape[0],), m, dtype=torch.long, device=s.device))


def ranking_loss(a: torch.Tensor, v: torch.Tensor, v_frozen: torch.Tensor, v_reversed: torch.Tensor,
                 cfg: ContrastiveConfig, valid: torch.Tensor | None = None, speech: torch.Tensor | None = None,
                 valid_reversed: torch.Tensor | None = None) -> torch.Tensor:
    """Hinge on the known-answer order of S(0) (``babelface sync``'s in-sync score, speech frames):
    real > max(S(+k), S(−k)) > frozen mouth > reversed video, margin ``cfg.rank_margin``.
    ``v_frozen``/``v_reversed``: the visual tokens of the same crops with the mouth held at its first
    frame and played backwards. Clips whose curve is undefined (no speech) are skipped."""
    k = min(cfg.rank_shift, a.shape[1] // 2)
    curve = offset_scores(a, v, k, valid, speech)                          # (b, 2k+1)
    real, shifted = curve[:, k], torch.maximum(curve[:, 0], curve[:, -1])
    frozen = offset_scores(a, v_frozen, 0, valid, speech)[:, 0]
    rev = offset_scores(a, v_reversed, 0, valid_reversed, speech)[:, 0]
    m = cfg.rank_margin
    gaps = torch.stack([real - shifted, shifted - frozen, frozen - rev], dim=1)   # (b, 3)
    ok = torch.isfinite(gaps).all(dim=1)
    if not ok.any():
        return a.sum() * 0.0
    return F.relu(m - gaps[ok]).sum(dim=1).mean()


def contrastive_loss(a: torch.Tensor, v: torch.Tensor, cfg: ContrastiveConfig,
                     valid: torch.Tensor | None = None, descriptors: torch.Tensor | None = None,
                     speech: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """The sync expert's training objective: L_CL + shift_weight · L_shift (the curve over the
    ``speech`` audio frames, as the offset detector reads it). Returns (loss, logs)."""
    b, t, _ = a.shape
    pos = positive_mask(b, t, cfg.k, descriptors, cfg.self_sim_threshold, cfg.cross_clip).to(a.device)
    l_cl = multi_positive_infonce(a, v, pos, valid, cfg.tau, cfg.cross_clip)
    logs = {"l_cl": float(l_cl.detach())}
    loss = l_cl
    if cfg.shift_weight > 0:
        l_shift = shift_curve_loss(a, v, cfg.max_offset, cfg.shift_tau, valid, speech)
        loss = loss + cfg.shift_weight * l_shift
        logs["l_shift"] = float(l_shift.detach())
    return loss, logs


class SyncLoss(nn.Module):
    """A differentiable lip-sync loss on *predicted motion*, for speech-to-motion training (MuEx).

    The sync expert is frozen (no gradient to its weights, eval mode); its audio tokens are
    computed without gradient, and the gradient flows through its visual branch into the
    predicted motion. ``mode``:

    - ``"infonce"`` (default): the video-anchored InfoNCE within each clip — each predicted frame
      must pick its own audio frame (±k) among the clip's other frames, i.e. among shifted copies;
    - ``"cosine"``: ``1 − mean_t ⟨A_t, v_t⟩`` (Wav2Lip-style expert loss, without negatives).

    >>> sync = SyncLoss()                       # the shipped expert
    >>> loss = sync(mel, motion_pred)           # mel (b, 4t, 80) log-mel, motion (b, t, 111, 3)
    >>> total = l_gen + 0.1 * loss
    """

    def __init__(self, expert: "nn.Module | None" = None, weights: str | Path | None = None,
                 mode: str = "infonce", k: int = 1, tau: float = 0.07):
        super().__init__()
        if mode not in ("infonce", "cosine"):
            raise ValueError(f"unknown sync loss mode {mode!r}: use 'infonce' or 'cosine'")
        if expert is None:
            from babelface.models.sync_expert import SyncExpert, load_sync_expert
            expert = SyncExpert.from_pretrained(weights) if weights is not None else copy.deepcopy(load_sync_expert())
        self.expert = expert.eval()
        for p in self.expert.parameters():
            p.requires_grad_(False)
        self.mode, self.k, self.tau = mode, k, tau

    def train(self, mode: bool = True) -> "SyncLoss":
        super().train(mode)
        self.expert.eval()                          # the expert stays in eval mode (no dropout)
        return self

    def forward(self, mel: torch.Tensor, motion: torch.Tensor, valid: torch.Tensor | None = None
                ) -> torch.Tensor:
        """``mel (b, 4t, 80)`` log-mel of the driving audio, ``motion (b, t, 111, 3)`` predicted."""
        with torch.no_grad():
            a = self.expert.encode_audio(mel)
        v = self.expert.encode_motion(motion, valid)
        t = min(a.shape[1], v.shape[1])
        a, v = a[:, :t], v[:, :t]
        if self.mode == "cosine":
            w = valid[:, :t].to(v.dtype) if valid is not None else torch.ones(v.shape[:2], dtype=v.dtype,
                                                                               device=v.device)
            return 1.0 - ((a * v).sum(-1) * w).sum() / w.sum().clamp(min=1.0)
        b = a.shape[0]
        idx = torch.arange(t, device=a.device)
        near = (idx[:, None] - idx[None, :]).abs() <= self.k                  # (t, t)
        logits = torch.einsum("bsd,btd->bst", v, a) / self.tau              # visual s, audio t
        ok = valid[:, :t] if valid is not None else torch.ones(b, t, dtype=torch.bool, device=a.device)
        neg_inf = torch.finfo(logits.dtype).min
        cand = ok[:, None, :].expand(b, t, t)
        full = torch.logsumexp(logits.masked_fill(~cand, neg_inf), dim=-1)
        hit = torch.logsumexp(logits.masked_fill(~(cand & near), neg_inf), dim=-1)
        return (full - hit)[ok].mean()
