"""MuEx: Multilingual Experts (the babelface reading of ``papers/000``, §3 and App. B–E).

    speech ─► AudioEncoder ─► h ─┬──────────────► PG-MoE (top-S of M experts) ─► MotionDecoder ─► motion
                                 └► z^p ─► phoneme prototypes ─► v (eq. 3) ─┘   (routing, eq. 4, 14–16)
    motion ─► VisemeEncoder ─► z^v ─► viseme prototypes            (training only)
    PV-Align: −I_JS(q^p, q^v) + λ_neg I_JS(z^p, z^v)               (eq. 1–2, the critic in mi.py)

    L = L_align + L_router + λ_var L_var + λ_task L_gen                        (eq. 5, 11)
    L_gen = λ1 ‖M̂ − M‖₁ + λ_t ‖∇_t M̂ − ∇_t M‖₁                              (eq. 6 in motion space)

The paper generates pixels; babelface generates motion ``(T, L = 111, 3)`` (canonical frame,
inter-ocular units, displacement from the neutral face) and renders it separately, so eq. 6 keeps
its L1 and temporal-difference terms on motion and drops the VGG perceptual term, which belongs to
a pixel renderer. The MI discriminators (ψ) are a separate module (:class:`~babelface.models.mi.PVAlign`)
owned by the trainer: they are trained in their own alternating step (C.6) and are not needed at
inference. The audio-only model needs no language label and no transcript.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import nn

from babelface.errors import WeightsError
from babelface.face.indices import LIP_CORNER_OUTER, LIP_INNER_CENTRAL, N_MOTION, motion_slot
from babelface.models import checkpoint
from babelface.models.audio_encoder import AudioEncoder, AudioEncoderConfig, AudioFrontEndMixin
from babelface.models.checkpoint import CheckpointMixin
from babelface.models.decoder import DecoderConfig, MotionDecoder
from babelface.models.mi import MIConfig
from babelface.models.prototypes import PrototypeConfig, Prototypes
from babelface.models.router import Expert, PGMoE, RouterConfig, RouterOutput, anneal
from babelface.models.viseme_encoder import VisemeEncoder, VisemeEncoderConfig

TRAINING_ONLY = ("viseme_encoder.", "proto_v.", "viseme_head.")     # not needed for audio → motion
DEFAULT_WEIGHTS = "muex_default.safetensors"        # in babelface/assets


@dataclass
class MuExConfig:
    d_z: int = 64                    # dimension of z^p and z^v (not given by the paper)
    audio: AudioEncoderConfig = field(default_factory=AudioEncoderConfig)
    viseme: VisemeEncoderConfig = field(default_factory=VisemeEncoderConfig)
    prototypes: PrototypeConfig = field(default_factory=PrototypeConfig)
    mi: MIConfig = field(default_factory=MIConfig)
    router: RouterConfig = field(default_factory=RouterConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    use_moe: bool = True             # Table 3: False is the baseline without PG-MoE (one dense FFN)
    use_pv_align: bool = True        # Table 3: False is PG-MoE without PV-Align
    lambda_task: float = 1.0         # eq. 5, E.3
    lambda_l1: float = 1.0           # eq. 6 λ1, E.3
    lambda_t: float = 0.1            # eq. 6 λ_t, E.3
    lambda_shape: float = 0.0        # ours: L1 on the inner-lip gap and mouth width (mouth_shape_loss); 0 = eq. 6 alone
    shape_quantile: float = 0.5      # ours: the gap's term as a pinball loss at this quantile (0.5: the L1); < 0.5 shuts when unsure
    lambda_viseme: float = 0.0       # ours: cross-entropy of a linear viseme head on h (training only; 0 = none)
    n_visemes: int = 15              # the benchmark's viseme classes (data.groundtruth.viseme_names)


@dataclass
class MuExOutput:
    motion: torch.Tensor             # (b, t, L, 3) predicted motion, inter-ocular units
    h: torch.Tensor                  # (b, t, d) content features
    z_p: torch.Tensor                # (b, t, d_z) phoneme features (unit norm)
    v: torch.Tensor | None           # (b, t, k) pseudo-phoneme labels, eq. 3
    router: RouterOutput | None      # routing over the real frames
    z_v: torch.Tensor | None = None  # (b, t, d_z) viseme features (training, with motion)
    q_p: torch.Tensor | None = None  # (b, t, k) phoneme codes, one-hot (straight-through)
    q_v: torch.Tensor | None = None  # (b, t, k) viseme codes


@dataclass
class Losses:
    total: torch.Tensor
    gen: torch.Tensor
    l1: torch.Tensor
    temporal: torch.Tensor
    router: torch.Tensor
    var: torch.Tensor
    align: torch.Tensor

    def scalars(self) -> dict[str, float]:
        return {k: float(v.detach()) for k, v in vars(self).items()}


def generation_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None,
                    scale: torch.Tensor | float, lambda_l1: float, lambda_t: float
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. 6 in motion space: (λ1 L1 + λ_t temporal-difference L1, L1, temporal L1).

    ``pred``, ``target`` ``(b, t, L, 3)``; errors are divided by the motion ``scale`` and averaged
    over real frames (and real consecutive pairs for ``∇_t``), points and coordinates.
    """
    err = (pred - target).abs() / scale                                    # (b, t, L, 3)
    d_pred, d_true = pred[:, 1:] - pred[:, :-1], target[:, 1:] - target[:, :-1]
    err_t = (d_pred - d_true).abs() / scale                                # (b, t-1, L, 3)
    if mask is None:
        l1, lt = err.mean(), err_t.mean() if err_t.numel() else err.sum() * 0
    else:
        m = mask.to(err.dtype)
        m_t = m[:, 1:] * m[:, :-1]
        per = err[0, 0].numel()
        l1 = (err.sum((2, 3)) * m).sum() / (m.sum() * per).clamp_min(1)
        lt = (err_t.sum((2, 3)) * m_t).sum() / (m_t.sum() * per).clamp_min(1)
    return lambda_l1 * l1 + lambda_t * lt, l1, lt


# The mouth's two shape measures in motion slots: the inner-lip gap (upper minus lower inner lip,
# three pairs across the mouth) and the width (the outer corners). Both are differences of
# displacements, so they carry no identity: the speaker's own gap and width are in the neutral face.
_GAP_UPPER = motion_slot(LIP_INNER_CENTRAL[:3]).tolist()          # 82, 13, 312
_GAP_LOWER = motion_slot(LIP_INNER_CENTRAL[3:]).tolist()          # 87, 14, 317: each below its upper
_CORNERS = motion_slot(LIP_CORNER_OUTER).tolist()                 # 61, 291


def mouth_shape(motion: torch.Tensor) -> torch.Tensor:
    """Motion ``(b, t, L, 3)`` → ``(b, t, 4)``: the change of the inner-lip gap at three points
    across the mouth (y: upper minus lower, in the canonical frame's y-down) and of the mouth's
    width (x between the outer corners), in the motion's units."""
    gap = motion[:, :, _GAP_LOWER, 1] - motion[:, :, _GAP_UPPER, 1]                 # (b, t, 3)
    width = motion[:, :, _CORNERS[1], 0] - motion[:, :, _CORNERS[0], 0]              # (b, t)
    return torch.cat([gap, width[..., None]], -1)


def mouth_shape_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None,
                     scale: torch.Tensor | float, quantile: float = 0.5) -> torch.Tensor:
    """L1 on :func:`mouth_shape` (ours, not the paper's): eq. 6's L1 averages 333 coordinates,
    in which a bilabial closure (two inner lips meeting for two or three frames) or a spread is a
    few of them, so a model that keeps the jaw right can leave the lips apart at /p b m/ and
    still score well (RESULTS.md, "MuEx with the mouth-shape term (session 37)": session 24's model's
    gap at /p b m/ was that of the vowels, the ground truth's zero). This term weighs the gap and the width as much as
    the rest of the mouth together.

    ``quantile`` q makes the gap's part a pinball loss, 2·max(q·e, (q − 1)·e) with e = target − pred
    (q = 0.5: the L1). An L1 predicts the median of the gaps the audio leaves possible; where the
    sound does not say whether the lips are shut (/b/ against /d g/, /m/ against /n/) most of those
    are open, and the lips stay apart at /p b m/. With q < 0.5 the model predicts the q-th quantile
    instead: it shuts the lips where a closure is among the likely mouths. The width keeps its L1."""
    e = (mouth_shape(target) - mouth_shape(pred)) / scale                               # (b, t, 4)
    err = e.abs()
    if quantile != 0.5:
        pin = 2 * torch.maximum(quantile * e[..., :3], (quantile - 1) * e[..., :3])     # (b, t, 3)
        err = torch.cat([pin, err[..., 3:]], -1)
    if mask is None:
        return err.mean()
    m = mask.to(err.dtype)
    return (err.sum(-1) * m).sum() / (m.sum() * err.shape[-1]).clamp_min(1)


class MuEx(AudioFrontEndMixin, CheckpointMixin, nn.Module):
    """Speech → motion. ``forward`` on a batch; :meth:`predict_motion` on raw 16 kHz audio.

    A :class:`~babelface.models.protocols.MotionGenerator` (``name`` "muex", audio only) with
    windowed streaming (:meth:`stream`); checkpoints through :class:`CheckpointMixin`."""

    name = model_name = "muex"
    label = "MuEx"
    needs_text = False
    config_class = MuExConfig
    training_only = TRAINING_ONLY

    def __init__(self, cfg: MuExConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.audio.d_model
        k = cfg.prototypes.k
        self.audio_encoder = AudioEncoder(cfg.audio, cfg.d_z)
        if cfg.use_moe or cfg.use_pv_align:
            self.proto_p = Prototypes(k, cfg.d_z, cfg.prototypes)
        if cfg.use_pv_align:
            self.viseme_encoder = VisemeEncoder(cfg.viseme, cfg.d_z)
            self.proto_v = Prototypes(k, cfg.d_z, cfg.prototypes)
        if cfg.use_moe:
            self.moe = PGMoE(d, k, cfg.router)
        else:
            self.ffn = Expert(d, cfg.router.expert_hidden, cfg.router.dropout)
        self.decoder = MotionDecoder(d, cfg.decoder, N_MOTION)
        if cfg.lambda_viseme:
            self.viseme_head = nn.Linear(d, cfg.n_visemes)
        self.register_buffer("motion_scale", torch.ones(()))     # RMS of the training motion
        self.register_buffer("step", torch.zeros((), dtype=torch.long))   # training steps done
        self._init_frontend()                                     # wav2vec: kept out of the state dict

    # --- schedules and front-ends ---------------------------------------------------------------
    def temperatures(self, step: int | None = None) -> tuple[float, float]:
        """(τ_r, τ_s) at ``step`` (default: the steps trained so far), eq. 16."""
        r = self.cfg.router
        s = int(self.step) if step is None else step
        return (anneal(s, r.tau_r_init, r.tau_r_final, r.anneal_steps),
                anneal(s, r.tau_s_init, r.tau_s_final, r.anneal_steps))

    # --- the model ------------------------------------------------------------------------------
    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None,
                motion: torch.Tensor | None = None, step: int | None = None) -> MuExOutput:
        """``features`` ``(b, f t, c)``; ``mask`` ``(b, t)``; ``motion`` ``(b, t, L, 3)`` (training)."""
        cfg = self.cfg
        h, z_p = self.audio_encoder(features, mask)                           # (b, t, d), (b, t, d_z)
        v, routing = None, None
        if cfg.use_moe or cfg.use_pv_align:
            v = self.proto_p.soft(z_p)                                         # eq. 3 (b, t, k)
        if cfg.use_moe:
            tau_r, tau_s = self.temperatures(step)
            y, routing = self.moe(h, v, mask, tau_r, tau_s)
        else:
            y = self.ffn(h)
        out = MuExOutput(self.decoder(h + y, mask, self.motion_scale), h, z_p, v, routing)
        if motion is not None and cfg.use_pv_align:
            out.z_v = self.viseme_encoder(motion, mask, self.motion_scale)
            out.q_p = self.proto_p.one_hot(z_p)
            out.q_v = self.proto_v.one_hot(out.z_v)
        return out

    def loss(self, out: MuExOutput, motion: torch.Tensor, mask: torch.Tensor | None,
             align: torch.Tensor | None = None) -> Losses:
        """Eq. 5: ``L = L_align + L_router + λ_var L_var + λ_task L_gen``."""
        cfg = self.cfg
        gen, l1, lt = generation_loss(out.motion, motion, mask, self.motion_scale,
                                      cfg.lambda_l1, cfg.lambda_t)
        if cfg.lambda_shape:
            gen = gen + cfg.lambda_shape * mouth_shape_loss(out.motion, motion, mask, self.motion_scale,
                                                            cfg.shape_quantile)
        zero = gen.new_zeros(())
        router = out.router.loss if out.router is not None else zero
        var = zero
        if cfg.use_moe or cfg.use_pv_align:
            var = self.proto_p.variance_loss()
            if cfg.use_pv_align:
                var = var + self.proto_v.variance_loss()
        align = align if align is not None else zero
        total = align + router + cfg.prototypes.lambda_var * var + cfg.lambda_task * gen
        return Losses(total, gen, l1, lt, router, var, align)

    def viseme_loss(self, out: MuExOutput, viseme: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Ours, not the paper's: cross-entropy of the frame's viseme class (``viseme`` ``(b, t)``,
        −1 unknown: real video has none) from the content features ``h``. PV-Align (eq. 1–2) asks the
        phoneme features to agree with the motion's without labels; this asks ``h`` outright which
        viseme the frame is, where the synthetic corpus knows it, so /p b m/ (lips shut) and /t d n/
        or /k g/ (lips apart), whose audio differs in formant transitions only, stay apart in ``h``.
        Zero when no frame is labelled."""
        labels = viseme.clone()
        if mask is not None:
            labels[~mask] = -1
        logits = self.viseme_head(out.h)                                       # (b, t, n_visemes)
        if not (labels >= 0).any():
            return logits.sum() * 0
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                           ignore_index=-1)

    def prototypes(self) -> list[Prototypes]:
        return [m for m in (getattr(self, "proto_p", None), getattr(self, "proto_v", None)) if m is not None]

    @torch.no_grad()
    def set_motion_scale(self, scale: float) -> None:
        if not scale > 0 or not math.isfinite(scale):
            raise ValueError(f"motion scale must be positive and finite, got {scale}")
        self.motion_scale.fill_(scale)

    def n_parameters(self, inference_only: bool = True) -> int:
        return sum(p.numel() for n, p in self.named_parameters()
                   if not (inference_only and n.startswith(TRAINING_ONLY)))

    # --- inference ------------------------------------------------------------------------------
    @torch.inference_mode()
    def predict_motion(self, audio16k: np.ndarray, *, text: str | None = None,
                       language: str | None = None) -> np.ndarray:
        """Mono 16 kHz speech ``(n,)`` → motion ``(T, 111, 3)`` float32, ``T = ceil(n / 640)``.

        Audio only: ``text`` and ``language`` are ignored (the generator protocol's). Audio that is silent as a whole (RMS below
        ``babelface.media.is_silent``, −60 dBFS) gives the rest pose (zero motion): per-utterance normalisation
        (E.5) would otherwise stretch its noise floor to the scale of speech.
        """
        from babelface.media.audio import is_silent
        from babelface.models.protocols import check_speech
        audio, t = check_speech(audio16k)
        if is_silent(audio):
            return np.zeros((t, N_MOTION, 3), np.float32)                    # (T, L, 3): at rest
        feats = self.features_of(audio, t)
        was_training = self.training
        self.eval()
        try:
            motion = self(feats).motion[0]
        finally:
            self.train(was_training)
        return motion.float().cpu().numpy()

    # --- streaming ----------------------------------------------------------------------------
    def stream(self, read, n_samples: int):
        """Motion chunks for spooled speech, window by window (:mod:`babelface.models.streaming`)."""
        from babelface.models.streaming import stream_motion
        return stream_motion(self, read, n_samples)


def read_checkpoint(path: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(JSON header, tensors) of a MuEx checkpoint (:func:`babelface.models.checkpoint.read_checkpoint`)."""
    return checkpoint.read_checkpoint(path, MuEx.model_name, MuEx.label)


def default_weights_path() -> Path:
    return Path(str(resources.files("babelface.assets").joinpath(DEFAULT_WEIGHTS)))


def load_model(path: str | Path, device: str | torch.device = "cpu") -> MuEx:
    """A MuEx model from a checkpoint file (``babelface animate --model``)."""
    return MuEx.from_pretrained(path, device)


def load_default(device: str | torch.device = "cpu") -> MuEx:
    """The audio-only model shipped in the package."""
    path = default_weights_path()
    if not path.is_file():
        raise WeightsError("the default MuEx model is not in this installation: build it with "
                           "`make model`, or pass --model CHECKPOINT, or give --text and --lang")
    return load_model(path, device)


def generator(weights: str | Path | None = None) -> MuEx:
    """The ``muex`` entry of :data:`babelface.models.protocols.GENERATORS`: ``weights`` or the shipped model."""
    return load_model(weights) if weights else load_default()
