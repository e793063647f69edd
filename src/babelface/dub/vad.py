"""Voice activity: where the original speaker speaks and where they pause.

Silero VAD (Silero Team, https://github.com/snakers4/silero-vad, MIT), v6, 16 kHz. Its pip
package ``silero-vad`` ships the network's weights as ``data/silero_vad_16k.safetensors`` beside a
TorchScript file and a tinygrad definition of the network (``tinygrad_model.py``). babelface
rebuilds that small network in PyTorch (below, layer for layer) and loads the safetensors file:
no TorchScript/pickle, no download, and the package is never imported (its ``model`` module sets
torch's global thread count when imported).

The network reads 512-sample windows (32 ms) with 64 samples of left context and keeps an LSTM
state from window to window; it gives one speech probability per window. Those are turned into
speech segments with silero's own hysteresis rule (``get_speech_timestamps``: speech starts at
p ≥ 0.5, ends after p < 0.35 for at least a minimum pause), dropping segments shorter than
``min_speech`` and padding each by ``pad`` seconds; pauses shorter than ``min_pause`` do not split.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from babelface.constants import SAMPLE_RATE
from babelface.errors import WeightsError

WINDOW = 512                  # samples per VAD decision at 16 kHz (32 ms)
CONTEXT = 64                  # samples of the previous window each decision also sees
ENCODE_BATCH = 2048           # windows through the front-end at once (≈ 65 s of audio)
_N_FFT, _STRIDE = 256, 128    # the network's learned STFT (a 1-D convolution)
_WEIGHTS = "data/silero_vad_16k.safetensors"


@dataclass(frozen=True)
class VadConfig:
    threshold: float = 0.5        # silero's default speech probability
    neg_threshold: float = 0.35   # silero: threshold − 0.15; speech ends below this
    min_pause: float = 0.2        # s: shorter silences do not split a segment
    min_speech: float = 0.25      # s: shorter bursts are not speech (silero's 250 ms)
    pad: float = 0.03             # s: added on each side of a segment (silero's 30 ms)


DEFAULT = VadConfig()


def weights_path() -> Path:
    """The safetensors weights inside the installed ``silero-vad`` package (not imported)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("voice activity detection needs the silero-vad package: "
                           "pip install 'silero-vad==6.2.3'")
    path = Path(list(spec.submodule_search_locations)[0]) / _WEIGHTS
    if not path.is_file():
        raise WeightsError(f"the silero-vad package has no {_WEIGHTS}: reinstall silero-vad==6.2.3")
    return path


def _network():
    import torch
    from torch import nn

    class SileroVad(nn.Module):
        """Silero VAD v6 (16 kHz), as ``silero_vad/tinygrad_model.py`` defines it."""

        def __init__(self) -> None:
            super().__init__()
            self.stft_conv = nn.Conv1d(1, 2 * (_N_FFT // 2 + 1), _N_FFT, stride=_STRIDE, bias=False)
            self.conv1 = nn.Conv1d(_N_FFT // 2 + 1, 128, 3, padding=1)
            self.conv2 = nn.Conv1d(128, 64, 3, stride=2, padding=1)
            self.conv3 = nn.Conv1d(64, 64, 3, stride=2, padding=1)
            self.conv4 = nn.Conv1d(64, 128, 3, padding=1)
            self.lstm_cell = nn.LSTMCell(128, 128)
            self.final_conv = nn.Conv1d(128, 1, 1)

        def encode(self, x: torch.Tensor) -> torch.Tensor:
            """Windows with context ``(N, CONTEXT + WINDOW)`` → features ``(N, 128)`` (no state)."""
            x = nn.functional.pad(x[:, None], (0, CONTEXT), mode="reflect")   # (N, 1, 640)
            x = self.stft_conv(x)                                            # (N, 258, 4)
            cut = _N_FFT // 2 + 1
            x = torch.sqrt(x[:, :cut] ** 2 + x[:, cut:] ** 2)                 # magnitude (N, 129, 4)
            for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
                x = torch.relu(conv(x))                                      # → (N, 128, 1)
            return x[:, :, 0]

        def decode(self, feats: np.ndarray, state=None) -> tuple[torch.Tensor, tuple]:
            """Features ``(N, 128)`` of consecutive windows → probabilities ``(N,)`` and the LSTM
            state after them (carried from window to window, and from ``state``)."""
            h, state = _lstm(feats, self.lstm_cell, state)
            h = torch.relu(torch.from_numpy(h))[:, :, None]                           # (N, 128, 1)
            return torch.sigmoid(self.final_conv(h))[:, 0, 0], state

    return SileroVad


def _lstm(x: np.ndarray, cell, state=None) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The LSTM cell run window after window in NumPy (torch's per-call overhead dominates a
    128-unit step): inputs ``(N, 128)`` → hidden states ``(N, 128)`` and the final ``(h, c)``, from
    ``state`` (the previous block's; zeros at the start); gates in torch's i, f, g, o order."""
    w_hh = cell.weight_hh.detach().numpy().T                                        # (128, 512)
    xi = x @ cell.weight_ih.detach().numpy().T + (cell.bias_ih + cell.bias_hh).detach().numpy()
    if state is None:
        state = (np.zeros(w_hh.shape[0], np.float32), np.zeros(w_hh.shape[0], np.float32))
    h, c = state
    out = np.empty((len(x), len(h)), np.float32)
    for t in range(len(x)):
        i, f, g, o = np.split(xi[t] + h @ w_hh, 4)
        c = c / (1 + np.exp(-f)) + np.tanh(g) / (1 + np.exp(-i))
        h = np.tanh(c) / (1 + np.exp(-o))
        out[t] = h
    return out, (h, c)


@lru_cache(maxsize=1)
def _model():
    from safetensors.torch import load_file
    model = _network()()
    try:
        model.load_state_dict(load_file(str(weights_path())))
    except (RuntimeError, OSError) as e:
        raise WeightsError(f"cannot load the silero-vad weights {weights_path()}: {e}") from e
    return model.eval()


def speech_probabilities(audio16k) -> np.ndarray:
    """Speech probability of each 32 ms window of a mono 16 kHz signal → ``(ceil(n / 512),)``
    (:func:`probability_blocks` joined)."""
    blocks = list(probability_blocks(audio16k))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


def probability_blocks(audio16k):
    """The speech probabilities of :func:`speech_probabilities`, ``ENCODE_BATCH`` windows at a
    time: each block of the signal is read with its ``CONTEXT`` samples before it (zeros before
    the start, as the network's own padding), the LSTM state carried from block to block, so
    memory stays flat with the signal's length. ``audio16k``: an array or anything sliced like one
    (:class:`babelface.disk.DiskSignal`)."""
    import torch
    n = -(-len(audio16k) // WINDOW)
    model = _model()
    state = None
    with torch.inference_mode():
        for w0 in range(0, n, ENCODE_BATCH):
            w1 = min(n, w0 + ENCODE_BATCH)
            a = w0 * WINDOW - CONTEXT                                    # the block with its context
            x = np.asarray(audio16k[max(a, 0):w1 * WINDOW], np.float32)
            x = np.pad(x, (max(-a, 0), (w1 - w0) * WINDOW + CONTEXT - max(-a, 0) - len(x)))
            idx = np.arange(w1 - w0)[:, None] * WINDOW + np.arange(CONTEXT + WINDOW)[None, :]   # (B, 576)
            probs, state = model.decode(model.encode(torch.from_numpy(x[idx])).numpy(), state)
            yield probs.numpy()


def segments_from_probabilities(probs, duration: float,
                                cfg: VadConfig = DEFAULT) -> list[tuple[float, float]]:
    """Hysteresis over window probabilities (an array or an iterable) → speech segments ``[(start_s, end_s)]``, sorted,
    separated by pauses of at least ``cfg.min_pause`` (silero's rule; see the module docstring)."""
    hop = WINDOW / SAMPLE_RATE
    raw: list[list[float]] = []
    start = None
    for i, p in enumerate(probs):
        if start is None and p >= cfg.threshold:
            start = i * hop
        elif start is not None and p < cfg.neg_threshold:
            raw.append([start, i * hop])
            start = None
    if start is not None:
        raw.append([start, duration])
    merged: list[list[float]] = []
    for seg in raw:
        if merged and seg[0] - merged[-1][1] < cfg.min_pause:
            merged[-1][1] = seg[1]
        else:
            merged.append(seg)
    return [(max(0.0, a - cfg.pad), min(duration, b + cfg.pad)) for a, b in merged
            if b - a >= cfg.min_speech]


def speech_segments(audio16k, cfg: VadConfig = DEFAULT) -> list[tuple[float, float]]:
    """Speech segments ``[(start_s, end_s)]`` of a mono 16 kHz signal (an array or a
    :class:`babelface.disk.DiskSignal`, read block by block); ``[]`` when nobody speaks."""
    if len(audio16k) == 0:
        return []
    probs = (p for block in probability_blocks(audio16k) for p in block)
    return segments_from_probabilities(probs, len(audio16k) / SAMPLE_RATE, cfg)
