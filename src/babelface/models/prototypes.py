"""Phoneme and viseme prototypes (MuEx §3.2, App. B): universal articulatory anchors.

K prototypes per modality, ``{c_k}``; a feature ``z_t`` gets the hard code
``q_t = argmin_k ‖z_t − c_k‖²`` and the soft assignment ``v_t = softmax_k(−‖z_t − c_k‖² / τ²)``
(eq. 3, the pseudo-phoneme labels). Prototypes are trained with the model and refreshed
periodically (every 10 epochs, B.1) by K-means++ with 3 restarts, keeping the run of lowest
within-cluster distortion, on a *balanced* feature set (B.2): over-full clusters are cut to the
``S_thr`` samples nearest their centroid, thin clusters are topped up by interpolation between a
member and the centroid (eq. 10). A variance regulariser (eq. 11) keeps the prototypes apart.

Choices the paper leaves open (documented in docs/muex.md): the effective threshold is
``S_thr = min(S_max, over_factor · N / K)``; a cluster is thin below ``under_factor · N / K``
members and is topped up to that count; eq. 10's ``d_near`` cycles through the cluster's members
from the nearest to the centroid outwards; after balancing, Lloyd iterations refine the centroids
on the balanced set; a refresh matches the new centroids to the old ones (Hungarian) so that
prototype indices keep their meaning for the modules keyed by them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class PrototypeConfig:
    k: int = 44                      # B.1 and Table 4 (§3.2 says 40; 44 is the reported optimum)
    tau: float = 0.3                 # eq. 3 temperature τ (not given; features are unit vectors)
    restarts: int = 3                # B.1: 3 K-means++ runs, lowest distortion kept
    kmeans_iters: int = 50           # Lloyd iterations per run
    refresh_every_epochs: int = 10   # §3.2, B.1
    refresh_frames: int = 50_000     # frames of features gathered for one refresh
    s_max: int = 4096                # B.2 S_max: the largest cluster capacity
    over_factor: float = 2.0         # B.2 S_thr = min(S_max, over_factor · N / K)
    under_factor: float = 0.5        # B.2 clusters below under_factor · N / K are oversampled
    lambda_var: float = 0.01         # weight of eq. 11 (not given by the paper)
    straight_through: bool = True    # q: one-hot forward, soft-assignment gradient (C.8)


@dataclass
class KMeansResult:
    centroids: torch.Tensor          # (k, d)
    labels: torch.Tensor             # (n,)
    distortion: float                # mean squared distance of each point to its centroid
    restart_distortions: list[float]


def squared_distances(z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``‖z_i − c_k‖²`` for ``z`` ``(..., d)`` and ``c`` ``(k, d)`` → ``(..., k)``."""
    d = (z * z).sum(-1, keepdim=True) - 2 * z @ c.t() + (c * c).sum(-1)
    return d.clamp_min(0.0)


def kmeans_pp_init(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """K-means++ seeding (Arthur & Vassilvitskii 2007): ``(n, d)`` → ``(k, d)`` centroids."""
    n = len(x)
    first = torch.randint(n, (1,), generator=generator, device=x.device)
    centroids = [x[first[0]]]
    closest = squared_distances(x, centroids[0][None])[:, 0]              # (n,)
    for _ in range(1, k):
        total = closest.sum()
        if total <= 0:                                # fewer distinct points than k: repeat one
            idx = torch.randint(n, (1,), generator=generator, device=x.device)[0]
        else:
            idx = torch.multinomial(closest / total, 1, generator=generator)[0]
        centroids.append(x[idx])
        closest = torch.minimum(closest, squared_distances(x, x[idx][None])[:, 0])
    return torch.stack(centroids)


def lloyd(x: torch.Tensor, centroids: torch.Tensor, iters: int, tol: float = 1e-6
          ) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Lloyd's iterations from ``centroids``; an emptied cluster is re-seeded with the worst-fit point.

    Returns (centroids ``(k, d)``, labels ``(n,)``, mean squared distance).
    """
    c = centroids.clone()
    k = len(c)
    prev = math.inf
    for _ in range(max(iters, 1)):
        d = squared_distances(x, c)
        dist, labels = d.min(dim=1)
        counts = torch.bincount(labels, minlength=k)
        sums = torch.zeros_like(c).index_add_(0, labels, x)
        for j in torch.nonzero(counts == 0).flatten().tolist():
            movable = torch.where(counts[labels] > 1, dist, torch.full_like(dist, -1.0))
            worst = int(movable.argmax())
            old = labels[worst]
            sums[old] -= x[worst]
            counts[old] -= 1
            sums[j], counts[j], labels[worst], dist[worst] = x[worst], 1, j, 0.0
        c = sums / counts[:, None].to(x.dtype)
        cur = float(dist.mean())
        if prev - cur <= tol * max(prev, 1e-12):
            break
        prev = cur
    dist, labels = squared_distances(x, c).min(dim=1)
    return c, labels, float(dist.mean())


def kmeans(x: torch.Tensor, k: int, restarts: int = 3, iters: int = 50,
           generator: torch.Generator | None = None) -> KMeansResult:
    """K-means++ with ``restarts`` runs, keeping the lowest within-cluster distortion (B.1)."""
    if len(x) < k:
        raise ValueError(f"cannot cluster {len(x)} points into {k} prototypes: gather more frames")
    g = generator if generator is not None else torch.Generator(device=x.device).manual_seed(0)
    best, runs = None, []
    for _ in range(restarts):
        c, labels, dist = lloyd(x, kmeans_pp_init(x, k, g), iters)
        runs.append(dist)
        if best is None or dist < best[2]:
            best = (c, labels, dist)
    return KMeansResult(best[0], best[1], best[2], runs)


def balance(x: torch.Tensor, centroids: torch.Tensor, labels: torch.Tensor, s_thr: int, s_min: int,
            generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """B.2 balancing of ``x`` ``(n, d)`` clustered by ``labels`` around ``centroids`` ``(k, d)``.

    Clusters with more than ``s_thr`` members keep the ``s_thr`` nearest to their centroid; non-empty
    clusters with fewer than ``s_min`` members get ``s_min − n_k`` new samples (eq. 10)
    ``d_new = α d_near + (1 − α) c``, ``α ~ U(0, 1)``. Returns (features, labels) of the balanced set.
    """
    xs, ls = [], []
    for j in range(len(centroids)):
        members = x[labels == j]
        if len(members) == 0:
            continue
        order = torch.argsort(((members - centroids[j]) ** 2).sum(-1))
        members = members[order]                                   # nearest to the centroid first
        if len(members) > s_thr:
            members = members[:s_thr]
        elif len(members) < s_min:
            extra = s_min - len(members)
            near = members[torch.arange(extra, device=x.device) % len(members)]
            alpha = torch.rand(extra, 1, generator=generator, device=x.device, dtype=x.dtype)
            members = torch.cat([members, alpha * near + (1 - alpha) * centroids[j]])
        xs.append(members)
        ls.append(torch.full((len(members),), j, dtype=torch.long, device=x.device))
    return torch.cat(xs), torch.cat(ls)


def match_to(old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """Permutation ``p`` of ``new`` ``(k, d)`` minimising ``Σ_j ‖old_j − new_{p_j}‖²`` (Hungarian).

    A refresh keeps each prototype's identity, so that what is keyed by prototype index (the
    discriminator on codes, the router's ``g_phon`` and ``R``) stays meaningful across refreshes.
    """
    from scipy.optimize import linear_sum_assignment
    _, cols = linear_sum_assignment(squared_distances(old, new).cpu().double().numpy())
    return torch.as_tensor(cols, device=new.device)


class Prototypes(nn.Module):
    """K learnable prototypes ``c`` ``(k, d)`` of one modality with hard and soft assignments."""

    def __init__(self, k: int, dim: int, cfg: PrototypeConfig):
        super().__init__()
        self.cfg = cfg
        self.centroids = nn.Parameter(F.normalize(torch.randn(k, dim), dim=-1))
        self.register_buffer("refreshed", torch.zeros((), dtype=torch.long))   # refreshes so far

    @property
    def k(self) -> int:
        return len(self.centroids)

    def points(self) -> torch.Tensor:
        """The prototypes on the unit sphere ``(k, d)``, where the (L2-normalised) features live.

        The parameter itself is free; projecting it keeps eq. 11 bounded: on an unconstrained
        parameter −‖c_k − c̄‖² has no minimum, and Adam pushes the prototypes outwards at the
        learning rate until one of them is nearest to every feature (codes collapse to one)."""
        return F.normalize(self.centroids, dim=-1)

    def distances(self, z: torch.Tensor) -> torch.Tensor:
        """``(..., d)`` → ``‖z − c_k‖²`` ``(..., k)``."""
        return squared_distances(z, self.points().to(z.dtype))

    def soft(self, z: torch.Tensor) -> torch.Tensor:
        """Eq. 3: pseudo-phoneme labels ``v = softmax(−‖z − c_k‖² / τ²)`` ``(..., k)``."""
        return torch.softmax(-self.distances(z) / self.cfg.tau ** 2, dim=-1)

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        """Hard codes ``q = argmin_k ‖z − c_k‖²`` ``(...)`` (long)."""
        return self.distances(z).argmin(-1)

    def one_hot(self, z: torch.Tensor) -> torch.Tensor:
        """``q`` as one-hot ``(..., k)``; with ``straight_through`` its gradient is that of ``v`` (C.8)."""
        soft = self.soft(z)
        hard = F.one_hot(soft.argmax(-1), self.k).to(soft.dtype)
        return hard + soft - soft.detach() if self.cfg.straight_through else hard

    def variance_loss(self) -> torch.Tensor:
        """Eq. 11: ``L_var = −(1/K) Σ_k ‖c_k − c̄‖²``."""
        c = self.points()
        return -((c - c.mean(0, keepdim=True)) ** 2).sum(-1).mean()

    @torch.no_grad()
    def refresh(self, features: torch.Tensor, generator: torch.Generator) -> KMeansResult:
        """Re-initialise the prototypes from ``features`` ``(n, d)``: K-means++ (B.1), balance (B.2),
        Lloyd refinement on the balanced set. Returns the K-means result before balancing."""
        cfg, x = self.cfg, features.detach().float()
        result = kmeans(x, self.k, cfg.restarts, cfg.kmeans_iters, generator)
        fair = len(x) / self.k
        s_thr = max(1, min(cfg.s_max, math.ceil(cfg.over_factor * fair)))
        s_min = min(s_thr, math.ceil(cfg.under_factor * fair))
        xb, _ = balance(x, result.centroids, result.labels, s_thr, s_min, generator)
        centroids, _, _ = lloyd(xb, result.centroids, cfg.kmeans_iters)
        centroids = F.normalize(centroids, dim=-1)                  # spherical K-means: see points()
        if int(self.refreshed) > 0:
            centroids = centroids[match_to(self.points().detach().float(), centroids)]
        self.centroids.copy_(centroids.to(self.centroids.dtype))
        self.refreshed += 1
        return result
