"""A frozen wav2vec 2.0 / XLS-R encoder read from a LOCAL Hugging Face checkpoint, in plain PyTorch.

wav2vec 2.0 (Baevski et al., 2020). SyncLipMAE (``papers/001``) §3.2 and §5 use a frozen
wav2vec 2.0 base encoder and concatenate *all* its hidden layers per frame
(``ã_t = [a_t^(1) ‖ … ‖ a_t^(L)]``) before an adapter to width D; ablation B1 shows the last layer
alone is worse. babelface ships no such weights and fetches nothing: the user names a folder
holding ``config.json`` and ``model.safetensors`` (the layout of the Hugging Face hub, e.g.
``facebook/wav2vec2-base`` or ``facebook/wav2vec2-xls-r-300m``). Pickled ``pytorch_model.bin``
files are refused: convert them once with ``safetensors`` where you trust them.

Both variants of the architecture are read from ``config.json``: post-norm transformer with a
group-normalised first conv (``base``), and pre-norm ("stable layer norm") with layer-normalised
convs (``large``, XLS-R). Keys may carry the ``wav2vec2.`` prefix of the task heads
(``Wav2Vec2ForCTC``/``ForPreTraining``); heads are ignored.

Rate: the encoder emits 50 frames/s (stride 320 samples), two per 25 fps video frame. SyncLipMAE
resamples the waveform so that the encoder emits one token per video frame; we instead average the
two frames of each video frame (``rate_match="pool"``, the default), which keeps the encoder on the
16 kHz audio it was trained on; ``rate_match="resample"`` is the paper's literal variant.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from babelface.constants import SAMPLE_RATE, SAMPLES_PER_FRAME
from babelface.errors import WeightsError

ENCODER_STRIDE = 320            # samples per wav2vec 2.0 frame at 16 kHz (5·2·2·2·2·2·2)
ENCODER_WINDOW = 400            # receptive field of the conv feature extractor in samples


@dataclass
class Wav2Vec2Config:
    conv_dim: tuple[int, ...] = (512,) * 7
    conv_kernel: tuple[int, ...] = (10, 3, 3, 3, 3, 2, 2)
    conv_stride: tuple[int, ...] = (5, 2, 2, 2, 2, 2, 2)
    conv_bias: bool = False
    feat_extract_norm: str = "group"          # "group" (base) | "layer" (large, XLS-R)
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    layer_norm_eps: float = 1e-5
    num_conv_pos_embeddings: int = 128
    num_conv_pos_embedding_groups: int = 16
    do_stable_layer_norm: bool = False

    @classmethod
    def from_hf(cls, raw: dict) -> "Wav2Vec2Config":
        kw = {}
        for name, f in cls.__dataclass_fields__.items():
            if name in raw:
                kw[name] = tuple(raw[name]) if isinstance(raw[name], list) else raw[name]
        act = raw.get("hidden_act", "gelu")
        if act != "gelu" or raw.get("feat_extract_activation", "gelu") != "gelu":
            raise WeightsError(f"wav2vec 2.0 checkpoints with activation {act!r} are not supported (gelu only)")
        return cls(**kw)

    @property
    def features_dim(self) -> int:
        """Width of all transformer layers concatenated (L · H)."""
        return self.num_hidden_layers * self.hidden_size


class _ConvLayer(nn.Module):
    def __init__(self, cfg: Wav2Vec2Config, i: int):
        super().__init__()
        cin = 1 if i == 0 else cfg.conv_dim[i - 1]
        cout = cfg.conv_dim[i]
        self.conv = nn.Conv1d(cin, cout, cfg.conv_kernel[i], stride=cfg.conv_stride[i], bias=cfg.conv_bias)
        self.mode = cfg.feat_extract_norm
        if self.mode == "layer":
            self.layer_norm = nn.LayerNorm(cout, elementwise_affine=True)
        elif i == 0:
            self.layer_norm = nn.GroupNorm(cout, cout, affine=True)
        else:
            self.layer_norm = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.layer_norm is not None:
            x = self.layer_norm(x.transpose(1, 2)).transpose(1, 2) if self.mode == "layer" else self.layer_norm(x)
        return F.gelu(x)


class _Attention(nn.Module):
    def __init__(self, cfg: Wav2Vec2Config):
        super().__init__()
        h = cfg.hidden_size
        self.heads = cfg.num_attention_heads
        self.q_proj, self.k_proj = nn.Linear(h, h), nn.Linear(h, h)
        self.v_proj, self.out_proj = nn.Linear(h, h), nn.Linear(h, h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape

        def split(y):
            return y.view(b, t, self.heads, h // self.heads).transpose(1, 2)      # (b, heads, t, dh)
        out = F.scaled_dot_product_attention(split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x)))
        return self.out_proj(out.transpose(1, 2).reshape(b, t, h))


class _FeedForward(nn.Module):
    def __init__(self, cfg: Wav2Vec2Config):
        super().__init__()
        self.intermediate_dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size)
        self.output_dense = nn.Linear(cfg.intermediate_size, cfg.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_dense(F.gelu(self.intermediate_dense(x)))


class _Layer(nn.Module):
    def __init__(self, cfg: Wav2Vec2Config):
        super().__init__()
        self.stable = cfg.do_stable_layer_norm
        self.attention = _Attention(cfg)
        self.layer_norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.feed_forward = _FeedForward(cfg)
        self.final_layer_norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stable:                                   # pre-norm (large, XLS-R)
            x = x + self.attention(self.layer_norm(x))
            return x + self.feed_forward(self.final_layer_norm(x))
        x = self.layer_norm(x + self.attention(x))        # post-norm (base)
        return self.final_layer_norm(x + self.feed_forward(x))


class _PosConv(nn.Module):
    """Convolutional relative position embedding (weight-normalised over dim 2, as trained)."""

    def __init__(self, cfg: Wav2Vec2Config):
        super().__init__()
        h, k = cfg.hidden_size, cfg.num_conv_pos_embeddings
        self.kernel = k
        self.groups = cfg.num_conv_pos_embedding_groups
        self.weight_g = nn.Parameter(torch.ones(1, 1, k))
        self.weight_v = nn.Parameter(torch.zeros(h, h // self.groups, k))
        self.bias = nn.Parameter(torch.zeros(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.weight_v
        w = self.weight_g * v / v.norm(dim=(0, 1), keepdim=True)
        y = F.conv1d(x.transpose(1, 2), w, self.bias, padding=self.kernel // 2, groups=self.groups)
        if self.kernel % 2 == 0:
            y = y[:, :, :-1]
        return F.gelu(y).transpose(1, 2)


class Wav2Vec2Encoder(nn.Module):
    """Raw 16 kHz audio ``(b, n)`` → the hidden states of every transformer layer."""

    def __init__(self, cfg: Wav2Vec2Config):
        super().__init__()
        self.cfg = cfg
        self.conv_layers = nn.ModuleList(_ConvLayer(cfg, i) for i in range(len(cfg.conv_dim)))
        self.proj_norm = nn.LayerNorm(cfg.conv_dim[-1], eps=cfg.layer_norm_eps)
        self.projection = nn.Linear(cfg.conv_dim[-1], cfg.hidden_size)
        self.pos_conv = _PosConv(cfg)
        self.layer_norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.layers = nn.ModuleList(_Layer(cfg) for _ in range(cfg.num_hidden_layers))

    def forward(self, audio: torch.Tensor) -> list[torch.Tensor]:
        """``(b, n)`` → list of L tensors ``(b, frames, H)``: the outputs of layers 1 … L (as the
        Hugging Face model's ``hidden_states[1:]``)."""
        x = audio[:, None]
        for conv in self.conv_layers:
            x = conv(x)
        x = self.projection(self.proj_norm(x.transpose(1, 2)))      # (b, frames, H)
        x = x + self.pos_conv(x)
        if not self.cfg.do_stable_layer_norm:
            x = self.layer_norm(x)
        states = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            last = i == len(self.layers) - 1
            states.append(self.layer_norm(x) if (self.cfg.do_stable_layer_norm and last) else x)
        return states


def _rename(key: str) -> str | None:
    """Hugging Face parameter name → ours (None: not part of the encoder)."""
    for prefix in ("wav2vec2.", "model."):
        if key.startswith(prefix):
            key = key[len(prefix):]
    if key.startswith("feature_extractor.conv_layers."):
        return key[len("feature_extractor."):]
    if key.startswith("feature_projection.layer_norm."):
        return "proj_norm." + key.rsplit(".", 1)[1]
    if key.startswith("feature_projection.projection."):
        return "projection." + key.rsplit(".", 1)[1]
    pos = "encoder.pos_conv_embed.conv."
    if key.startswith(pos):
        rest = key[len(pos):]
        return {"bias": "pos_conv.bias", "weight_g": "pos_conv.weight_g", "weight_v": "pos_conv.weight_v",
                "parametrizations.weight.original0": "pos_conv.weight_g",
                "parametrizations.weight.original1": "pos_conv.weight_v"}.get(rest)
    if key.startswith("encoder.layer_norm."):
        return "layer_norm." + key.rsplit(".", 1)[1]
    if key.startswith("encoder.layers."):
        return key[len("encoder."):]
    return None


def load_wav2vec2(folder: str | Path) -> Wav2Vec2Encoder:
    """The frozen encoder of a local checkpoint folder (``config.json`` + ``model.safetensors``)."""
    folder = Path(folder)
    if folder.is_file():
        folder = folder.parent
    cfg_path, weights = folder / "config.json", folder / "model.safetensors"
    if not folder.is_dir():
        raise WeightsError(f"wav2vec 2.0 checkpoint folder not found: {folder}")
    if not weights.exists():
        hint = (" (it holds pytorch_model.bin: babelface never unpickles weights; convert it to "
                "model.safetensors with the safetensors package first)"
                if (folder / "pytorch_model.bin").exists() else "")
        raise WeightsError(f"{folder} has no model.safetensors{hint}")
    if not cfg_path.exists():
        raise WeightsError(f"{folder} has no config.json: copy the checkpoint's config.json beside its weights")
    cfg = Wav2Vec2Config.from_hf(json.loads(cfg_path.read_text()))
    from safetensors.torch import load_file
    try:
        raw = load_file(str(weights))
    except Exception as e:
        raise WeightsError(f"cannot read {weights} as safetensors: {e}") from e
    state = {}
    for k, v in raw.items():
        name = _rename(k)
        if name is not None:
            state[name] = v
    model = Wav2Vec2Encoder(cfg)
    if state.get("pos_conv.weight_g") is not None and state["pos_conv.weight_g"].shape != model.pos_conv.weight_g.shape:
        model.pos_conv.weight_g = nn.Parameter(torch.empty_like(state["pos_conv.weight_g"]))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing:
        raise WeightsError(f"{weights} is not a wav2vec 2.0 encoder: missing {missing[:3]}…")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


@torch.no_grad()
def wav2vec2_features(encoder: Wav2Vec2Encoder, audio: np.ndarray, rate_match: str = "pool") -> np.ndarray:
    """Mono 16 kHz audio ``(n,)`` → ``(T, L·H)``: all layers concatenated per video frame
    (SyncLipMAE §3.2), ``T = ceil(n / 640)``. Input is normalised to zero mean, unit variance."""
    t = -(-len(audio) // SAMPLES_PER_FRAME)
    x = np.asarray(audio, np.float32)
    x = (x - x.mean()) / (x.std() + 1e-7)
    if rate_match == "resample":                          # the paper: T tokens per layer directly
        from babelface.media.audio import resample
        x = resample(x, SAMPLE_RATE, SAMPLE_RATE // 2)
        need, per = t * ENCODER_STRIDE + (ENCODER_WINDOW - ENCODER_STRIDE), 1
    elif rate_match == "pool":
        need, per = t * SAMPLES_PER_FRAME + (ENCODER_WINDOW - ENCODER_STRIDE), 2
    else:
        raise ValueError(f"rate_match must be 'pool' or 'resample', got {rate_match!r}")
    x = np.pad(x, (0, max(0, need - len(x))))[:need]
    states = encoder(torch.from_numpy(x)[None])                   # L × (1, frames, H)
    feats = torch.cat(states, dim=-1)[0]                          # (frames, L·H)
    frames = feats.shape[0] // per * per
    feats = feats[:frames].reshape(frames // per, per, -1).mean(1)
    out = torch.zeros(t, feats.shape[1])
    out[: min(t, len(feats))] = feats[:t]
    return out.numpy()


def n_frames(n_samples: int) -> int:
    """wav2vec 2.0 frames for ``n_samples`` (conv arithmetic of the default extractor)."""
    return max(0, math.floor((n_samples - ENCODER_WINDOW) / ENCODER_STRIDE) + 1)
