"""The sync expert: per-frame audio tokens and vocal-motion tokens in one embedding space.

SyncLipMAE (Ling et al., 2025, ``papers/001``) §3.2–3.3 and §4.1, specialised to babelface's
motion representation. SyncLipMAE's vocal-motion token z^voc_t comes from a ViT over face pixels;
ours comes from *motion* (lip/jaw/chin landmarks in the canonical frame,
:mod:`babelface.motion.representation`), so the expert is cheap enough to be a metric, a tool and
a training loss at once (the "drop-in loss" the paper's App. C says its own model is too heavy for).

Both branches emit one L2-normalised D-dim token per 25 fps frame:

- **audio** ``A_t``: 80-bin log-mel (MuEx E.5, 4 mel frames per video frame), per-utterance
  normalised, through a temporal conv net whose receptive field is about ±0.2 s
  (:class:`MelEncoder`); or, when the user names a local wav2vec 2.0 checkpoint, all its hidden
  layers concatenated per frame and projected to D by an adapter (§3.2 "Audio Features and
  Adapter": ``ã_t = [a_t^(1) ‖ … ‖ a_t^(L)]``), see :mod:`babelface.models.wav2vec2`.
- **visual** ``v_t = z^voc_t``: motion of the lip/jaw/chin points, per-clip centred and scaled,
  through a temporal conv net of the same receptive field (:class:`MotionEncoder`).

The in-sync score and lag (§4.1): ``S(Δ) = 1/(T−|Δ|) Σ_t ⟨A_t, v_{t+Δ}⟩``, ``Δ̂ = argmax S(Δ)``
(positive Δ: the video lags the audio); see :mod:`babelface.sync`. The training objective
(§3.3, L_CL) is in :mod:`babelface.models.sync_loss`.

Einstein notation: b batch, t video frames (25 fps), m mel frames (= 4 t), p points, d width.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from babelface.constants import MEL_FRAMES_PER_VIDEO_FRAME, N_MELS
from babelface.errors import WeightsError
from babelface.face.indices import CHIN, JAW, LIPS, motion_slot
# the frames with speech in them, defined beside the log-mel (the data layer reads them too)
from babelface.media.features import SPEECH_FLOOR_DB, speech_frames  # noqa: F401  (re-exported)
from babelface.models.checkpoint import CheckpointMixin
from babelface.models.layers import TemporalBlock

# The visual branch's point sets, by name (positions in MOTION_INDICES via motion_slot).
POINT_SETS: dict[str, tuple[int, ...]] = {
    "lips": LIPS,
    "lips_jaw": tuple(sorted(set(LIPS) | set(JAW) | set(CHIN))),
}
DEFAULT_WEIGHTS = "sync_expert.safetensors"      # in babelface/assets
NORM_EPS = 1e-5                 # as media.features.normalize
MOTION_SCALE_FLOOR = 0.01       # IOD units: a still face is not blown up to unit scale


@dataclass
class SyncExpertConfig:
    """Dimensions of the sync expert. Saved inside every checkpoint; the model is rebuilt from it
    (:meth:`SyncExpert.from_pretrained`).

    The paper's D is its ViT width (Sapiens-0.3B, 1024); ours is small because the inputs are
    landmarks and log-mel, not pixels. The receptive field of each branch is
    ``1 + 2 * sum(dilations)`` video frames (±5 frames = ±0.2 s with the defaults), close to
    SyncNet's 0.2 s windows (REFERENCE.md).
    """

    dim: int = 128                        # D: width of the shared token space
    n_mels: int = N_MELS
    audio_channels: int = 128
    audio_mel_kernel: int = 5             # the conv at 100 Hz before pooling to 25 Hz: ±20 ms
    audio_dilations: tuple[int, ...] = (1, 2, 2)
    points: str = "lips_jaw"              # key of POINT_SETS
    visual_channels: int = 128
    visual_dilations: tuple[int, ...] = (1, 2, 2)
    dropout: float = 0.1
    audio_encoder: str = "mel"            # "mel" | "wav2vec2"
    wav2vec2_dim: int = 0                 # concatenated hidden width L*H of the named checkpoint
    extra: dict = field(default_factory=dict)   # free-form provenance (training data, steps)

    @property
    def receptive_field(self) -> int:
        """Frames each visual token sees (the audio branch sees as many, plus ±20 ms)."""
        return 1 + 2 * sum(self.visual_dilations)


class ChannelNorm(nn.LayerNorm):
    """LayerNorm over the channels of each frame of ``(b, c, t)`` (local in time, unlike GroupNorm,
    so that a token depends only on its receptive field)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


def blocks(channels: int, dilations: tuple[int, ...], dropout: float) -> nn.Sequential:
    """The branches' dilated residual blocks (:class:`babelface.models.layers.TemporalBlock`,
    kernel 3) over ``(b, t, c)``."""
    return nn.Sequential(*[TemporalBlock(channels, 3, d, dropout) for d in dilations])


def _legacy_block_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Sync experts saved before the blocks were shared (issue 12) named them ``conv1`` (the
    dilated conv) and ``conv2`` (a 1×1 conv, ``(c, c, 1)``): now ``conv`` and ``proj`` (linear)."""
    out = {}
    for k, v in state.items():
        if ".blocks." in k and ".conv1." in k:
            k = k.replace(".conv1.", ".conv.")
        elif ".blocks." in k and ".conv2." in k:
            k, v = k.replace(".conv2.", ".proj."), (v[..., 0] if v.dim() == 3 else v)
        out[k] = v
    return out


class MelEncoder(nn.Module):
    """Log-mel ``(b, 4t, n_mels)`` → audio tokens ``(b, t, D)`` (unit norm).

    The input is first normalised per utterance over time (MuEx E.5; idempotent, so log-mel that
    is already normalised passes unchanged). Two convs at 100 Hz, then a stride-4 conv whose window is exactly the 4 mel frames a video
    frame owns (media/features.py: frame k owns mel frames 4k … 4k+3), then dilated blocks at 25 Hz.
    """

    def __init__(self, cfg: SyncExpertConfig):
        super().__init__()
        c, k = cfg.audio_channels, cfg.audio_mel_kernel
        self.mel = nn.Sequential(
            nn.Conv1d(cfg.n_mels, c, k, padding=k // 2), nn.GELU(),
            nn.Conv1d(c, c, MEL_FRAMES_PER_VIDEO_FRAME, stride=MEL_FRAMES_PER_VIDEO_FRAME))
        self.blocks = blocks(c, cfg.audio_dilations, cfg.dropout)
        self.out = nn.Sequential(ChannelNorm(c), nn.Conv1d(c, cfg.dim, 1))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        mel = (mel - mel.mean(dim=1, keepdim=True)) / (mel.std(dim=1, unbiased=False, keepdim=True)
                                                       + NORM_EPS)
        x = self.mel(rearrange(mel, "b m f -> b f m"))           # (b, c, t)
        x = self.blocks(rearrange(x, "b c t -> b t c"))           # (b, t, c)
        x = self.out(rearrange(x, "b t c -> b c t"))              # (b, D, t)
        return F.normalize(rearrange(x, "b d t -> b t d"), dim=-1)


class FeatureAdapter(nn.Module):
    """Per-frame features ``(b, t, F)`` (e.g. wav2vec 2.0 layers concatenated, SyncLipMAE §3.2)
    → audio tokens ``(b, t, D)``: LayerNorm, linear to the branch width, the same dilated blocks."""

    def __init__(self, in_dim: int, cfg: SyncExpertConfig):
        super().__init__()
        c = cfg.audio_channels
        self.proj = nn.Sequential(nn.LayerNorm(in_dim), nn.Linear(in_dim, c))
        self.blocks = blocks(c, cfg.audio_dilations, cfg.dropout)
        self.out = nn.Sequential(ChannelNorm(c), nn.Conv1d(c, cfg.dim, 1))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.proj(feats))                         # (b, t, c)
        x = self.out(rearrange(x, "b t c -> b c t"))              # (b, D, t)
        return F.normalize(rearrange(x, "b d t -> b t d"), dim=-1)


def normalize_motion(motion: torch.Tensor, valid: torch.Tensor | None = None,
                     floor: float = MOTION_SCALE_FLOOR) -> torch.Tensor:
    """Centre each clip's motion on its own mean pose and scale it to unit RMS (never above
    ``1/floor``), so that speakers, neutral-face estimates and landmark detectors that differ in
    offset and amplitude look alike. ``motion (b, t, p, 3)``, ``valid (b, t)`` bool; invalid frames
    (no face) are zeroed. Differentiable (the sync loss backpropagates through it)."""
    if valid is None:
        valid = torch.isfinite(motion).all(dim=-1).all(dim=-1)
    w = valid.to(motion.dtype)[..., None, None]                  # (b, t, 1, 1)
    x = torch.where(w.bool(), motion, torch.zeros_like(motion))
    n = w.sum(dim=1, keepdim=True).clamp(min=1.0)                 # (b, 1, 1, 1)
    mean = x.sum(dim=1, keepdim=True) / n
    x = (x - mean) * w
    rms = (x.pow(2).sum(dim=(1, 2, 3), keepdim=True) / (n * x.shape[2] * x.shape[3])).sqrt()
    return x / rms.clamp(min=floor)


class MotionEncoder(nn.Module):
    """Motion ``(b, t, 111, 3)`` → vocal-motion tokens ``(b, t, D)`` (unit norm).

    Keeps the points of ``cfg.points`` (lips, jaw, chin by default), normalises per clip
    (:func:`normalize_motion`), then a per-frame linear layer and dilated blocks over time.
    """

    def __init__(self, cfg: SyncExpertConfig):
        super().__init__()
        slots = motion_slot(POINT_SETS[cfg.points])
        self.register_buffer("slots", torch.from_numpy(slots), persistent=False)
        c = cfg.visual_channels
        self.proj = nn.Linear(3 * len(slots), c)
        self.blocks = blocks(c, cfg.visual_dilations, cfg.dropout)
        self.out = nn.Sequential(ChannelNorm(c), nn.Conv1d(c, cfg.dim, 1))

    def forward(self, motion: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        x = motion[:, :, self.slots]                              # (b, t, p, 3)
        x = normalize_motion(x, valid)
        x = self.proj(rearrange(x, "b t p c -> b t (p c)"))       # (b, t, c)
        x = self.out(rearrange(self.blocks(x), "b t c -> b c t"))  # (b, D, t)
        return F.normalize(rearrange(x, "b d t -> b t d"), dim=-1)


class SyncExpert(CheckpointMixin, nn.Module):
    """Audio branch + visual branch into one token space (SyncLipMAE's A_t and z^voc_t).
    Checkpoints: :class:`~babelface.models.checkpoint.CheckpointMixin` (safetensors, config inside)."""

    model_name = "sync_expert"
    label = "sync expert"
    config_class = SyncExpertConfig
    upgrade_state = staticmethod(_legacy_block_keys)

    def __init__(self, cfg: SyncExpertConfig | None = None):
        super().__init__()
        self.cfg = cfg or SyncExpertConfig()
        if self.cfg.audio_encoder == "mel":
            self.audio = MelEncoder(self.cfg)
        elif self.cfg.audio_encoder == "wav2vec2":
            if self.cfg.wav2vec2_dim <= 0:
                raise ValueError("audio_encoder='wav2vec2' needs wav2vec2_dim (layers × hidden width)")
            self.audio = FeatureAdapter(self.cfg.wav2vec2_dim, self.cfg)
        else:
            raise ValueError(f"unknown audio_encoder {self.cfg.audio_encoder!r}: use 'mel' or 'wav2vec2'")
        self.visual = MotionEncoder(self.cfg)

    def encode_audio(self, features: torch.Tensor) -> torch.Tensor:
        """``(b, 4t, n_mels)`` normalised log-mel (or ``(b, t, F)`` wav2vec 2.0 features) → ``(b, t, D)``."""
        return self.audio(features)

    def encode_motion(self, motion: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        """``(b, t, 111, 3)`` motion (NaN where no face) → ``(b, t, D)``."""
        return self.visual(motion, valid)

    def forward(self, features: torch.Tensor, motion: torch.Tensor,
                valid: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        a = self.encode_audio(features)
        v = self.encode_motion(motion, valid)
        t = min(a.shape[1], v.shape[1])
        return a[:, :t], v[:, :t]


def default_weights_path() -> Path:
    """Path of the shipped weights (``babelface/assets/sync_expert.safetensors``)."""
    return Path(str(resources.files("babelface.assets").joinpath(DEFAULT_WEIGHTS)))


@lru_cache(maxsize=4)
def _load_cached(path: str) -> SyncExpert:
    return SyncExpert.from_pretrained(path)


def load_sync_expert(path: str | Path | None = None) -> SyncExpert:
    """The sync expert at ``path``, or the shipped one; cached per path, in eval mode.

    The shipped weights are rebuilt by ``make model-sync``; a missing file raises
    :class:`WeightsError` saying so.
    """
    p = Path(path) if path is not None else default_weights_path()
    if path is None and not p.is_file():
        raise WeightsError(f"the shipped sync expert {p} is missing: rebuild it with `make model-sync`")
    return _load_cached(str(p.resolve()))
