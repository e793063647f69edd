"""Building blocks shared by every network (MuEx, the sync expert, new models): masked residual
temporal convolutions at 25 fps.

Einstein notation used throughout ``babelface.models``: ``b`` batch, ``t`` video frames (25 fps),
``d`` feature channels, ``k`` prototypes, ``m`` experts, ``l`` motion points.
Masks are ``(b, t)`` bool, True on real frames, padding at the end of each sequence.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TemporalBlock(nn.Module):
    """Pre-norm residual block: ``x + Dropout(W GELU(Conv_{k,dilation}(LN(x))))``, ``(b, t, d)``.

    Padded frames are zeroed before the convolution so that they never leak into real frames.
    """

    def __init__(self, dim: int, kernel: int = 3, dilation: int = 1, dropout: float = 0.0):
        super().__init__()
        if kernel % 2 != 1:
            raise ValueError(f"kernel must be odd (centred receptive field), got {kernel}")
        self.norm = nn.LayerNorm(dim)
        self.conv = nn.Conv1d(dim, dim, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2)
        self.proj = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        y = self.norm(x)                                           # (b, t, d)
        if mask is not None:
            y = y * mask.unsqueeze(-1).to(y.dtype)
        y = self.conv(y.transpose(1, 2)).transpose(1, 2)           # (b, t, d)
        return x + self.drop(self.proj(F.gelu(y)))


class TemporalStack(nn.Module):
    """A stack of :class:`TemporalBlock` with the given dilations and a final LayerNorm.

    Receptive field: ``1 + (kernel - 1) * sum(dilations)`` frames.
    """

    def __init__(self, dim: int, dilations: tuple[int, ...], kernel: int = 3, dropout: float = 0.0):
        super().__init__()
        self.blocks = nn.ModuleList(TemporalBlock(dim, kernel, d, dropout) for d in dilations)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, mask)
        return self.norm(x)

