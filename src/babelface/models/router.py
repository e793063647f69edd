"""PG-MoE: the pseudo-phoneme guided mixture of experts (MuEx §3.3, App. D).

At each frame the router scores the M experts with

    s_i = β g_phon,i(v) + (1 − β) g_cont,i(h)                                      (§3.3)

from the pseudo-phoneme labels ``v`` (eq. 3) and the content features ``h``; the top-S experts
run and their outputs are summed with weights ``w = softmax(s_Q / τ_r)`` over the selected set.
Supervision (D.1): ``R = softplus(R′)`` ``(M, K)`` (eq. 14) maps ``v`` to the expert target
``u = softmax(R v / τ_s)`` (eq. 15). The routing loss (eq. 4) is

    L_router = L_route + λ_util L_util − λ_ent Σ_{i∈Q} w_i log w_i

with ``L_route`` the cross-entropy ``−Σ_{i∈Q} u_i log p_i`` between the target and the router's
distribution ``p = softmax(s / τ_r)``, masked to the selected experts and the real frames.
``τ_r`` and ``τ_s`` anneal linearly 5.0 → 0.5 over the first 50k steps (eq. 16).

``L_util``: eq. 4 prints ``(M/B) Σ_i (n_i/B)²``. Taken literally with hard usage counts it has no
gradient, and its ``1/B`` makes it vanish for large batches. We keep the hard shares
``f_i = n_i / Σ_j n_j`` and let the gradient flow through the mean router probability
``P_i = (1/B) Σ_t softmax(s_t)_i`` (B = routed frames): ``L_util = M Σ_i f_i P_i``, 1 at uniform
usage and up to M at collapse (Switch Transformer, Fedus et al. 2022). ``P`` uses the untempered
scores: at the early τ_r = 5 the tempered distribution is nearly flat even when the top-S choice
is one-sided, and a soft-only ``M Σ P_i²`` let two of four experts starve within 100 steps
(measured, PG-MoE without PV-Align). The entropy term keeps
eq. 4's sign (it penalises the entropy of the selected weights); D.3's prose ("prevents
over-confident assignments") describes the opposite sign, obtained with a negative λ_ent.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class RouterConfig:
    n_experts: int = 4               # M (Table 4 optimum: S = 2, M = 4, K = 44)
    top_s: int = 2                   # S
    beta: float = 0.5                # β: phoneme vs content gating (§3.3; value not given)
    expert_hidden: int = 512         # width of each expert's feed-forward layer (not given)
    dropout: float = 0.1
    tau_r_init: float = 5.0          # D.2, E.2: routing temperature τ_r
    tau_r_final: float = 0.5
    tau_s_init: float = 5.0          # D.2, E.2: supervision temperature τ_s
    tau_s_final: float = 0.5
    anneal_steps: int = 50_000       # eq. 16
    lambda_route: float = 1.0        # eq. 4 (weight 1)
    lambda_util: float = 0.05        # E.3
    lambda_ent: float = 0.05         # E.3, sign of eq. 4


def anneal(step: int, init: float, final: float, steps: int) -> float:
    """Eq. 16: ``τ_init − (τ_init − τ_final) · step / steps``, held at ``τ_final`` afterwards."""
    return init - (init - final) * min(max(step, 0) / max(steps, 1), 1.0)


class Expert(nn.Module):
    """One expert: a position-wise feed-forward network ``(n, d) → (n, d)``."""

    def __init__(self, dim: int, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@dataclass
class RouterOutput:
    indices: torch.Tensor            # (n, s): selected experts Q per routed frame
    weights: torch.Tensor            # (n, s): softmax over the selected scores / τ_r
    probs: torch.Tensor              # (n, m): p = softmax(s / τ_r)
    target: torch.Tensor             # (n, m): u = softmax(R v / τ_s), eq. 15
    usage: torch.Tensor              # (m,): share of selections per expert (hard counts), no grad
    route: torch.Tensor              # L_route
    util: torch.Tensor               # L_util
    entropy: torch.Tensor            # −Σ_{i∈Q} w_i log w_i, mean over frames
    loss: torch.Tensor               # eq. 4


def route_loss(target: torch.Tensor, log_p: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """``L_route``: cross-entropy ``−Σ_{i∈Q} u_i log p_i`` masked to the selected experts ``Q``,
    mean over frames. ``target`` and ``log_p`` ``(n, m)``, ``indices`` ``(n, s)``."""
    return -(target.gather(1, indices) * log_p.gather(1, indices)).sum(-1).mean()


def utilisation_loss(probs: torch.Tensor, usage: torch.Tensor) -> torch.Tensor:
    """``L_util = M Σ_i f_i P_i``: ``f_i`` the hard share of selections (eq. 4's ``n_i / B``, no
    gradient) and ``P_i`` the mean of ``probs`` ``(n, m)`` over frames, through which the gradient
    flows (see the module docstring). 1 when the experts share the frames equally, up to M when one
    takes them all."""
    return probs.shape[-1] * (usage.detach() * probs.mean(0)).sum()


def selection_entropy(weights: torch.Tensor) -> torch.Tensor:
    """``−Σ_{i∈Q} w_i log w_i`` of the selected experts' weights ``(n, s)``, mean over frames."""
    return -(weights * torch.log(weights.clamp_min(1e-12))).sum(-1).mean()


class Router(nn.Module):
    """Expert scores from ``(h, v)`` and the routing loss of eq. 4, over routed frames ``(n, ·)``."""

    def __init__(self, dim: int, k: int, cfg: RouterConfig):
        super().__init__()
        if not 1 <= cfg.top_s <= cfg.n_experts:
            raise ValueError(f"top_s must be in 1..n_experts={cfg.n_experts}, got {cfg.top_s}")
        self.cfg = cfg
        self.g_phon = nn.Linear(k, cfg.n_experts)                  # g_phon(v)
        self.g_cont = nn.Linear(dim, cfg.n_experts)                # g_cont(h)
        self.r_raw = nn.Parameter(torch.zeros(cfg.n_experts, k))   # R′ of eq. 14

    def mapping(self) -> torch.Tensor:
        """Eq. 14: ``R = softplus(R′)`` ``(m, k)``, non-negative."""
        return F.softplus(self.r_raw)

    def scores(self, h: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """§3.3: ``s_i = β g_phon,i(v) + (1 − β) g_cont,i(h)`` ``(n, m)``."""
        beta = self.cfg.beta
        return beta * self.g_phon(v) + (1 - beta) * self.g_cont(h)

    def forward(self, h: torch.Tensor, v: torch.Tensor, tau_r: float, tau_s: float) -> RouterOutput:
        """``h`` ``(n, d)``, ``v`` ``(n, k)`` at the routed frames → :class:`RouterOutput`."""
        cfg = self.cfg
        scores = self.scores(h, v)                                              # (n, m)
        if self.training:
            # D.2: "a higher temperature at early stages encourages exploration of multiple
            # experts": in training the top-S set is drawn from softmax(s / τ_r) without
            # replacement (Gumbel-top-k); at τ_r = 5 nearly uniform, greedy as τ_r → 0.5.
            # Inference takes the deterministic top-S.
            gumbel = -torch.log(-torch.log(torch.rand_like(scores).clamp(1e-9, 1 - 1e-9)))
            indices = (scores.detach() / tau_r + gumbel).topk(cfg.top_s, dim=-1).indices   # (n, s)
        else:
            indices = scores.topk(cfg.top_s, dim=-1).indices                    # (n, s)
        top = scores.gather(1, indices)
        weights = torch.softmax(top / tau_r, dim=-1)
        log_p = torch.log_softmax(scores / tau_r, dim=-1)                       # (n, m)
        target = torch.softmax(v @ self.mapping().t() / tau_s, dim=-1)          # eq. 15 (n, m)
        probs = log_p.exp()
        with torch.no_grad():
            counts = torch.bincount(indices.flatten(), minlength=cfg.n_experts).float()
            usage = counts / counts.sum().clamp_min(1.0)                        # (m,) hard shares
        # the balance term sees the untempered scores: at τ_r = 5 softmax(s / τ_r) is flat while
        # the top-S choice is already one-sided, and a flat P gives no balancing gradient
        util = utilisation_loss(torch.softmax(scores, dim=-1), usage)
        route, entropy = route_loss(target, log_p, indices), selection_entropy(weights)
        loss = cfg.lambda_route * route + cfg.lambda_util * util + cfg.lambda_ent * entropy
        return RouterOutput(indices, weights, probs, target, usage, route, util, entropy, loss)


class PGMoE(nn.Module):
    """Router + M experts: ``h`` ``(b, t, d)``, ``v`` ``(b, t, k)`` → (``Σ_{i∈Q} w_i E_i(h)`` ``(b, t, d)``,
    :class:`RouterOutput` over the real frames). Only the selected experts run (sparse dispatch)."""

    def __init__(self, dim: int, k: int, cfg: RouterConfig):
        super().__init__()
        self.router = Router(dim, k, cfg)
        self.experts = nn.ModuleList(Expert(dim, cfg.expert_hidden, cfg.dropout)
                                     for _ in range(cfg.n_experts))

    def forward(self, h: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None,
                tau_r: float, tau_s: float) -> tuple[torch.Tensor, RouterOutput]:
        b, t, d = h.shape
        flat = h.reshape(b * t, d)
        rows = (torch.nonzero(mask.reshape(-1)).squeeze(1) if mask is not None
                else torch.arange(b * t, device=h.device))
        x = flat[rows]                                                         # (n, d)
        out = self.router(x, v.reshape(b * t, -1)[rows], tau_r, tau_s)
        y = torch.zeros_like(x)
        for i, expert in enumerate(self.experts):
            token, slot = torch.nonzero(out.indices == i, as_tuple=True)
            if len(token):
                y.index_add_(0, token, (out.weights[token, slot, None] * expert(x[token])).to(y.dtype))
        full = torch.zeros_like(flat).index_copy_(0, rows, y)
        return full.reshape(b, t, d), out

