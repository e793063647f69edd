"""Group-Residual Finite Scalar Quantization (GRFSQ): VQTalker (``papers/003``) Algorithm 1.

    x (b, t, G·d) ─ split into G groups ─► per group R residual FSQ steps ─► x̂ = concat, I (b, G, R, t)

FSQ (Mentzer et al. 2024, "Finite Scalar Quantization: VQ-VAE Made Simple", arXiv:2309.15505):
each of the ``d`` dimensions is bounded and rounded to one of ``l_i`` levels with a straight-through
gradient; the implicit codebook is the product of the level sets (5·5·5·5 = 625 codes, the paper's
choice, Table 3). Residual and group composition follow Alg. 1 line by line.

One point Alg. 1 leaves open: after the first FSQ step the residual is at most half a level step, so
an unscaled second FSQ would round it to zero. As vector-quantize-pytorch's ``ResidualFSQ`` does,
residual layer r (0-based) quantizes ``residual / s^r`` and adds back ``s^r · q``, with ``s`` half a
level step (``1 / (2 ⌊l/2⌋)`` per dimension), so each layer spans the error left by the one before
it and the error shrinks by about ``s`` per layer.

Written here rather than taken from vector-quantize-pytorch (whose ``GroupedResidualFSQ`` is this
same composition): that package is not installed, its current releases add input/output
projections, dithering and further dependencies beyond Alg. 1, and the algorithm is ~100 lines.

Shapes: ``b`` batch, ``t`` frames (25 fps), ``G`` groups, ``R`` residual layers, ``d`` FSQ
dimensions per group. Codes are ``(b, G, R, t)`` int64 in ``[0, codebook_size)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from babelface.constants import FPS

BOUND_EPS = 1e-3                  # FSQ §3.1: keeps tanh's bound strictly inside the outer levels


@dataclass
class GRFSQConfig:
    groups: int = 12                                        # G, VQTalker Table 3 (best row)
    residuals: int = 4                                      # R
    levels: tuple[int, ...] = (5, 5, 5, 5)                  # FSQ levels per dimension: 625 codes

    @property
    def dim(self) -> int:
        """Width of the quantized vector: G groups × d FSQ dimensions."""
        return self.groups * len(self.levels)

    @property
    def codebook_size(self) -> int:
        return math.prod(self.levels)

    def bits_per_second(self, fps: float = FPS) -> float:
        """§ Facial Motion Tokenizer: ``R × G × log2(Π l_i) × fps`` (4 × 12 × log2 625 × 25 ≈ 11.1 kbps)."""
        return self.residuals * self.groups * math.log2(self.codebook_size) * fps


@dataclass
class QuantizedResult:
    """One quantizer call (audiocraft's ``QuantizedResult``): everything a caller may need."""

    x: torch.Tensor                   # (b, t, G·d) quantized vector x̂, straight-through to the input
    codes: torch.Tensor               # (b, G, R, t) int64 codebook indices I
    bandwidth: float                  # bits per second at 25 fps
    usage: torch.Tensor               # (G,) share of each group's codes used at least once, mean over layers


def round_ste(z: torch.Tensor) -> torch.Tensor:
    """Round with a straight-through gradient (FSQ §3.1; Bengio et al. 2013)."""
    return z + (z.round() - z).detach()


class FSQ(nn.Module):
    """One finite scalar quantizer over the last dimension ``d = len(levels)``."""

    def __init__(self, levels: tuple[int, ...]):
        super().__init__()
        lv = torch.tensor(levels, dtype=torch.float32)
        half = (lv - 1) * (1 + BOUND_EPS) / 2
        offset = torch.where(lv % 2 == 0, 0.5, 0.0)                             # even levels sit off zero
        self.register_buffer("levels", torch.tensor(levels), persistent=False)
        self.register_buffer("half_range", half, persistent=False)
        self.register_buffer("top", lv - 1 - torch.div(lv, 2, rounding_mode="floor"), persistent=False)
        self.register_buffer("offset", offset, persistent=False)
        self.register_buffer("shift", torch.atanh(offset / half), persistent=False)
        self.register_buffer("half_width", torch.div(lv, 2, rounding_mode="floor"), persistent=False)
        self.register_buffer("basis", torch.cumprod(torch.tensor((1,) + tuple(levels[:-1])), 0),
                             persistent=False)                                  # mixed-radix place values

    def bound(self, z: torch.Tensor) -> torch.Tensor:
        """FSQ §3.1: ``z`` (…, d) → ``tanh`` bounded into the grid's range, in [-1, 1] units."""
        return (torch.tanh(z + self.shift) * self.half_range - self.offset) / self.half_width

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Already bounded ``z`` (…, d) → (nearest grid value in [-1, 1] (…, d), indices (…) int64).

        Rounding is straight-through; values beyond the outer levels are clamped to them."""
        scaled = torch.maximum(torch.minimum(z * self.half_width, self.top), -self.half_width)
        q = round_ste(scaled) / self.half_width                                 # (…, d)
        return q, self.to_indices(q)

    def to_indices(self, q: torch.Tensor) -> torch.Tensor:
        digits = (q * self.half_width + self.half_width).round().long()         # (…, d) in [0, l_i)
        return (digits * self.basis).sum(-1)

    def from_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """Indices (…) → grid values (…, d) in [-1, 1]."""
        digits = torch.div(indices.unsqueeze(-1), self.basis, rounding_mode="floor") % self.levels
        return (digits.float() - self.half_width) / self.half_width


class GRFSQ(nn.Module):
    """Alg. 1: ``x`` (b, t, G·d) → :class:`QuantizedResult`; :meth:`encode` / :meth:`decode` for codes."""

    def __init__(self, cfg: GRFSQConfig):
        super().__init__()
        self.cfg = cfg
        self.fsq = FSQ(cfg.levels)
        step = 1.0 / (2 * self.fsq.half_width)                                  # (d,) half a level step
        self.register_buffer("scales", torch.stack([step ** r for r in range(cfg.residuals)]),
                             persistent=False)                                  # (R, d): s^r

    def _groups(self, x: torch.Tensor) -> torch.Tensor:
        b, t, dim = x.shape
        if dim != self.cfg.dim:
            raise ValueError(f"GRFSQ expects {self.cfg.dim} channels (G={self.cfg.groups} × "
                             f"d={len(self.cfg.levels)}), got {dim}")
        return x.reshape(b, t, self.cfg.groups, len(self.cfg.levels))          # (b, t, G, d)

    def forward(self, x: torch.Tensor, layers: int | None = None) -> QuantizedResult:
        """Quantize ``x`` (b, t, G·d) with the first ``layers`` residual quantizers (all R by default)."""
        target = self.fsq.bound(self._groups(x))                                # (b, t, G, d); Alg. 1: split
        residual = target
        quantized = torch.zeros_like(residual)                                  # x̂_g ← 0
        codes = []
        for r in range(layers or self.cfg.residuals):                           # Alg. 1: for r = 1 … R
            q, idx = self.fsq(residual / self.scales[r])                        # FSQ(residual), scaled
            q = q * self.scales[r]
            quantized = quantized + q                                           # x̂_g += z_quantized
            residual = residual - q                                             # residual −= z_quantized
            codes.append(idx)                                                   # I[g, r] ← indices (b, t, G)
        codes_t = torch.stack(codes, dim=-1).permute(0, 2, 3, 1).contiguous()  # (b, G, R, t)
        usage = code_usage(codes_t, self.cfg.codebook_size).mean(1)
        return QuantizedResult(x=quantized.reshape(x.shape), codes=codes_t,    # x̂ = concat(x̂_1 … x̂_G)
                               bandwidth=self.cfg.bits_per_second(), usage=usage)

    def bound(self, x: torch.Tensor) -> torch.Tensor:
        """What the quantized vector approximates: ``x`` (b, t, G·d) bounded by FSQ's ``tanh``."""
        return self.fsq.bound(self._groups(x)).reshape(x.shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (b, t, G·d) → codes (b, G, R, t)."""
        return self.forward(x).codes

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (b, G, R', t) → x̂ (b, t, G·d), the sum of the first R' ≤ R residual layers."""
        b, g, r, t = codes.shape
        values = self.fsq.from_indices(codes.permute(0, 3, 1, 2))              # (b, t, G, R', d)
        values = (values * self.scales[:r]).sum(-2)                             # (b, t, G, d)
        return values.reshape(b, t, g * len(self.cfg.levels))


def code_hits(codes: torch.Tensor, codebook_size: int, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Which codes occur, per group and layer: codes (b, G, R, t) [, mask (b, t)] → (G, R, K) bool."""
    b, g, r, t = codes.shape
    flat = codes.permute(1, 2, 0, 3).reshape(g * r, b * t)                     # (G·R, b·t)
    if mask is not None:
        flat = flat[:, mask.reshape(b * t)]
    hits = torch.zeros(g * r, codebook_size, dtype=torch.bool, device=codes.device)
    hits.scatter_(1, flat, True)
    return hits.reshape(g, r, codebook_size)


def code_usage(codes: torch.Tensor, codebook_size: int, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Share of the ``codebook_size`` codes used at least once, per group and layer (Table 3, "Util."):
    codes (b, G, R, t) → (G, R)."""
    return code_hits(codes, codebook_size, mask).float().mean(-1)
