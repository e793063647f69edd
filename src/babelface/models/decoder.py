"""MuEx motion decoder: expert-mixed features → motion ``(b, t, L, 3)``.

Where the paper's generator synthesises video frames, babelface's decoder produces the motion
representation (:mod:`babelface.motion.representation`: 111 lip/jaw/chin/cheek points, canonical
frame, inter-ocular units, displacement from the neutral face); the renderer turns it into pixels.
The network predicts motion divided by the model's motion scale (the RMS of the training motion),
so that its outputs and the losses have unit scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from torch import nn

from babelface.face.indices import N_MOTION
from babelface.models.layers import TemporalStack


@dataclass
class DecoderConfig:
    dilations: tuple[int, ...] = (1, 2, 1)    # temporal smoothing after the experts (not given)
    kernel: int = 3
    dropout: float = 0.1


class MotionDecoder(nn.Module):
    """``h`` ``(b, t, d)`` → motion ``(b, t, L, 3)`` in units of ``scale``."""

    def __init__(self, dim: int, cfg: DecoderConfig, n_points: int = N_MOTION):
        super().__init__()
        self.trunk = TemporalStack(dim, cfg.dilations, cfg.kernel, cfg.dropout)
        self.out = nn.Linear(dim, n_points * 3)
        self.n_points = n_points

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None = None,
                scale: torch.Tensor | float = 1.0) -> torch.Tensor:
        y = self.out(self.trunk(h, mask))                                     # (b, t, 3 L)
        return rearrange(y, "b t (l c) -> b t l c", c=3) * scale
