"""Discrete speech tokens for VQTalker's generator (``papers/003`` § Coarse-to-Fine Motion Generation, A).

The paper takes CosyVoice's pretrained speech tokenizer (50 Hz, downsampled to 25 Hz), which cannot
be downloaded here. Two tokenizers made from what babelface has, each ``mel (b, 4t, 80) → units
(b, t, n)`` int64, ``n`` tokens per 25 fps video frame:

- ``mel``: k-means of per-utterance normalised log-mel frames (100 Hz, MuEx E.5 front-end), fitted on
  the training split; 4 units per video frame (the 10 ms frames it owns), vocabulary ``n_units``.
- ``muex``: MuEx's phoneme prototypes as pseudo-phoneme tokens (MuEx eq. 3, hard codes
  ``argmin_k ‖z^p − c_k‖²``) from the shipped MuEx audio encoder, frozen; 1 unit per video frame,
  vocabulary K (40 in the shipped model).

k-means is :func:`babelface.models.prototypes.kmeans` (k-means++, Lloyd), MuEx's own.
"""

from __future__ import annotations

import torch
from torch import nn

from babelface.constants import MEL_FRAMES_PER_VIDEO_FRAME, N_MELS
from babelface.models.prototypes import kmeans, squared_distances

UNIT_KINDS = ("mel", "muex")


class MelUnits(nn.Module):
    """k-means units of log-mel frames: 4 per video frame."""

    per_frame = MEL_FRAMES_PER_VIDEO_FRAME

    def __init__(self, n_units: int = 256):
        super().__init__()
        self.register_buffer("centroids", torch.zeros(n_units, N_MELS))

    @property
    def vocab(self) -> int:
        return len(self.centroids)

    def fit(self, frames: torch.Tensor, seed: int = 0) -> float:
        """Cluster mel frames ``(n, 80)``; returns the distortion (mean squared distance)."""
        g = torch.Generator().manual_seed(seed)
        result = kmeans(frames.float(), self.vocab, restarts=1, iters=30, generator=g)
        self.centroids.copy_(result.centroids)
        return result.distortion

    @torch.no_grad()
    def forward(self, mel: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``mel`` (b, 4t, 80) → units (b, t, 4)."""
        units = squared_distances(mel.float(), self.centroids).argmin(-1)          # (b, 4t)
        return units.unflatten(1, (-1, self.per_frame))


class MuExUnits(nn.Module):
    """MuEx's phoneme prototype codes: 1 per video frame (MuEx eq. 3)."""

    per_frame = 1

    def __init__(self, muex=None):
        super().__init__()
        if muex is None:
            from babelface.models.muex import load_default
            muex = load_default()
        self.audio_encoder = muex.audio_encoder
        self.proto_p = muex.proto_p
        self.requires_grad_(False)

    @property
    def vocab(self) -> int:
        return self.proto_p.k

    @torch.no_grad()
    def forward(self, mel: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``mel`` (b, 4t, 80) → units (b, t, 1)."""
        was = self.training
        self.eval()
        try:
            _, z = self.audio_encoder(mel.float(), mask)                             # (b, t, d_z)
        finally:
            self.train(was)
        return self.proto_p.codes(z).unsqueeze(-1)


def make_units(kind: str, n_units: int) -> nn.Module:
    if kind == "mel":
        return MelUnits(n_units)
    if kind == "muex":
        return MuExUnits()
    raise ValueError(f"unknown speech units {kind!r}: choose one of {', '.join(UNIT_KINDS)}")
