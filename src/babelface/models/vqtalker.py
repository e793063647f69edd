"""VQTalker's coarse-to-fine motion generator (``papers/003`` Fig. 2b, Fig. 3) and its MotionGenerator.

    speech ─► units A (b, t, n) ─┐
    controls h, g, b (b, t, c) ──┤   C_r = {k, [A, h, g, b, R_{r−1}]}          (§ Coarse-to-Fine, eq. C_r)
    R_{r−1} = x̂ of layers < r ───┤
    layer indicator k = r ───────┴─► bidirectional transformer ─► logits (b, t, G, K) of layer r's codes

Non-autoregressive in time (every frame of layer r in one pass), autoregressive over the R residual
layers (Fig. 3: t_1 … t_R); one set of weights for every layer, told apart by k. Trained with the
per-group NLL ``L = −Σ_g Σ_t log p(I_{g,t,r} | C_r)`` (the paper's loss, averaged here over groups
and frames), argmax at inference. The codes are decoded by the frozen motion tokenizer.

``R_{r−1}`` is "the output from the previous iteration": here the quantized vector accumulated over
layers 1 … r−1 (Alg. 1's x̂ after r−1 residual steps), which carries layer r−1's codes and the
coarser ones before them; zero for the first layer. The global face feature f_g of the paper (an
identity prompt for its image renderer) has no counterpart: babelface's motion is identity-free.

Sizes are scaled down from the paper's 12-layer BERT (max length 4096) to what trains in ~20
CPU-minutes: 3 layers, width 128, 4 heads (configs/vqtalker.yaml); positions are sinusoidal, so any length runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from babelface.errors import WeightsError
from babelface.face.indices import N_MOTION
from babelface.models.checkpoint import CheckpointMixin
from babelface.models.motion_tokenizer import MotionTokenizer, MotionTokenizerConfig
from babelface.models.speech_units import make_units

DEFAULT_WEIGHTS = "vqtalker_default.safetensors"        # in babelface/assets


@dataclass
class VQTalkerConfig:
    d_model: int = 128
    n_layers: int = 3                   # paper: 12-layer BERT; scaled down for CPU training
    n_heads: int = 4
    d_ff: int = 384
    dropout: float = 0.1
    units: str = "muex"                 # speech tokens: "muex" (MuEx phoneme prototypes) or "mel" (k-means)
    n_units: int = 256                  # vocabulary of the "mel" units
    n_controls: int = 0                 # head pose / gaze / blink channels (h, g, b); 0: none
    d_group: int = 32                   # per-group width before each group's K-way classifier
    tokenizer_weights: str | None = None   # training only: the trained, frozen motion tokenizer
    tokenizer: MotionTokenizerConfig = field(default_factory=MotionTokenizerConfig)


def sinusoid(t: int, d: int, device=None) -> torch.Tensor:
    """Transformer positional encoding (Vaswani et al. 2017, §3.5): (t, d)."""
    pos = torch.arange(t, device=device, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d, 2, device=device, dtype=torch.float32) * (-math.log(10_000.0) / d))
    pe = torch.zeros(t, d, device=device)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class VQTalker(CheckpointMixin, nn.Module):
    """Speech units → GRFSQ codes layer by layer → motion through the frozen tokenizer."""

    name = model_name = "vqtalker"            # the MotionGenerator's name and the checkpoint's model
    label = "VQTalker"
    needs_text = False
    config_class = VQTalkerConfig

    def __init__(self, cfg: VQTalkerConfig):
        super().__init__()
        self.cfg = cfg
        q = cfg.tokenizer.quantizer
        d = cfg.d_model
        self.tokenizer = MotionTokenizer(cfg.tokenizer).requires_grad_(False)
        self.units = make_units(cfg.units, cfg.n_units)
        self.unit_embed = nn.Embedding(self.units.vocab, d)
        self.unit_proj = nn.Linear(self.units.per_frame * d, d)                  # A, frame by frame
        self.prev_proj = nn.Linear(q.dim, d)                                     # R_{r−1}
        self.layer_embed = nn.Embedding(q.residuals, d)                          # k
        self.control_proj = nn.Linear(cfg.n_controls, d) if cfg.n_controls else None   # h, g, b
        layer = nn.TransformerEncoderLayer(d, cfg.n_heads, cfg.d_ff, cfg.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        # G separate K-way classifiers (one per group, § Coarse-to-Fine: "each group is treated as a
        # separate classification task") behind a d → G·d_group projection: a quarter of the cost
        # of one d → G·K layer, which dominated a CPU training step
        self.group_proj = nn.Linear(d, q.groups * cfg.d_group)
        self.classifiers = nn.Parameter(torch.randn(q.groups, cfg.d_group, q.codebook_size) / math.sqrt(cfg.d_group))
        self.classifier_bias = nn.Parameter(torch.zeros(q.groups, q.codebook_size))

    # --- one step of Fig. 3 -----------------------------------------------------------------------
    def logits(self, units: torch.Tensor, prev: torch.Tensor, layer: torch.Tensor,
               mask: torch.Tensor | None = None, controls: torch.Tensor | None = None) -> torch.Tensor:
        """units (b, t, n), prev = R_{r−1} (b, t, G·d), layer (b,) → logits (b, t, G, K) of layer r."""
        b, t, _ = units.shape
        x = self.unit_proj(self.unit_embed(units).flatten(2))                    # (b, t, d)
        x = x + self.prev_proj(prev) + self.layer_embed(layer)[:, None]
        if self.control_proj is not None and controls is not None:
            x = x + self.control_proj(controls)
        x = x + sinusoid(t, x.shape[-1], x.device)
        x = self.transformer(x, src_key_padding_mask=None if mask is None else ~mask)
        g = self.group_proj(self.norm(x)).unflatten(-1, (self.cfg.tokenizer.quantizer.groups, -1))  # (b, t, G, e)
        return torch.einsum("btge,gek->btgk", g, self.classifiers) + self.classifier_bias

    def partial(self, codes: torch.Tensor) -> torch.Tensor:
        """R_{r−1} for every r: codes (b, G, R, t) → (R, b, t, G·d), zero for r = 0."""
        quant = self.tokenizer.quantizer
        layers = [torch.zeros(codes.shape[0], codes.shape[-1], quant.cfg.dim, device=codes.device)]
        layers += [quant.decode(codes[:, :, :r]) for r in range(1, quant.cfg.residuals)]
        return torch.stack(layers)

    def loss(self, mel: torch.Tensor, motion: torch.Tensor, mask: torch.Tensor,
             controls: torch.Tensor | None = None, units: torch.Tensor | None = None,
             codes: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Per-group NLL (§ Coarse-to-Fine, L(G | C_r)) of one random layer r per sequence, teacher-forced.
        ``units`` (b, t, n) and ``codes`` (b, G, R, t), when given, are the speech units and target
        codes computed beforehand (on whole clips); otherwise they come from ``mel`` and ``motion``."""
        with torch.no_grad():
            units = self.units(mel, mask) if units is None else units              # (b, t, n)
            codes = self.tokenizer.encode(motion, mask) if codes is None else codes   # (b, G, R, t)
            r = torch.randint(0, codes.shape[2], (codes.shape[0],), device=codes.device)
            rows = torch.arange(len(r), device=r.device)
            prev = self.partial(codes)[r, rows]                                    # (b, t, G·d)
            target = codes[rows, :, r]                                             # (b, G, t)
        logits = self.logits(units, prev, r, mask, controls)                       # (b, t, G, K)
        nll = F.cross_entropy(logits.permute(0, 3, 2, 1), target, reduction="none")   # (b, G, t)
        m = mask[:, None, :].to(nll.dtype)
        loss = (nll * m).sum() / (m.sum() * nll.shape[1]).clamp_min(1)
        acc = ((logits.argmax(-1).transpose(1, 2) == target).to(nll.dtype) * m).sum() / (m.sum() * nll.shape[1])
        return {"loss": loss, "accuracy": acc.detach()}

    # --- Fig. 3, all layers -------------------------------------------------------------------------
    @torch.no_grad()
    def generate_codes(self, mel: torch.Tensor, mask: torch.Tensor | None = None,
                       controls: torch.Tensor | None = None) -> torch.Tensor:
        """mel (b, 4t, 80) → codes (b, G, R, t): layer by layer, each in one pass, argmax per group."""
        units = self.units(mel, mask)
        b, t, _ = units.shape
        q = self.tokenizer.quantizer
        codes = torch.zeros(b, q.cfg.groups, 0, t, dtype=torch.long, device=mel.device)
        prev = torch.zeros(b, t, q.cfg.dim, device=mel.device)
        for r in range(q.cfg.residuals):
            layer = torch.full((b,), r, dtype=torch.long, device=mel.device)
            new = self.logits(units, prev, layer, mask, controls).argmax(-1)        # (b, t, G)
            codes = torch.cat([codes, new.transpose(1, 2)[:, :, None]], dim=2)
            prev = q.decode(codes)
        return codes

    @torch.no_grad()
    def generate_motion(self, mel: torch.Tensor, mask: torch.Tensor | None = None,
                 controls: torch.Tensor | None = None) -> torch.Tensor:
        """mel (b, 4t, 80) → motion (b, t, L, 3)."""
        return self.tokenizer.decode(self.generate_codes(mel, mask, controls))

    # --- the MotionGenerator protocol ----------------------------------------------------------------
    def predict_motion(self, audio16k: np.ndarray, *, text: str | None = None,
                       language: str | None = None) -> np.ndarray:
        """Mono 16 kHz speech ``(n,)`` → motion ``(ceil(n / 640), 111, 3)`` float32; text is unused."""
        from babelface.media.audio import is_silent
        from babelface.models.audio_encoder import mel_features
        from babelface.models.protocols import check_speech
        audio, t = check_speech(audio16k)
        if is_silent(audio):
            return np.zeros((t, N_MOTION, 3), np.float32)                        # at rest
        was = self.training
        self.eval()
        try:
            motion = self.generate_motion(torch.from_numpy(mel_features(audio, t))[None])[0]
        finally:
            self.train(was)
        return motion.numpy().astype(np.float32)


def default_weights_path() -> Path:
    return Path(str(resources.files("babelface.assets").joinpath(DEFAULT_WEIGHTS)))


def generator(weights: str | Path | None = None) -> VQTalker:
    """The registry's factory (``models.protocols.GENERATORS["vqtalker"]``): given or shipped weights."""
    path = Path(weights) if weights is not None else default_weights_path()
    if weights is None and not path.is_file():
        raise WeightsError(f"the shipped VQTalker weights ({DEFAULT_WEIGHTS}) are missing: run `make model` "
                           "or give --weights")
    return VQTalker.from_pretrained(path)
