"""The facial motion tokenizer of VQTalker (``papers/003``, § Quantized Facial Motion Tokenizer, Fig. 2a).

    motion (b, t, L, 3) ─ normalise ─► Encoder ─► GRFSQ (Alg. 1) ─► codes (b, G, R, t)
                                                       └► x̂ ─► Decoder ─► motion̂ (b, t, L, 3)

The paper tokenizes the motion *features* of an image encoder (LIA's latent, 512² faces) and renders
pixels; babelface's motion is already a compact, identity-free representation (canonical lip, jaw,
chin and cheek offsets, ARCHITECTURE.md), so the encoder and decoder here are small temporal
convolution stacks over it (``babelface.models.layers.TemporalStack``), and the loss is the motion
reconstruction itself: L1 on per-channel normalised motion plus L1 on its frame differences.
Codes run at the motion's 25 fps, so the paper's bitrate formula applies unchanged.

Sizes are scaled down from the paper's GPU model to what trains in ~15 CPU-minutes on one core:
``channels`` = 128 and three dilated blocks each side (receptive field 15 frames, 0.6 s).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from babelface.constants import FPS
from babelface.face.indices import N_MOTION
from babelface.models.checkpoint import CheckpointMixin
from babelface.models.grfsq import GRFSQ, GRFSQConfig, QuantizedResult, code_usage
from babelface.models.layers import TemporalStack

MOTION_DIM = N_MOTION * 3                       # 111 points × (x, y, z) = 333 channels


@dataclass
class MotionTokenizerConfig:
    channels: int = 128                          # scaled down (see the module docstring)
    dilations: tuple[int, ...] = (1, 2, 4)
    dropout: float = 0.0
    quantizer: GRFSQConfig = field(default_factory=GRFSQConfig)
    lambda_velocity: float = 1.0                 # weight of the frame-difference L1


@dataclass
class TokenizerOutput:
    motion: torch.Tensor                         # (b, t, L, 3) reconstruction
    quantized: QuantizedResult


class MotionTokenizer(CheckpointMixin, nn.Module):
    """Encoder → GRFSQ → decoder over motion. ``mean``/``std`` (333,) normalise motion channels;
    they are measured on the training corpus (:meth:`set_statistics`) and saved with the weights."""

    model_name = "vqtalker_tokenizer"
    label = "VQTalker motion tokenizer"
    config_class = MotionTokenizerConfig

    def __init__(self, cfg: MotionTokenizerConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.register_buffer("mean", torch.zeros(MOTION_DIM))
        self.register_buffer("std", torch.ones(MOTION_DIM))
        self.enc_in = nn.Linear(MOTION_DIM, c)
        self.encoder = TemporalStack(c, tuple(cfg.dilations), dropout=cfg.dropout)
        self.enc_out = nn.Linear(c, cfg.quantizer.dim)
        self.quantizer = GRFSQ(cfg.quantizer)
        self.dec_in = nn.Linear(cfg.quantizer.dim, c)
        self.decoder = TemporalStack(c, tuple(cfg.dilations), dropout=cfg.dropout)
        self.dec_out = nn.Linear(c, MOTION_DIM)

    def set_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.mean.copy_(mean)
        self.std.copy_(std.clamp_min(1e-6))

    def normalise(self, motion: torch.Tensor) -> torch.Tensor:
        """(b, t, L, 3) → (b, t, 333) zero-mean unit-variance channels."""
        return (motion.flatten(2) - self.mean) / self.std

    def denormalise(self, x: torch.Tensor) -> torch.Tensor:
        """(b, t, 333) → (b, t, L, 3)."""
        return (x * self.std + self.mean).unflatten(2, (N_MOTION, 3))

    def latent(self, motion: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Motion (b, t, L, 3) → the encoder's continuous output (b, t, G·d), before GRFSQ."""
        return self.enc_out(self.encoder(self.enc_in(self.normalise(motion)), mask))

    def decode_latent(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Quantized vector x̂ (b, t, G·d) → motion (b, t, L, 3)."""
        return self.denormalise(self.dec_out(self.decoder(self.dec_in(x), mask)))

    def forward(self, motion: torch.Tensor, mask: torch.Tensor | None = None) -> TokenizerOutput:
        q = self.quantizer(self.latent(motion, mask))
        return TokenizerOutput(self.decode_latent(q.x, mask), q)

    @torch.no_grad()
    def encode(self, motion: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Motion (b, t, L, 3) → codes (b, G, R, t)."""
        return self.quantizer.encode(self.latent(motion, mask))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (b, G, R, t) → motion (b, t, L, 3)."""
        return self.decode_latent(self.quantizer.decode(codes))

    def loss(self, out: TokenizerOutput, motion: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """L1 on normalised motion + λ_v L1 on its frame differences, over real frames."""
        pred, true = self.normalise(out.motion), self.normalise(motion)          # (b, t, 333)
        m = mask.unsqueeze(-1).to(pred.dtype)
        l1 = ((pred - true).abs() * m).sum() / (m.sum() * MOTION_DIM).clamp_min(1)
        mv = m[:, 1:] * m[:, :-1]
        vel = (((pred[:, 1:] - pred[:, :-1]) - (true[:, 1:] - true[:, :-1])).abs() * mv).sum() \
            / (mv.sum() * MOTION_DIM).clamp_min(1)
        return {"loss": l1 + self.cfg.lambda_velocity * vel, "l1": l1.detach(), "velocity": vel.detach(),
                "usage_min": out.quantized.usage.min().detach()}


def fill_missing(motion: np.ndarray) -> np.ndarray:
    """Motion ``(T, L, 3)`` with NaN frames (no face) filled by linear interpolation in time
    (the nearest face frame at either end). Raises ``ValueError`` when no frame has a face."""
    ok = np.isfinite(motion).all(axis=(1, 2))
    if not ok.any():
        raise ValueError("no frame has a face")
    if ok.all():
        return motion
    t = np.arange(len(motion))
    flat = motion.reshape(len(motion), -1)
    filled = np.stack([np.interp(t, t[ok], flat[ok, j]) for j in range(flat.shape[1])], axis=1)
    return filled.reshape(motion.shape).astype(np.float32)


@torch.no_grad()
def tokenize_motion(tokenizer: MotionTokenizer, motion: np.ndarray) -> dict:
    """Codes, bitrate, code usage and reconstruction error of one motion ``(T, L, 3)`` (NaN frames
    filled first; the errors are measured on the frames that had a face)."""
    from babelface.metrics.lip import motion_metrics
    ok = np.isfinite(motion).all(axis=(1, 2))
    x = torch.from_numpy(fill_missing(np.asarray(motion, np.float32)))[None]
    tokenizer.eval()
    codes = tokenizer.encode(x)                                                  # (1, G, R, T)
    recon = tokenizer.decode(codes)[0].numpy()
    q = tokenizer.cfg.quantizer
    usage = code_usage(codes, q.codebook_size)                                   # (G, R)
    return {"frames": int(len(motion)), "face_frames": int(ok.sum()),
            "groups": q.groups, "residuals": q.residuals, "levels": list(q.levels),
            "codebook_size": q.codebook_size, "bitrate_bps": round(q.bits_per_second(), 1),
            "raw_float32_bps": raw_bitrate(), "code_usage_per_group": [round(float(u), 4) for u in usage.mean(1)],
            **{k: round(v, 5) for k, v in motion_metrics(motion[ok], recon[ok]).items()},
            "codes": codes[0].tolist()}


def raw_bitrate(fps: float = FPS) -> int:
    """The paper's count for continuous motion: every float32 channel × 32 bits × fps (§ Facial Motion
    Tokenizer: LIA's 20-d latent → 20 × 32 × 25 = 16 kbps); here 333 channels → 266.4 kbps."""
    return int(MOTION_DIM * 32 * fps)


def load_tokenizer(path=None) -> MotionTokenizer:
    """A tokenizer checkpoint, or the tokenizer inside a VQTalker checkpoint (default: the shipped one)."""
    from babelface.models.checkpoint import read_checkpoint
    from babelface.models.vqtalker import VQTalker, generator
    if path is None or read_checkpoint(path)[0].get("model") == VQTalker.model_name:
        return generator(path).tokenizer.eval()
    return MotionTokenizer.from_pretrained(path)
