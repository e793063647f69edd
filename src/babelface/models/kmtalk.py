"""KMTalk: key motions at phoneme boundaries, then cross-modal motion completion (``papers/004``).

Xu et al., "KMTalk: Speech-Driven 3D Facial Animation with Key Motion Embedding" (ECCV 2024); the
layer table is the supplement's Table 1, which this module follows row by row::

    speech ─► AudioEncoder ─► A (b, t, d) ─┬─► boundary head ─► key frames (or a phoneme timeline)
                                           │
      LKMA  A_k ─► L(d, f) ─► TransformerDecoder(f, 4, 2f, 1) ─► L(f, 3V) ─► K   key motions (Table 1, row 2)
      CMC   K, T_k ─► motion-flow encoder ─► Φ                                  (rows 3–5, with "Manifold")
            W = σ(L([A; Φ])), Z = W·A + (1 − W)·Φ                               (rows 6–7, gated fusion)
            Z ─► L(d, f) ─► TransformerDecoder(f, 4, 2f, 1) ─► L(f, 3V) ─► Y    (row 8)

Motion is babelface's ``(t, V = 111, 3)`` canonical displacement (inter-ocular units), not a mesh.

What babelface does differently, and why:

- **Audio encoder.** The project's dilated-convolution encoder
  (:class:`~babelface.models.audio_encoder.AudioEncoder`, MuEx E.5) over the log-mel front-end by
  default; with ``audio.features: wav2vec`` and ``audio.wav2vec_path`` naming a LOCAL wav2vec 2.0 /
  XLSR folder (``config.json`` + ``model.safetensors``), over that checkpoint's frozen features, as
  the paper's (:class:`~babelface.models.audio_encoder.AudioFrontEndMixin`, shared with MuEx).
  Nothing is downloaded.
- **Localization from audio alone.** The paper runs ASR + MFA; here a boundary head on ``A``
  (trained on the benchmark's exact timelines) gives frame-level boundary probabilities, or a
  timeline (espeak-ng / DTW alignment) gives the boundaries exactly (:mod:`babelface.models.keyframes`).
- **Scaled for one CPU core.** The motion-flow encoder's three ``[MultiheadAttention(f, 8) → FFN(f)]``
  stacks have ``flow_layers`` layers each (2 by default; Table 1: 6), ``f = d = 128``.
- **Manifold** (Table 1, row 5; Mo et al., CVPR 2023, "continuous intermediate token learning"): the
  key tokens ``FFN(Φ_k)`` are interpolated linearly in time to every non-key frame and added to that
  frame's time token ``Φ_non-key``; key frames keep ``FFN(Φ_k)``. That is our reading of the
  reference; the paper gives no formula.
- **Residual on the linear curve.** The completed motion is the piecewise-linear interpolation of the
  key motions (the supplement's Fig. 4 observation) plus the decoder's output (``interp_residual``;
  the paper does not say whether it predicts the full motion or a residual).
- **Decoders' memory.** Table 1 names a TransformerDecoder but not its memory: LKMA's key tokens
  cross-attend to the whole ``A``; the completion decoder's tokens to the whole ``Z``.
- **Losses** (supplement Table 4, "latent" and "text consistency"): latent consistency is the MSE
  between ``A`` at the key frames (projected) and the motion-flow encoder's embedding of the true key
  motions, stop-gradient on the motion side (without it both sides collapse to a constant); text
  consistency is CTC over the phoneme sequence from a small lip reader on the completed motion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import nn

from babelface.constants import SAMPLES_PER_FRAME
from babelface.errors import InputError, WeightsError
from babelface.face.indices import N_MOTION
from babelface.models.audio_encoder import AudioEncoder, AudioEncoderConfig, AudioFrontEndMixin
from babelface.models.checkpoint import CheckpointMixin

TRAINING_ONLY = ("lip_reader.", "latent_proj.")     # not needed at inference
DEFAULT_WEIGHTS = "kmtalk_default.safetensors"      # in babelface/assets
PE_DIM = 16                     # Table 1: PE(16), the length of the position vector
WINDOW = 500                    # frames (20 s) per inference window (attention is quadratic)
OVERLAP = 50                    # frames cross-faded between windows


@dataclass
class KMTalkConfig:
    audio: AudioEncoderConfig = field(default_factory=lambda: AudioEncoderConfig(
        d_model=128, dilations=(1, 2, 4, 8, 1, 2, 4, 8)))
    f: int = 128                     # Table 1: f, the transformer width (paper: not given)
    dec_heads: int = 4               # Table 1: TransformerDecoder(f, 4, 2f, 1)
    dec_layers: int = 1
    flow_heads: int = 8              # Table 1: MultiheadAttention(f, 8)
    flow_layers: int = 2             # Table 1: × 6; scaled down for one CPU core
    dropout: float = 0.1
    d_z: int = 32                    # z^p of the shared audio encoder (unused by KMTalk's losses)
    interp_residual: bool = True     # Y = linear curve through the key motions + decoder output
    audio_guidance: bool = True      # Table 3 "Audio Guidance in CMC": False → Z = Φ
    key_focused: bool = True         # Table 3 "Key Motion-focused Decoder": False → LKMA attends over
                                     # every frame and is trained on every frame's motion
    train_keys: str = "mixed"        # key frames drawn in training: "mixed" (phoneme boundaries or
                                     # uniform 2/3/4), "phoneme", "uniform" (Table 3 "Localization")
    boundary_threshold: float = 0.5  # peak threshold on the boundary probability (set on val)
    lambda_key: float = 1.0          # L1 of the key motions (LKMA)
    lambda_motion: float = 1.0       # L1 of the completed motion (CMC)
    lambda_t: float = 0.1            # temporal-difference L1 (as MuEx eq. 6)
    lambda_boundary: float = 0.5     # BCE of the boundary head
    boundary_pos_weight: float = 3.0  # boundaries are ~1 frame in 3–4
    lambda_latent: float = 0.1       # supplement Table 4: latent consistency (0 = off)
    lambda_ctc: float = 0.02         # supplement Table 4: text consistency, CTC (0 = off)


@dataclass
class KMTalkOutput:
    motion: torch.Tensor             # (b, t, V, 3) completed motion Y
    key_motion: torch.Tensor         # (b, t, V, 3) LKMA's key motions K (read at key frames only)
    boundary_logit: torch.Tensor     # (b, t) boundary logits
    audio: torch.Tensor              # (b, t, d) A


# --- helpers -------------------------------------------------------------------------------------

def sinusoid(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal encoding of frame positions ``(b, t)`` → ``(b, t, dim)`` (Vaswani et al. 2017)."""
    half = dim // 2
    freq = torch.exp(-math.log(10_000.0) * torch.arange(half, device=positions.device) / half)
    angle = positions.float().unsqueeze(-1) * freq                         # (b, t, dim/2)
    return torch.cat([angle.sin(), angle.cos()], dim=-1)


def interpolation_matrix(key: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear interpolation between key frames ``(b, t)`` bool → weights ``(b, t, t)``.

    Row ``n`` weighs the two key frames around ``n`` (weight 1 on a key frame itself); frames before
    the first or after the last key hold its value. ``weights @ x`` reads ``x`` at key frames only:
    the supplement's Fig. 4 curve, and the Manifold's token interpolation (Table 1, row 5).
    """
    b, t = key.shape
    n = torch.arange(t, device=key.device).expand(b, t)
    big = torch.full_like(n, t)
    left = torch.cummax(torch.where(key, n, -torch.ones_like(n)), dim=1).values
    right = torch.flip(torch.cummin(torch.flip(torch.where(key, n, big), [1]), dim=1).values, [1])
    left = torch.where(left < 0, right, left).clamp(0, t - 1)
    right = torch.where(right >= t, left, right).clamp(0, t - 1)
    span = (right - left).clamp_min(1).float()
    w_right = torch.where(right > left, (n - left).float() / span, torch.zeros_like(span))
    out = torch.zeros(b, t, t, device=key.device)
    out.scatter_add_(2, left.unsqueeze(-1), (1 - w_right).unsqueeze(-1))
    out.scatter_add_(2, right.unsqueeze(-1), w_right.unsqueeze(-1))
    return out


def attention_stack(f: int, heads: int, layers: int, dropout: float) -> nn.TransformerEncoder:
    """``[MultiheadAttention(f, heads) → FFN(f)] × layers`` (Table 1), pre-norm."""
    layer = nn.TransformerEncoderLayer(f, heads, 2 * f, dropout, batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def transformer_decoder(f: int, heads: int, layers: int, dropout: float) -> nn.TransformerDecoder:
    """Table 1: ``TransformerDecoder(f, heads, 2 f, layers)``."""
    layer = nn.TransformerDecoderLayer(f, heads, 2 * f, dropout, batch_first=True, norm_first=True)
    return nn.TransformerDecoder(layer, layers)


def _conv(conv: nn.Conv1d, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """A temporal convolution over ``(b, t, f)`` with padded frames zeroed first (no leak into real ones)."""
    x = x * mask.unsqueeze(-1).to(x.dtype)
    return conv(x.transpose(1, 2)).transpose(1, 2)


def _some(valid: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    """``valid`` with rows that hold no True replaced by ``fallback`` (attention needs one key)."""
    empty = ~valid.any(dim=1, keepdim=True)
    return torch.where(empty, fallback, valid)


# --- the three networks of Table 1 ---------------------------------------------------------------

class KeyMotionDecoder(nn.Module):
    """LKMA (Table 1, row 2): ``A_k (m, d) → L(d, f) → TransformerDecoder(f, 4, 2f, 1) → L(f, 3V)``.

    The key tokens attend to each other (self-attention over the key frames only) and to the whole
    audio sequence (cross-attention): the decoder is *key-motion-focused*. ``key_focused=False``
    (Table 3's ablation) lets every frame's token attend to every other.
    """

    def __init__(self, cfg: KMTalkConfig, n_points: int):
        super().__init__()
        d, f = cfg.audio.d_model, cfg.f
        self.key_focused = cfg.key_focused
        self.inp = nn.Linear(d, f)
        self.decoder = transformer_decoder(f, cfg.dec_heads, cfg.dec_layers, cfg.dropout)
        self.out = nn.Linear(f, 3 * n_points)

    def forward(self, audio: torch.Tensor, key: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``audio`` (b, t, d), ``key``/``mask`` (b, t) → key motions (b, t, 3V), normalised units."""
        pos = torch.arange(audio.shape[1], device=audio.device).expand(audio.shape[:2])
        x = self.inp(audio) + sinusoid(pos, self.inp.out_features)          # (b, t, f)
        keys = _some(key & mask, mask) if self.key_focused else mask
        y = self.decoder(x, x, tgt_key_padding_mask=~keys, memory_key_padding_mask=~mask)
        return self.out(y)                                                  # (b, t, 3V)


class MotionFlowEncoder(nn.Module):
    """CMC's motion-flow encoder (Table 1, rows 3–5): key motions + key times → Φ ``(b, t, d)``.

    key stream:     K → L(3V, f) ; [·; PE(16)] → L(16 + f, f) → [MHA(f, 8) → FFN(f)] × n   = Φ_k
    non-key stream: PE(16) → L(16, f) → [MHA(f, 8) → FFN(f)] × n                          = Φ_non-key
    Manifold(FFN(Φ_k), Φ_non-key) → Conv1D → [MHA(f, 8) → FFN(f)] × n → Conv1D → L(f, d)  = Φ
    """

    def __init__(self, cfg: KMTalkConfig, n_points: int):
        super().__init__()
        f, d, h, n, p = cfg.f, cfg.audio.d_model, cfg.flow_heads, cfg.flow_layers, cfg.dropout
        self.key_in = nn.Linear(3 * n_points, f)
        self.key_mix = nn.Linear(PE_DIM + f, f)
        self.key_stack = attention_stack(f, h, n, p)
        self.time_in = nn.Linear(PE_DIM, f)
        self.time_stack = attention_stack(f, h, n, p)
        self.key_ffn = nn.Sequential(nn.Linear(f, 2 * f), nn.GELU(), nn.Linear(2 * f, f))
        self.conv_in = nn.Conv1d(f, f, 3, padding=1)
        self.stack = attention_stack(f, h, n, p)
        self.conv_out = nn.Conv1d(f, f, 3, padding=1)
        self.out = nn.Linear(f, d)

    def forward(self, key_motion: torch.Tensor, key: torch.Tensor, mask: torch.Tensor,
                interp: torch.Tensor) -> torch.Tensor:
        """``key_motion`` (b, t, 3V) normalised (read at key frames), ``key``/``mask`` (b, t),
        ``interp`` (b, t, t) from :func:`interpolation_matrix` → Φ (b, t, d)."""
        pos = torch.arange(key.shape[1], device=key.device).expand(key.shape)
        pe = sinusoid(pos, PE_DIM)                                          # (b, t, 16)
        keys = _some(key & mask, mask)
        phi_k = self.key_mix(torch.cat([self.key_in(key_motion), pe], dim=-1))
        phi_k = self.key_stack(phi_k, src_key_padding_mask=~keys)           # (b, t, f)
        phi_n = self.time_stack(self.time_in(pe), src_key_padding_mask=~_some(~key & mask, mask))
        tokens = self.key_ffn(phi_k)                                        # FFN(Φ_k)
        manifold = torch.where(key.unsqueeze(-1), tokens, interp @ tokens + phi_n)   # Table 1, row 5
        x = _conv(self.conv_in, manifold, mask)
        x = self.stack(x, src_key_padding_mask=~mask)
        return self.out(_conv(self.conv_out, x, mask))                      # (b, t, d)


class CompletionDecoder(nn.Module):
    """CMC's motion decoder (Table 1, rows 6–8): gated fusion of audio and motion flow, then decoding.

    ``W = σ(L(2d, d)([A; Φ]))``, ``Z = W·A + (1 − W)·Φ``; ``Z → L(d, f) → TransformerDecoder(f, 4, 2f, 1)
    → L(f, 3V)``. Without audio guidance (Table 3 ablation) ``Z = Φ``.
    """

    def __init__(self, cfg: KMTalkConfig, n_points: int):
        super().__init__()
        d, f = cfg.audio.d_model, cfg.f
        self.audio_guidance = cfg.audio_guidance
        self.gate = nn.Linear(2 * d, d)
        self.inp = nn.Linear(d, f)
        self.decoder = transformer_decoder(f, cfg.dec_heads, cfg.dec_layers, cfg.dropout)
        self.out = nn.Linear(f, 3 * n_points)

    def forward(self, audio: torch.Tensor, phi: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``audio``, ``phi`` (b, t, d), ``mask`` (b, t) → motion (b, t, 3V), normalised units."""
        if self.audio_guidance:
            w = torch.sigmoid(self.gate(torch.cat([audio, phi], dim=-1)))  # (b, t, d) row 6
            z = w * audio + (1 - w) * phi                                   # row 7: weighted sum
        else:
            z = phi
        pos = torch.arange(z.shape[1], device=z.device).expand(z.shape[:2])
        x = self.inp(z) + sinusoid(pos, self.inp.out_features)
        y = self.decoder(x, x, tgt_key_padding_mask=~mask, memory_key_padding_mask=~mask)
        return self.out(y)


# --- the model -----------------------------------------------------------------------------------

class KMTalk(AudioFrontEndMixin, CheckpointMixin, nn.Module):
    """Audio → boundaries → key motions (LKMA) → completed motion (CMC), and CMC alone for refinement."""

    model_name = "kmtalk"
    label = "KMTalk"
    config_class = KMTalkConfig
    training_only = TRAINING_ONLY

    def __init__(self, cfg: KMTalkConfig, n_points: int = N_MOTION):
        super().__init__()
        self.cfg = cfg
        self.n_points = n_points
        d = cfg.audio.d_model
        self.audio_encoder = AudioEncoder(cfg.audio, cfg.d_z)
        self.boundary_head = nn.Linear(d, 1)
        self.lkma = KeyMotionDecoder(cfg, n_points)
        self.flow = MotionFlowEncoder(cfg, n_points)
        self.completion = CompletionDecoder(cfg, n_points)
        self.latent_proj = nn.Linear(d, cfg.f)                             # latent consistency
        from babelface.data.groundtruth import phoneme_vocab
        self.lip_reader = nn.Sequential(                                    # text consistency (CTC)
            nn.Conv1d(3 * n_points, cfg.f, 3, padding=1), nn.GELU(),
            nn.Conv1d(cfg.f, len(phoneme_vocab()) + 1, 1))
        self.register_buffer("motion_scale", torch.ones(()))               # RMS of training motion
        self.register_buffer("boundary_threshold", torch.tensor(cfg.boundary_threshold))
        self._init_frontend()                                               # wav2vec: out of the state dict

    def encode(self, features: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``features`` (b, f t, c): log-mel (b, 4t, 80) or wav2vec (b, 2t, D) → (A (b, t, d),
        boundary logits (b, t))."""
        audio, _ = self.audio_encoder(features, mask)
        return audio, self.boundary_head(audio).squeeze(-1)

    def key_motions(self, audio: torch.Tensor, key: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """LKMA: key motions ``(b, t, V, 3)`` in inter-ocular units (meaningful at key frames)."""
        k = self.lkma(audio, key, mask) * self.motion_scale
        return k.unflatten(-1, (self.n_points, 3))

    def complete(self, audio: torch.Tensor, key: torch.Tensor, key_motion: torch.Tensor,
                 mask: torch.Tensor) -> torch.Tensor:
        """CMC: key motions ``(b, t, V, 3)`` at ``key`` frames + audio → motion ``(b, t, V, 3)``."""
        key = key & mask
        interp = interpolation_matrix(key)                                  # (b, t, t)
        k = key_motion.flatten(2) / self.motion_scale                       # (b, t, 3V)
        k = k * key.unsqueeze(-1)                                           # only key frames are read
        phi = self.flow(k, key, mask, interp)
        y = self.completion(audio, phi, mask)
        if self.cfg.interp_residual:
            y = y + interp @ k                                              # Fig. 4's linear curve
        return (y * self.motion_scale).unflatten(-1, (self.n_points, 3))

    def forward(self, features: torch.Tensor, key: torch.Tensor, mask: torch.Tensor,
                cmc_keys: torch.Tensor | None = None) -> KMTalkOutput:
        """The whole model on a batch; ``cmc_keys`` (b, t, V, 3) replaces LKMA's key motions as
        CMC's input (training with other sources, refinement)."""
        audio, logit = self.encode(features, mask)
        k = self.key_motions(audio, key, mask)
        y = self.complete(audio, key, k if cmc_keys is None else cmc_keys, mask)
        return KMTalkOutput(y, k, logit, audio)

    @torch.no_grad()
    def set_motion_scale(self, scale: float) -> None:
        if not scale > 0 or not math.isfinite(scale):
            raise ValueError(f"motion scale must be positive and finite, got {scale}")
        self.motion_scale.fill_(scale)


# --- inference: the generator and the refiner ----------------------------------------------------

def _check_audio(audio16k: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio16k, dtype=np.float32)
    if audio.ndim != 1 or len(audio) == 0:
        raise InputError(f"KMTalk needs mono 16 kHz audio (n,), got shape {audio.shape}")
    if not np.isfinite(audio).all():
        raise InputError("the audio holds NaN or infinite samples: decode it again")
    return audio


class KMTalkGenerator:
    """:class:`~babelface.models.protocols.MotionGenerator` ``"kmtalk"``, and the ``--refine kmtalk`` stage.

    Key frames come from a timeline when one is known (``text`` + ``language`` → DTW alignment, or
    ``timeline`` given), else from the boundary head; LKMA decodes the key motions there, or, when
    refining, they are read from another generator's motion; CMC completes the sequence.
    """

    name = "kmtalk"
    needs_text = False

    def __init__(self, model: KMTalk):
        self.model = model.eval()

    def key_frames(self, audio16k: np.ndarray, text: str | None = None, language: str | None = None,
                   timeline: list | None = None) -> tuple[np.ndarray, list]:
        """Key frames ``(T,)`` bool and the timeline they came from (empty: the boundary head)."""
        from babelface.models.keyframes import boundaries_from_timeline, peaks, with_ends
        audio = _check_audio(audio16k)
        t = -(-len(audio) // SAMPLES_PER_FRAME)
        if timeline is None and text is not None:
            if not language:
                raise InputError("--text needs --lang: the language of the transcript")
            from babelface.phonetics.phone_align import align_speech
            timeline = align_speech(audio, text, language)
        if timeline:
            return with_ends(boundaries_from_timeline(timeline, t)), list(timeline)
        prob = self.boundary_probability(audio)
        return with_ends(peaks(prob, float(self.model.boundary_threshold))), []

    @torch.inference_mode()
    def boundary_probability(self, audio16k: np.ndarray) -> np.ndarray:
        """Frame-level phoneme-boundary probability ``(T,)`` from the audio alone."""
        feats, mask = self._features(_check_audio(audio16k))
        return torch.sigmoid(self.model.encode(feats, mask)[1])[0].numpy()

    def _features(self, audio: np.ndarray, t: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        t = -(-len(audio) // SAMPLES_PER_FRAME) if t is None else t
        return self.model.features_of(audio, t), torch.ones(1, t, dtype=torch.bool)

    def _run(self, audio: np.ndarray, key: np.ndarray, motion: np.ndarray | None) -> np.ndarray:
        """Whole clips up to ``WINDOW`` frames at once; longer ones in windows overlapping by
        ``OVERLAP`` frames, cross-faded (the supplement's B.6: long audio is cut into clips)."""
        t = len(key)
        if t <= WINDOW:
            return self._window(audio, key, motion)
        out = np.zeros((t, self.model.n_points, 3), np.float32)
        weight = np.zeros((t, 1, 1), np.float32)
        for s in range(0, t - OVERLAP, WINDOW - OVERLAP):
            e = min(s + WINDOW, t)
            k = key[s:e].copy()
            k[0] = k[-1] = True
            y = self._window(audio[s * SAMPLES_PER_FRAME:e * SAMPLES_PER_FRAME], k,
                             None if motion is None else motion[s:e])
            ramp = np.ones(e - s, np.float32)                               # cross-fade weights
            if s:
                ramp[:OVERLAP] = np.linspace(0, 1, OVERLAP + 2)[1:-1]
            if e < t:
                ramp[-OVERLAP:] = np.linspace(1, 0, OVERLAP + 2)[1:-1]
            out[s:e] += y * ramp[:, None, None]
            weight[s:e] += ramp[:, None, None]
        return out / weight

    @torch.inference_mode()
    def _window(self, audio: np.ndarray, key: np.ndarray, motion: np.ndarray | None) -> np.ndarray:
        feats, mask = self._features(audio, len(key))
        k = torch.from_numpy(key)[None]
        a, _ = self.model.encode(feats, mask)
        keys = (self.model.key_motions(a, k, mask) if motion is None
                else torch.from_numpy(np.asarray(motion, np.float32))[None])
        return self.model.complete(a, k, keys, mask)[0].numpy()

    def generate(self, audio16k: np.ndarray, *, text: str | None = None, language: str | None = None):
        from babelface.media.audio import is_silent
        from babelface.models.protocols import GeneratedMotion
        audio = _check_audio(audio16k)
        t = -(-len(audio) // SAMPLES_PER_FRAME)
        if is_silent(audio):
            return GeneratedMotion(np.zeros((t, self.model.n_points, 3), np.float32))
        key, timeline = self.key_frames(audio, text, language)
        return GeneratedMotion(self._run(audio, key, None), None, timeline)

    def predict_motion(self, audio16k: np.ndarray, *, text: str | None = None,
                       language: str | None = None) -> np.ndarray:
        """Mono 16 kHz speech ``(n,)`` → motion ``(ceil(n / 640), V, 3)`` float32."""
        return self.generate(audio16k, text=text, language=language).motion

    def refine(self, motion: np.ndarray, audio16k: np.ndarray, text: str | None = None,
               language: str | None = None, timeline: list | None = None) -> np.ndarray:
        """Another generator's motion ``(T, V, 3)`` → KMTalk's completion of its key motions
        (supplement §A "Integration with Existing Methods"), ``(T, V, 3)``."""
        audio = _check_audio(audio16k)
        t = -(-len(audio) // SAMPLES_PER_FRAME)
        motion = np.asarray(motion, np.float32)
        if motion.ndim != 3 or motion.shape[1:] != (self.model.n_points, 3):
            raise InputError(f"refine needs motion (T, {self.model.n_points}, 3), got {motion.shape}")
        motion = np.concatenate([motion[:t], np.zeros((max(0, t - len(motion)),) + motion.shape[1:],
                                                      np.float32)])
        key, _ = self.key_frames(audio, text, language, timeline)
        return self._run(audio, key, motion)


def default_weights_path() -> Path:
    return Path(str(resources.files("babelface.assets").joinpath(DEFAULT_WEIGHTS)))


def load_generator(weights: str | Path | None = None) -> KMTalkGenerator:
    """The registry factory: ``weights`` or the shipped default."""
    path = Path(weights) if weights else default_weights_path()
    if weights is None and not path.is_file():
        raise WeightsError("the default KMTalk model is not in this installation: build it with "
                           "`make model-kmtalk`, or give --weights")
    from babelface.threads import pin_torch
    pin_torch()
    return KMTalkGenerator(KMTalk.from_pretrained(path))
