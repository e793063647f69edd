"""MuEx viseme encoder (§3.1–3.2): mouth motion → viseme-level features z^v.

In the paper z^v is extracted from video frames; babelface works in motion space, so the viseme
encoder reads the lip, jaw and chin points of the motion representation
(:mod:`babelface.motion.representation`, canonical frame, inter-ocular units) and, like the audio
encoder, returns L2-normalised features at 25 fps. It is used for training only (PV-Align); the
audio-only model never needs motion at inference.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from babelface.face.indices import CHIN, JAW, LIPS, motion_slot
from babelface.models.layers import TemporalStack

VISEME_POINTS = tuple(sorted(set(LIPS) | set(JAW) | set(CHIN)))    # 61 mesh vertices


@dataclass
class VisemeEncoderConfig:
    d_model: int = 128              # width (not given by the paper)
    dilations: tuple[int, ...] = (1, 2)
    kernel: int = 3
    dropout: float = 0.1


class VisemeEncoder(nn.Module):
    """Motion ``(b, t, L, 3)`` → z^v ``(b, t, d_z)`` on the unit sphere."""

    def __init__(self, cfg: VisemeEncoderConfig, d_z: int):
        super().__init__()
        self.register_buffer("slots", torch.from_numpy(motion_slot(VISEME_POINTS)), persistent=False)
        self.input = nn.Linear(3 * len(VISEME_POINTS), cfg.d_model)
        self.trunk = TemporalStack(cfg.d_model, cfg.dilations, cfg.kernel, cfg.dropout)
        self.head = nn.Linear(cfg.d_model, d_z)

    def forward(self, motion: torch.Tensor, mask: torch.Tensor | None = None,
                scale: torch.Tensor | float = 1.0) -> torch.Tensor:
        """``motion`` in inter-ocular units, divided by ``scale`` (the model's motion scale)."""
        x = rearrange(motion[:, :, self.slots] / scale, "b t l c -> b t (l c)")
        return F.normalize(self.head(self.trunk(self.input(x), mask)), dim=-1)
