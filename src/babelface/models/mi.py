"""PV-Align (MuEx §3.2 eq. 1–2, App. C): Jensen–Shannon mutual information between modalities.

A discriminator ``D_ψ`` (eq. 12: a 3-layer MLP, ``d_h`` = 512, ReLU then LayerNorm after each hidden
layer, dropout 0.1, spectral norm on ``W1`` and ``W2``, LayerNorm on its inputs) scores pairs
``[x; y]``; matched pairs (same utterance, same frame) against mismatched ones give the JS
estimator (eq. 2 / 13)

    I_JS(x, y) = E_P[log σ(D(x, y))] + E_N[log(1 − σ(D(x, y)))]

(0 for a perfect discriminator, −2 log 2 at chance). Negatives (C.3, C.7): for each positive one
temporal shuffle (same utterance, another frame), one utterance shuffle (another utterance of the
batch) and, where speaker labels allow, one speaker shuffle (an utterance of another speaker):
1:3. PV-Align's loss (eq. 1) is ``L_align = −I_JS(q^p, q^v) + λ_neg I_JS(z^p, z^v)``: prototype
codes made predictable from each other, raw features discouraged from spurious dependence.

Training alternates (C.6): an MI step updates ψ to maximise eq. 13 (binary cross-entropy with
label smoothing 0.05, C.5) on the current, detached features; then a model step freezes ψ and
minimises the total loss, which contains ``L_align``.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

NEGATIVE_KINDS = ("temporal", "utterance", "speaker")
CHANCE = -2 * math.log(2)        # I_JS of a discriminator that cannot tell pairs apart


@dataclass
class MIConfig:
    d_hidden: int = 512              # C.1, Table 5
    dropout: float = 0.1             # C.5 (iv)
    label_smoothing: float = 0.05    # C.5 (iii)
    lambda_neg: float = 0.1          # E.3: weight of the raw-feature MI in eq. 1
    negatives: tuple[str, ...] = NEGATIVE_KINDS   # C.3, C.7: one of each per positive (1:3)
    max_pairs: int = 0               # positives per step, sampled among real frames (0: all)


class Discriminator(nn.Module):
    """Eq. 12: ``D(x, y) = w3ᵀ σ(W2 σ(W1 [x; y] + b1) + b2) + b3`` with the C.5/C.8 stabilisers."""

    def __init__(self, d_x: int, d_y: int, d_h: int = 512, dropout: float = 0.1):
        super().__init__()
        self.norm_x, self.norm_y = nn.LayerNorm(d_x), nn.LayerNorm(d_y)      # C.8
        self.w1 = spectral_norm(nn.Linear(d_x + d_y, d_h))                  # C.5 (ii)
        self.w2 = spectral_norm(nn.Linear(d_h, d_h))
        self.w3 = nn.Linear(d_h, 1)
        self.ln1, self.ln2 = nn.LayerNorm(d_h), nn.LayerNorm(d_h)            # C.1
        self.drop = nn.Dropout(dropout)                                     # C.5 (iv)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``x`` ``(n, d_x)``, ``y`` ``(n, d_y)`` → logits ``(n,)``."""
        h = torch.cat([self.norm_x(x), self.norm_y(y)], dim=-1)
        h = self.drop(self.ln1(F.relu(self.w1(h))))
        h = self.drop(self.ln2(F.relu(self.w2(h))))
        return self.w3(h).squeeze(-1)


def js_mi(pos_logits: torch.Tensor, neg_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 2 / 13: ``E_P[log σ(D)] + E_N[log(1 − σ(D))]`` (a scalar, at most 0)."""
    return -F.softplus(-pos_logits).mean() - F.softplus(neg_logits).mean()


def discriminator_loss(pos_logits: torch.Tensor, neg_logits: torch.Tensor, smoothing: float
                       ) -> torch.Tensor:
    """The MI step's objective: ``−I_JS`` with labels smoothed to ``1 − ε`` and ``ε`` (C.5)."""
    pos = F.binary_cross_entropy_with_logits(pos_logits, torch.full_like(pos_logits, 1 - smoothing))
    neg = F.binary_cross_entropy_with_logits(neg_logits, torch.full_like(neg_logits, smoothing))
    return pos + neg


@dataclass
class Pairs:
    """Frame indices ``(n, 2)`` = (utterance, frame) of matched and mismatched pairs (C.2, C.3)."""
    pos: torch.Tensor                # (n, 2): x and y both taken here
    neg_x: torch.Tensor              # (m, 2): where x is taken
    neg_y: torch.Tensor              # (m, 2): where y is taken
    neg_kind: torch.Tensor           # (m,): index into NEGATIVE_KINDS


def _randint_below(bound: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Uniform integers in ``[0, bound)`` elementwise (``bound`` ≥ 1)."""
    u = torch.rand(bound.shape, generator=generator, device=bound.device)
    return torch.minimum((u * bound).long(), bound - 1)


def sample_pairs(mask: torch.Tensor, speaker: torch.Tensor | None = None,
                 negatives: tuple[str, ...] = NEGATIVE_KINDS, max_pairs: int = 0,
                 generator: torch.Generator | None = None) -> Pairs:
    """Positives at real frames of ``mask`` ``(b, t)`` and, per positive, one negative of each kind.

    Temporal: same utterance, frame ``t' ≠ t``. Utterance: another utterance ``b' ≠ b``, random
    frame. Speaker: an utterance whose ``speaker`` differs (labels < 0 are unknown). A kind that is
    impossible for a positive (one-frame utterance, batch of one, one speaker) is skipped for it.
    Assumes prefix masks (padding at the end).
    """
    unknown = [k for k in negatives if k not in NEGATIVE_KINDS]
    if unknown:
        raise ValueError(f"unknown negative kind {unknown[0]!r}: use {NEGATIVE_KINDS}")
    lengths = mask.sum(1)                                              # (b,)
    pos = torch.nonzero(mask)                                          # (n, 2)
    if max_pairs and len(pos) > max_pairs:
        keep = torch.randperm(len(pos), generator=generator, device=mask.device)[:max_pairs]
        pos = pos[torch.sort(keep).values]
    b, t = pos[:, 0], pos[:, 1]
    n_utt = mask.shape[0]
    xs, ys, kinds = [], [], []
    for kind in negatives:
        if kind == "temporal":
            ok = lengths[b] > 1
            shift = 1 + _randint_below((lengths[b] - 1).clamp_min(1), generator)
            yb, yt = b, (t + shift) % lengths[b].clamp_min(1)
        elif kind == "utterance":
            ok = torch.full_like(b, n_utt > 1, dtype=torch.bool)
            yb = (b + 1 + _randint_below(torch.full_like(b, max(n_utt - 1, 1)), generator)) % n_utt
            yt = _randint_below(lengths[yb].clamp_min(1), generator)
        else:
            if speaker is None:
                continue
            differ = (speaker[:, None] != speaker[None, :]) & (speaker[:, None] >= 0) & (speaker[None, :] >= 0)
            differ &= lengths[None, :] > 0
            ok = differ[b].any(1)
            if not ok.any():
                continue
            weights = differ[b[ok]].float()
            yb = torch.zeros_like(b)
            yb[ok] = torch.multinomial(weights, 1, generator=generator).squeeze(1)
            yt = _randint_below(lengths[yb].clamp_min(1), generator)
        xs.append(pos[ok])
        ys.append(torch.stack([yb, yt], 1)[ok])
        kinds.append(torch.full((int(ok.sum()),), NEGATIVE_KINDS.index(kind), device=mask.device))
    empty = torch.zeros((0, 2), dtype=torch.long, device=mask.device)
    return Pairs(pos, torch.cat(xs) if xs else empty, torch.cat(ys) if ys else empty,
                 torch.cat(kinds) if kinds else empty[:, 0])


def _at(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Features ``(b, t, d)`` at frame indices ``(n, 2)`` → ``(n, d)``."""
    return x[idx[:, 0], idx[:, 1]]


@contextlib.contextmanager
def frozen(module: nn.Module):
    """ψ frozen for the model step (C.6): eval mode (no dropout, no power iteration), no gradients."""
    was_training = module.training
    flags = [p.requires_grad for p in module.parameters()]
    module.eval().requires_grad_(False)
    try:
        yield module
    finally:
        module.train(was_training)
        for p, f in zip(module.parameters(), flags):
            p.requires_grad_(f)


class PVAlign(nn.Module):
    """The two JS-MI discriminators of eq. 1: prototype codes ``(q^p, q^v)`` and raw ``(z^p, z^v)``."""

    def __init__(self, k: int, d_z: int, cfg: MIConfig):
        super().__init__()
        self.cfg = cfg
        self.disc_q = Discriminator(k, k, cfg.d_hidden, cfg.dropout)
        self.disc_z = Discriminator(d_z, d_z, cfg.d_hidden, cfg.dropout)

    @staticmethod
    def _logits(disc: Discriminator, x: torch.Tensor, y: torch.Tensor, pairs: Pairs
                ) -> tuple[torch.Tensor, torch.Tensor]:
        pos = disc(_at(x, pairs.pos), _at(y, pairs.pos))
        neg = disc(_at(x, pairs.neg_x), _at(y, pairs.neg_y))
        return pos, neg

    def forward(self, q_p, q_v, z_p, z_v, pairs: Pairs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """MI step (C.6): (loss to minimise = smoothed −I_q − I_z, I_q, I_z) on detached inputs."""
        q_p, q_v, z_p, z_v = (x.detach().float() for x in (q_p, q_v, z_p, z_v))
        pq, nq = self._logits(self.disc_q, q_p, q_v, pairs)
        pz, nz = self._logits(self.disc_z, z_p, z_v, pairs)
        eps = self.cfg.label_smoothing
        loss = discriminator_loss(pq, nq, eps) + discriminator_loss(pz, nz, eps)
        return loss, js_mi(pq, nq).detach(), js_mi(pz, nz).detach()

    def align_loss(self, q_p, q_v, z_p, z_v, pairs: Pairs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Model step, eq. 1: (``L_align = −I(q^p, q^v) + λ_neg I(z^p, z^v)``, I_q, I_z); call under
        :func:`frozen`."""
        i_q = js_mi(*self._logits(self.disc_q, q_p.float(), q_v.float(), pairs))
        i_z = js_mi(*self._logits(self.disc_z, z_p.float(), z_v.float(), pairs))
        return -i_q + self.cfg.lambda_neg * i_z, i_q.detach(), i_z.detach()
