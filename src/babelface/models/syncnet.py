"""SyncNet (Chung & Zisserman, "Out of time: automated lip sync in the wild", ACCV-W 2016).

The ``S`` model of joonson/syncnet_python, layer for layer, so that its public weights
(``syncnet_v2.model``) load by name; the evaluator behind the LSE-C / LSE-D (Sync-C / Sync-D)
numbers that Wav2Lip, MuEx and most talking-face papers quote. Nothing is downloaded: the user names
the weights file (``--syncnet PATH``), read with ``torch.load(weights_only=True)`` (the only form
the project allows for a non-safetensors file) or as ``.safetensors``.

Front-ends, as the reference computes them:

- **Audio**: mono 16 kHz at int16 scale (the reference reads a ``pcm_s16le`` wav with
  ``scipy.io.wavfile``), MFCC of ``python_speech_features.mfcc`` with its defaults (25 ms
  rectangular window, 10 ms step, pre-emphasis 0.97, 512-point FFT, 26 HTK-mel filters, 13 cepstra,
  lifter 22, c0 replaced by log frame energy); window ``t`` = MFCC frames ``4t … 4t+19``, ``(1, 13, 20)``.
- **Video**: 224×224 BGR face crops, 0-255 floats, 5 consecutive frames per window, ``(3, 5, 224, 224)``.
  Crops follow ``run_pipeline.crop_video``: box half-size ``bs = max(w, h) / 2`` and centre,
  each median-filtered over 13 frames; the frame padded by ``bs·(1 + 2·0.40)`` pixels of value 110;
  rows ``cy − bs … cy + bs·1.8``, columns ``cx ± bs·1.4``; resized to 224×224 (bilinear). The
  reference takes the boxes from S3FD; babelface takes them from the MediaPipe face oval
  (:func:`babelface.face.landmarks.face_box`), the one deliberate difference (docs/metrics.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from babelface.constants import SAMPLE_RATE
from babelface.errors import WeightsError

# python_speech_features.mfcc defaults (the reference calls it with only the sample rate)
MFCC_WINLEN = 400            # 0.025 s at 16 kHz
MFCC_STEP = 160              # 0.01 s
MFCC_NFFT = 512
MFCC_NFILT = 26
MFCC_NUMCEP = 13
MFCC_LIFTER = 22
MFCC_PREEMPH = 0.97
AUDIO_WINDOW = 20            # MFCC frames per window (0.2 s)
AUDIO_STRIDE = 4             # MFCC frames per video frame
VIDEO_WINDOW = 5             # frames per window
INT16_SCALE = 32768.0        # float [-1, 1] → the int16 values the reference reads


@dataclass(frozen=True)
class SyncNetConfig:
    """The reference's settings (syncnet_python ``run_pipeline.py`` / ``SyncNetInstance.py``)."""

    n_embed: int = 1024          # num_layers_in_fc_layers
    crop_scale: float = 0.40     # --crop_scale
    crop_size: int = 224
    pad_value: int = 110         # np.pad(..., constant_values=(110, 110))
    smooth_kernel: int = 13      # signal.medfilt(dets[...], kernel_size=13)
    batch_size: int = 20         # --batch_size


# ---------------------------------------------------------------------------------------------
# audio front-end: python_speech_features.mfcc, ported
# ---------------------------------------------------------------------------------------------

def _hz2mel(hz):
    return 2595 * np.log10(1 + np.asarray(hz, np.float64) / 700.0)


def _mel2hz(mel):
    return 700 * (10 ** (np.asarray(mel, np.float64) / 2595.0) - 1)


def _filterbank(nfilt: int = MFCC_NFILT, nfft: int = MFCC_NFFT, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``get_filterbanks``: ``(nfilt, nfft // 2 + 1)`` triangular HTK-mel filters on floor()ed FFT bins."""
    mel = np.linspace(_hz2mel(0), _hz2mel(sample_rate / 2), nfilt + 2)
    bins = np.floor((nfft + 1) * _mel2hz(mel) / sample_rate)
    fb = np.zeros((nfilt, nfft // 2 + 1))
    for j in range(nfilt):
        for i in range(int(bins[j]), int(bins[j + 1])):
            fb[j, i] = (i - bins[j]) / (bins[j + 1] - bins[j])
        for i in range(int(bins[j + 1]), int(bins[j + 2])):
            fb[j, i] = (bins[j + 2] - i) / (bins[j + 2] - bins[j + 1])
    return fb


def syncnet_mfcc(audio: np.ndarray) -> np.ndarray:
    """``python_speech_features.mfcc(audio, 16000)`` → ``(n_frames, 13)`` float64.

    ``audio``: mono 16 kHz samples at int16 scale (multiply [-1, 1] floats by 32768 first).
    """
    from scipy.fft import dct
    x = np.asarray(audio, np.float64)
    x = np.append(x[0], x[1:] - MFCC_PREEMPH * x[:-1])
    n = 1 if len(x) <= MFCC_WINLEN else 1 + int(np.ceil((len(x) - MFCC_WINLEN) / MFCC_STEP))
    x = np.concatenate([x, np.zeros((n - 1) * MFCC_STEP + MFCC_WINLEN - len(x))])
    idx = np.arange(n)[:, None] * MFCC_STEP + np.arange(MFCC_WINLEN)[None, :]
    pspec = np.abs(np.fft.rfft(x[idx], MFCC_NFFT)) ** 2 / MFCC_NFFT     # (n, 257)
    eps = np.finfo(float).eps
    energy = pspec.sum(axis=1)
    energy = np.where(energy == 0, eps, energy)
    feat = pspec @ _filterbank().T
    feat = np.where(feat == 0, eps, feat)
    cep = dct(np.log(feat), type=2, axis=1, norm="ortho")[:, :MFCC_NUMCEP]
    cep = cep * (1 + (MFCC_LIFTER / 2.0) * np.sin(np.pi * np.arange(MFCC_NUMCEP) / MFCC_LIFTER))
    cep[:, 0] = np.log(energy)
    return cep


def audio_windows(audio: np.ndarray) -> np.ndarray:
    """Float audio [-1, 1] → MFCC windows ``(N, 1, 13, 20)``: window ``t`` = MFCC frames ``4t … 4t+19``."""
    pcm = np.clip(np.round(np.asarray(audio, np.float64) * INT16_SCALE), -32768, 32767)
    cc = syncnet_mfcc(pcm).T                                               # (13, n)
    n = max(0, (cc.shape[1] - AUDIO_WINDOW) // AUDIO_STRIDE + 1)
    win = [cc[:, AUDIO_STRIDE * t:AUDIO_STRIDE * t + AUDIO_WINDOW] for t in range(n)]
    return np.stack(win)[:, None].astype(np.float32) if win else np.zeros((0, 1, 13, 20), np.float32)


# ---------------------------------------------------------------------------------------------
# video front-end: the reference's face crops, from MediaPipe boxes
# ---------------------------------------------------------------------------------------------

def crop_boxes(landmarks: np.ndarray, smooth_kernel: int = 13) -> np.ndarray:
    """Per frame ``(cx, cy, bs)`` from the face-oval boxes, NaN frames interpolated, median-filtered."""
    from scipy.signal import medfilt

    from babelface.face.indices import FACE_OVAL
    oval = np.asarray(landmarks, np.float64)[:, list(FACE_OVAL), :2]           # (T, K, 2)
    x0, y0 = oval[..., 0].min(1), oval[..., 1].min(1)
    x1, y1 = oval[..., 0].max(1), oval[..., 1].max(1)
    dets = np.stack([(x0 + x1) / 2, (y0 + y1) / 2, np.maximum(y1 - y0, x1 - x0) / 2], axis=1)  # (T, 3)
    ok = np.isfinite(dets).all(axis=1)
    if not ok.any():
        raise ValueError("no face in any frame: SyncNet needs face crops")
    t = np.arange(len(dets))
    for k in range(3):                                       # the reference interpolates track gaps
        dets[:, k] = np.interp(t, t[ok], dets[ok, k])
    kernel = min(smooth_kernel, len(dets) - (1 - len(dets) % 2))   # odd, ≤ T (the reference needs T ≥ 100)
    return np.stack([medfilt(dets[:, k], kernel_size=kernel) for k in range(3)], axis=1)


def face_crops(frames: np.ndarray, landmarks: np.ndarray, cfg: SyncNetConfig = SyncNetConfig()) -> np.ndarray:
    """RGB frames ``(T, H, W, 3)`` → BGR 224×224 crops ``(T, 224, 224, 3)`` uint8 (``crop_video``)."""
    import cv2
    boxes = crop_boxes(landmarks, cfg.smooth_kernel)
    out = np.empty((len(frames), cfg.crop_size, cfg.crop_size, 3), np.uint8)
    cs = cfg.crop_scale
    for i, (frame, (cx, cy, bs)) in enumerate(zip(frames, boxes)):
        bsi = int(bs * (1 + 2 * cs))
        padded = np.pad(frame[..., ::-1], ((bsi, bsi), (bsi, bsi), (0, 0)), constant_values=cfg.pad_value)
        my, mx = cy + bsi, cx + bsi
        face = padded[int(my - bs):int(my + bs * (1 + 2 * cs)), int(mx - bs * (1 + cs)):int(mx + bs * (1 + cs))]
        out[i] = cv2.resize(face, (cfg.crop_size, cfg.crop_size))
    return out


# ---------------------------------------------------------------------------------------------
# the network
# ---------------------------------------------------------------------------------------------

def _build_s(n_embed: int = 1024):
    """The ``S`` module of syncnet_python's SyncNetModel.py (state-dict keys identical)."""
    import torch.nn as nn

    class S(nn.Module):
        def __init__(self):
            super().__init__()
            # audio branch: (N, 1, 13, 20) MFCC window → (N, 512, 1, 1)
            self.netcnnaud = nn.Sequential(
                nn.Conv2d(1, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)),
                nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=(1, 1), stride=(1, 1)),
                nn.Conv2d(64, 192, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)),
                nn.BatchNorm2d(192), nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=(3, 3), stride=(1, 2)),
                nn.Conv2d(192, 384, kernel_size=(3, 3), padding=(1, 1)),
                nn.BatchNorm2d(384), nn.ReLU(inplace=True),
                nn.Conv2d(384, 256, kernel_size=(3, 3), padding=(1, 1)),
                nn.BatchNorm2d(256), nn.ReLU(inplace=True),
                nn.Conv2d(256, 256, kernel_size=(3, 3), padding=(1, 1)),
                nn.BatchNorm2d(256), nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=(3, 3), stride=(2, 2)),
                nn.Conv2d(256, 512, kernel_size=(5, 4), padding=(0, 0)),
                nn.BatchNorm2d(512), nn.ReLU(),
            )
            self.netfcaud = nn.Sequential(
                nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, n_embed))
            self.netfclip = nn.Sequential(
                nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, n_embed))
            # video branch: (N, 3, 5, 224, 224) BGR window → (N, 512, 1, 1, 1)
            self.netcnnlip = nn.Sequential(
                nn.Conv3d(3, 96, kernel_size=(5, 7, 7), stride=(1, 2, 2), padding=0),
                nn.BatchNorm3d(96), nn.ReLU(inplace=True),
                nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2)),
                nn.Conv3d(96, 256, kernel_size=(1, 5, 5), stride=(1, 2, 2), padding=(0, 1, 1)),
                nn.BatchNorm3d(256), nn.ReLU(inplace=True),
                nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
                nn.Conv3d(256, 256, kernel_size=(1, 3, 3), padding=(0, 1, 1)),
                nn.BatchNorm3d(256), nn.ReLU(inplace=True),
                nn.Conv3d(256, 256, kernel_size=(1, 3, 3), padding=(0, 1, 1)),
                nn.BatchNorm3d(256), nn.ReLU(inplace=True),
                nn.Conv3d(256, 256, kernel_size=(1, 3, 3), padding=(0, 1, 1)),
                nn.BatchNorm3d(256), nn.ReLU(inplace=True),
                nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2)),
                nn.Conv3d(256, 512, kernel_size=(1, 6, 6), padding=0),
                nn.BatchNorm3d(512), nn.ReLU(inplace=True),
            )

        def forward_aud(self, x):                  # (N, 1, 13, 20) → (N, n_embed)
            return self.netfcaud(self.netcnnaud(x).flatten(1))

        def forward_lip(self, x):                  # (N, 3, 5, 224, 224) → (N, n_embed)
            return self.netfclip(self.netcnnlip(x).flatten(1))

    return S()


def load_syncnet_state(path: str | Path) -> dict:
    """The weights of ``S`` from ``syncnet_v2.model`` (``weights_only=True``) or a ``.safetensors``."""
    import torch
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"SyncNet weights not found at {path}: name syncnet_v2.model (from "
                           "joonson/syncnet_python) or a .safetensors conversion of it")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            state = load_file(str(path))
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:   # a pickle that weights_only refuses, a truncated file, ...
        raise WeightsError(f"cannot read SyncNet weights from {path} ({e.__class__.__name__}): use the "
                           "original syncnet_v2.model or a .safetensors file") from e
    if not isinstance(state, dict):
        raise WeightsError(f"{path} does not hold a state dict of SyncNet's S model")
    return {k.removeprefix("__S__."): v for k, v in state.items()}


class SyncNetEmbedding:
    """The :class:`babelface.metrics.sync.SyncEmbedding` of the public SyncNet (5-frame windows)."""

    name = "SyncNet"
    window = VIDEO_WINDOW
    needs_frames = True

    def __init__(self, weights: str | Path, cfg: SyncNetConfig = SyncNetConfig(), device: str = "cpu"):
        import torch
        self.cfg = cfg
        self.device = device
        self.net = _build_s(cfg.n_embed)
        state = load_syncnet_state(weights)
        own = self.net.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise WeightsError(f"{weights} is not SyncNet's S model: {len(missing)} weights missing "
                               f"(e.g. {missing[:1]}), {len(unexpected)} unexpected (e.g. {unexpected[:1]})")
        bad = [k for k in own if tuple(own[k].shape) != tuple(state[k].shape)]
        if bad:
            raise WeightsError(f"{weights}: wrong shape for {bad[0]}: {tuple(state[bad[0]].shape)} "
                               f"instead of {tuple(own[bad[0]].shape)}")
        self.net.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
        self.net.eval().to(device)

    def _run(self, fn, batches) -> np.ndarray:
        import torch
        out = []
        with torch.inference_mode():
            for b in batches:
                out.append(fn(torch.from_numpy(b).to(self.device)).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.cfg.n_embed), np.float32)

    def embed_audio(self, audio: np.ndarray) -> np.ndarray:
        """Mono 16 kHz float audio → ``(N, 1024)``, row ``t`` = MFCC frames ``4t … 4t+19``."""
        win = audio_windows(audio)                                        # (N, 1, 13, 20)
        bs = self.cfg.batch_size
        return self._run(self.net.forward_aud, (win[s:s + bs] for s in range(0, len(win), bs)))

    def embed_video(self, frames: np.ndarray | None, landmarks: np.ndarray) -> np.ndarray:
        """RGB frames ``(T, H, W, 3)`` + pixel landmarks ``(T, 478, 3)`` → ``(T − 4, 1024)``."""
        if frames is None:
            raise ValueError("SyncNet embeds face crops: the video frames are needed")
        crops = face_crops(frames, landmarks, self.cfg)                   # (T, 224, 224, 3) BGR
        vol = crops.transpose(3, 0, 1, 2).astype(np.float32)              # (3, T, 224, 224)
        n = len(crops) - VIDEO_WINDOW + 1
        bs = self.cfg.batch_size

        def batches():
            for s in range(0, max(n, 0), bs):
                yield np.stack([vol[:, t:t + VIDEO_WINDOW] for t in range(s, min(n, s + bs))])

        return self._run(self.net.forward_lip, batches())
