"""MuEx audio encoder (§3.1–3.2, App. E.5): speech → content features h and phoneme features z^p.

Front-end (E.5): pre-emphasis, STFT, 80-bin log-mel, per-utterance mean–variance normalisation
(:mod:`babelface.media.features`), 100 frames/s, i.e. exactly ``MEL_FRAMES_PER_VIDEO_FRAME`` = 4
mel frames per 25 fps video frame. The 4 mel frames of each video frame are stacked and projected,
then a stack of residual dilated temporal convolutions produces the content features ``h`` at
25 fps, and a linear head maps ``h`` onto the unit sphere as the phoneme-level features ``z^p``
that the phoneme prototypes cluster (§3.2).

Optional front-end: wav2vec 2.0 / XLSR hidden states (Baevski et al. 2020; Conneau et al. 2020),
loaded from a LOCAL folder the user names (``config.json`` + ``model.safetensors``) by the one
wav2vec 2.0 loader, :mod:`babelface.models.wav2vec2`. Nothing is downloaded and no pickle is read.
Its 50 Hz frames are stacked two per video frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from babelface.constants import MEL_FRAMES_PER_VIDEO_FRAME, N_MELS, SAMPLES_PER_FRAME
from babelface.errors import InputError, WeightsError
from babelface.media.features import mel_features  # noqa: F401  (the E.5 front-end, re-exported)
from babelface.models.layers import TemporalStack

WAV2VEC_FRAMES_PER_VIDEO_FRAME = 2       # wav2vec 2.0 hop is 20 ms (320 samples): 2 per 40 ms frame
WAV2VEC_HOP = SAMPLES_PER_FRAME // WAV2VEC_FRAMES_PER_VIDEO_FRAME
WAV2VEC_WINDOW = 400                     # receptive field of its convolutional feature encoder
FEATURE_KINDS = ("mel", "wav2vec")


@dataclass
class AudioEncoderConfig:
    features: str = "mel"                 # "mel" (E.5) or "wav2vec" (local checkpoint, optional)
    n_mels: int = N_MELS                  # E.5: 80-dim mel-spectrograms
    d_model: int = 256                    # width of h (not given by the paper)
    dilations: tuple[int, ...] = (1, 2, 4, 8, 1, 2, 4, 8)   # receptive field 61 frames = 2.4 s
    kernel: int = 3
    dropout: float = 0.1
    wav2vec_path: str | None = None       # local folder: config.json + model.safetensors
    wav2vec_layer: int = -1               # which hidden state (-1: the last)
    wav2vec_dim: int = 768                # hidden size of that checkpoint (1024 for XLSR-300M)


class Wav2VecFrontend(nn.Module):
    """Frozen wav2vec 2.0 / XLSR features from a local checkpoint: ``(b, n)`` audio → ``(b, 2 T, D)``.

    ``T = ceil(n / 640)``. The encoder is the one wav2vec 2.0 loader's
    (:func:`babelface.models.wav2vec2.load_wav2vec2`, plain PyTorch). The waveform is normalised per
    utterance (as XLSR's feature extractor does) and padded so that the 20 ms frames line up two per
    video frame. ``layer``: the output of transformer layer ``layer`` (1 … L; −1 the last).
    """

    def __init__(self, path: str | Path, layer: int = -1):
        super().__init__()
        from babelface.models.wav2vec2 import load_wav2vec2
        self.model = load_wav2vec2(path)
        n = self.model.cfg.num_hidden_layers
        if layer == 0 or not -n <= layer <= n:
            raise WeightsError(f"model.audio.wav2vec_layer {layer}: the checkpoint has layers 1 … {n} "
                               "(or −1 for the last)")
        self.index = layer - 1 if layer > 0 else layer
        self.dim = int(self.model.cfg.hidden_size)

    def train(self, mode: bool = True):           # always frozen, always in eval mode
        return super().train(False)

    @torch.no_grad()
    def forward(self, audio: torch.Tensor, n_frames: int | None = None) -> torch.Tensor:
        t = n_frames if n_frames is not None else -(-audio.shape[-1] // SAMPLES_PER_FRAME)
        x = audio[..., : t * SAMPLES_PER_FRAME]
        x = F.pad(x, (0, t * SAMPLES_PER_FRAME - x.shape[-1] + WAV2VEC_WINDOW - WAV2VEC_HOP))
        x = (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + 1e-7)
        hidden = self.model(x)[self.index]                       # (b, 2 t, D)
        return hidden[:, : t * WAV2VEC_FRAMES_PER_VIDEO_FRAME]


class AudioEncoder(nn.Module):
    """Audio features → content features ``h`` ``(b, t, d)`` and phoneme features ``z^p`` ``(b, t, d_z)``.

    ``z^p`` is L2-normalised, so ``‖z − c‖²`` and the temperature of eq. 3 have a fixed scale.
    """

    def __init__(self, cfg: AudioEncoderConfig, d_z: int):
        super().__init__()
        if cfg.features not in FEATURE_KINDS:
            raise ValueError(f"audio features must be one of {FEATURE_KINDS}, got {cfg.features!r}")
        self.cfg = cfg
        if cfg.features == "mel":
            self.frames_per_video_frame, in_dim = MEL_FRAMES_PER_VIDEO_FRAME, cfg.n_mels
        else:
            self.frames_per_video_frame, in_dim = WAV2VEC_FRAMES_PER_VIDEO_FRAME, cfg.wav2vec_dim
        self.input = nn.Linear(self.frames_per_video_frame * in_dim, cfg.d_model)
        self.trunk = TemporalStack(cfg.d_model, cfg.dilations, cfg.kernel, cfg.dropout)
        self.phoneme_head = nn.Linear(cfg.d_model, d_z)

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``features`` ``(b, f t, c)`` (f = 4 mel or 2 wav2vec frames per video frame) → (h, z^p)."""
        x = rearrange(features, "b (t f) c -> b t (f c)", f=self.frames_per_video_frame)
        h = self.trunk(self.input(x), mask)                         # (b, t, d)
        z = F.normalize(self.phoneme_head(h), dim=-1)               # (b, t, d_z)
        return h, z




class AudioFrontEndMixin:
    """The audio front-end of a model that owns an :class:`AudioEncoder` (``self.cfg.audio``, an
    :class:`AudioEncoderConfig`) and a ``motion_scale`` buffer (its device): log-mel (E.5), or the
    frozen wav2vec 2.0 features of a local checkpoint, the same way at training and at inference.
    Call :meth:`_init_frontend` in ``__init__``; the wav2vec encoder stays out of the state dict."""

    def _init_frontend(self) -> None:
        self._frontend: list[Wav2VecFrontend] = []

    @property
    def frontend(self) -> Wav2VecFrontend:
        """The frozen wav2vec 2.0 front-end (``audio.features == "wav2vec"``), loaded on first use."""
        if not self._frontend:
            if not self.cfg.audio.wav2vec_path:
                raise WeightsError(f"this {self.label} model reads wav2vec 2.0 features: set "
                                   "model.audio.wav2vec_path to the local checkpoint folder")
            self._frontend.append(Wav2VecFrontend(self.cfg.audio.wav2vec_path, self.cfg.audio.wav2vec_layer))
        return self._frontend[0].to(self.motion_scale.device)

    def features_from_batch(self, batch: dict) -> torch.Tensor:
        """The audio encoder's input for a training batch: ``mel`` ``(b, 4 t, 80)`` or wav2vec features
        ``(b, 2 t, D)`` of ``audio`` ``(b, 640 t)``."""
        if self.cfg.audio.features == "mel":
            return batch["mel"]
        if "audio" not in batch:
            raise InputError("wav2vec features need the raw audio in each batch (an 'audio' entry)")
        return self.frontend(batch["audio"], n_frames=batch["mask"].shape[1])

    def features_of(self, audio: np.ndarray, t: int) -> torch.Tensor:
        """Mono 16 kHz speech ``(n,)`` → the audio encoder's input for ``t`` video frames, ``(1, f t, c)``."""
        if self.cfg.audio.features == "mel":
            return torch.from_numpy(mel_features(audio, t, self.cfg.audio.n_mels))[None].to(self.motion_scale.device)
        return self.frontend(torch.from_numpy(np.ascontiguousarray(audio, np.float32))[None]
                             .to(self.motion_scale.device), n_frames=t)
