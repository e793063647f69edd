"""``muex-real``: MuEx with a linear read-out learned from real talking faces (issue 11, part 4).

MuEx learned its motion from the synthetic benchmark, whose ground truth is the project's own
articulation rules; on real people its mouth moves unlike theirs (RESULTS.md "Real clips"). This
read-out is trained on the real corpus's *training* speakers (``make corpus-real``, split
``train``), on the clips whose own audio is in sync with their video (12 clips of 6 speakers,
2,955 frames of MediaPipe motion; the 15 the sync expert reads 2 frames or more off, listed in
``scripts/real_av_offsets.json``, are left out: a lag-0 fit on them learned a blurred response),
and maps, frame by frame,

    x_t = [ pooled log-mel of frame t (4 × 40),  P_g (m_t − m̄) ]          # (160 + K,)
    r_t = s · (((x_t − μ) / σ) W) P_y + m̄                                  # (3L,)
    r̃_t = Σ_j w_j r_{t+j},  w_j ∝ exp(−j² / 2β²), |j| ≤ ⌊4β + ½⌋                # smoothed over time
    g_t = min(1, ‖m_t‖ / m_ref)                                             # MuEx's own activity
    ŷ_t = m_t + g_t (r̃_t − m_t)

where ``m_t`` is MuEx's motion at frame t flattened ``(3L,)``, ``P_g`` the first ``K`` principal
axes of MuEx's motion on the training clips and ``m̄`` its mean, ``P_y`` the first ``K`` principal
axes of the real motion (each clip centred and divided by its own RMS: speaker-normalised
amplitude), ``W`` a ridge regression (penalty chosen on the validation speakers), and ``s`` the
scale that gives the read-out MuEx's RMS on the training clips. The gate ``g_t`` hands the
frame back to MuEx where MuEx's mouth is at rest (``m_ref``: the median of ‖m_t‖ on the training
clips): real speakers' lips stay parted between phrases, and without the gate the read-out kept
them so in every pause (4 of 7 real-speech files had no pause frame at rest); MuEx rests there.
The read-out reads one frame's log-mel at a time, and its prediction jitters from frame to frame
as the spectrum does; ``r_t`` is therefore smoothed by a Gaussian of ``β`` frames (``smoothing``;
session 42: β = 1, i.e. ±4 frames, chosen on the validation speakers; the same fitted weights; TMDC
on the test speakers +0.019 ± 0.009, 13 of 14 clips; its shallow dips at /p b m/ get shallower:
RESULTS.md "muex-real smoothed over time"). The gate
is applied after the smoothing, so MuEx's resting frames stay exactly at rest. Everything else is
per frame with global constants, so :meth:`MuExReal.stream` (which holds back the last
``⌊4β + ½⌋`` frames of each chunk until the next one arrives) equals
:meth:`MuExReal.predict_motion` on the whole utterance (the log-mel is normalised by the
utterance's own statistics, as MuEx's is).

What it buys and costs (RESULTS.md "Real clips: what a model learned from the corpus reaches"):
held-out real speakers move more like real lips (median TMDC, with the median speaker's style:
test 0.26 → 0.31, validation 0.08 → 0.25), while the synthetic benchmark's scores fall far (LSE-D
about 2×: 0.015 → 0.032): it is the real speakers' average articulation, not the articulation rules the
synthetic ground truth is drawn with. So MuEx stays the default; ``--model muex-real`` is the
choice for real recorded speech. The read-out is tied to the MuEx it was fitted on (its sha256 is
in the file and checked at load).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from babelface.errors import WeightsError

MODEL_NAME = "real_readout"
DEFAULT_WEIGHTS = "muex_real_readout.safetensors"       # in babelface/assets
COMPONENTS = 12              # K: principal axes of MuEx's motion (inputs) and of the real motion (outputs)
PENALTY = 3e4                # ridge penalty, chosen on the validation speakers (3e3 … 3e5)
SMOOTHING = 1.0              # σ in frames of the Gaussian over the prediction, chosen on the validation
                             # speakers (0, 0.5, 1, 1.5, 2; session 42); a file without it reads as 0
ADAPT_PENALTY = 100.0        # pull toward the fitted W when adapted to one speaker (chosen on validation)
MIN_ADAPT_FRAMES = 125       # 5 s of the speaker's face and speech, the least worth adapting to
N_MELS = 80                  # the log-mel MuEx reads (E.5), pooled in pairs to 40 bands
POOLED = 4 * N_MELS // 2     # per video frame: its four 10 ms frames × 40 bands = 160


def pool_mel(mel: np.ndarray, n_frames: int) -> np.ndarray:
    """Normalised log-mel ``(4 T, 80)`` → ``(T, 160)``: adjacent bands averaged, a frame's four
    10 ms frames side by side."""
    return mel.reshape(n_frames, 4, N_MELS // 2, 2).mean(3).reshape(n_frames, POOLED).astype(np.float32)


def frame_features(audio16k: np.ndarray, n_frames: int) -> np.ndarray:
    """The read-out's audio input for the whole utterance: ``(T, 160)``."""
    from babelface.media.features import mel_features
    return pool_mel(mel_features(audio16k, n_frames, N_MELS), n_frames)


def _flat(motion: np.ndarray) -> np.ndarray:
    return motion.reshape(len(motion), -1).astype(np.float64)           # (T, 3L)


def normalised(motion: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Motion ``(T, L, 3)`` centred on its mean over ``ok`` frames and divided by its RMS: ``(T, 3L)``."""
    f = _flat(motion)
    f = f - f[ok].mean(0)
    return f / (np.sqrt((f[ok] ** 2).sum(1).mean()) + 1e-12)


def _correlate(ext: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """``out_t = Σ_j w_j ext_{t+j}`` for ``t < n`` over frames ``ext (n + 2r, D)``, the taps added
    in one fixed order, so a frame's value does not depend on how the frames were chunked."""
    out = ext[:n] * w[0]
    for j in range(1, len(w)):
        out += ext[j:j + n] * w[j]
    return out


def smooth_frames(y: np.ndarray, sigma: float) -> np.ndarray:
    """``y (T, D)`` smoothed over time by a Gaussian of ``sigma`` frames, each end extended by its
    own frame (scipy's ``mode="nearest"``); ``sigma <= 0``: ``y`` itself."""
    if sigma <= 0 or not len(y):
        return y
    from babelface.motion.filters1d import gaussian_weights
    w, radius = gaussian_weights(sigma)
    return _correlate(np.pad(y, ((radius, radius), (0, 0)), mode="edge"), w, len(y))


def _sha256(path: str | Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@dataclass
class Readout:
    """The fitted read-out (shapes for ``K`` components, ``D = 160 + K`` inputs, ``3L`` outputs)."""

    motion_mean: np.ndarray      # (3L,)  m̄, MuEx's mean motion on the training clips
    motion_axes: np.ndarray      # (K, 3L) P_g
    input_mean: np.ndarray       # (D,)   μ
    input_std: np.ndarray        # (D,)   σ
    weights: np.ndarray          # (D, K) W
    real_axes: np.ndarray        # (K, 3L) P_y
    scale: float                 # s
    rest_norm: float = 0.0       # m_ref: MuEx's motion norm at full activity (0: no gate)
    muex_sha256: str = ""        # the MuEx whose motion it reads
    smoothing: float = 0.0       # σ (frames) of the Gaussian over the prediction r (0: none)

    def inputs(self, mel: np.ndarray, motion: np.ndarray) -> np.ndarray:
        """``(T, 160)`` and MuEx's ``(T, L, 3)`` → standardised inputs ``(T, D)``."""
        x = np.concatenate([mel, (_flat(motion) - self.motion_mean) @ self.motion_axes.T], 1)
        return (x - self.input_mean) / self.input_std

    def predict(self, mel: np.ndarray, motion: np.ndarray) -> np.ndarray:
        """The read-out's own prediction ``r (T, 3L)``, frame by frame: neither smoothed nor gated."""
        return self.inputs(mel, motion) @ self.weights @ self.real_axes * self.scale + self.motion_mean

    def gated(self, r: np.ndarray, motion: np.ndarray) -> np.ndarray:
        """``(T, L, 3)`` float32: the prediction ``r (T, 3L)`` where MuEx's motion ``(T, L, 3)`` is
        active, MuEx's own where it rests (a pause)."""
        if self.rest_norm > 0:
            m = _flat(motion)
            gate = np.minimum(np.linalg.norm(m, axis=1) / self.rest_norm, 1.0)[:, None]   # (T, 1)
            r = m + gate * (r - m)
        return r.reshape(motion.shape).astype(np.float32)

    def apply(self, mel: np.ndarray, motion: np.ndarray) -> np.ndarray:
        """The read-out's motion ``(T, L, 3)`` float32 for the pooled log-mel and MuEx's motion
        of a whole utterance: predicted, smoothed over time, gated."""
        return self.gated(smooth_frames(self.predict(mel, motion), self.smoothing), motion)

    def streamer(self) -> "SmoothedStream":
        """:meth:`apply` chunk by chunk (:class:`SmoothedStream`)."""
        return SmoothedStream(self)

    def adapted(self, mel: np.ndarray, motion: np.ndarray, real: np.ndarray, ok: np.ndarray,
                penalty: float = ADAPT_PENALTY) -> "Readout":
        """This read-out refitted to one speaker: ridge regression toward ``W`` (the prior),

            W' = W + (XᵀX + λI)⁻¹ Xᵀ (ρ Y − X W)

        with ``X`` the standardised inputs :meth:`inputs` of the speaker's own speech (pooled
        log-mel ``(T, 160)``, MuEx's motion ``(T, L, 3)``), ``Y`` their real motion ``(T, L, 3)``
        (MediaPipe, from their neutral) centred, divided by its RMS and projected on ``P_y`` as in
        :func:`fit`, ``ρ`` the amplitude of the prior's own prediction on those frames (so the
        scale ``s`` keeps its meaning) and ``λ`` = ``penalty``: a few seconds move ``W`` a little,
        minutes move it to the speaker. Only the ``ok`` frames ``(T,)`` are used (a tracked face);
        fewer than :data:`MIN_ADAPT_FRAMES` raise ``ValueError``. Everything else (axes, means,
        scale, gate) is kept, so the result streams like this one."""
        ok = np.asarray(ok, bool) & np.isfinite(_flat(real)).all(1)
        if ok.sum() < MIN_ADAPT_FRAMES:
            raise ValueError(f"{int(ok.sum())} frames of the speaker's face and speech; adapting "
                             f"needs at least {MIN_ADAPT_FRAMES}")
        x = self.inputs(mel[ok], motion[ok])                                     # (N, D)
        y = normalised(real, ok)[ok] @ self.real_axes.T                         # (N, K)
        prior = x @ self.weights                                                 # (N, K)
        rho = np.sqrt((prior ** 2).sum(1).mean() / max((y ** 2).sum(1).mean(), 1e-24))
        delta = np.linalg.solve(x.T @ x + penalty * np.eye(x.shape[1]), x.T @ (rho * y - prior))
        from dataclasses import replace
        return replace(self, weights=self.weights + delta)

    # --- the file ------------------------------------------------------------------------------
    def save(self, path: str | Path, **extra) -> Path:
        """One safetensors file (atomic), the MuEx hash and ``extra`` in its header."""
        import torch

        from babelface.models.checkpoint import make_header, write_checkpoint
        tensors = {k: torch.from_numpy(np.ascontiguousarray(getattr(self, k), np.float32))
                   for k in ("motion_mean", "motion_axes", "input_mean", "input_std", "weights", "real_axes")}
        header = make_header(MODEL_NAME, {"components": int(self.weights.shape[1]), "scale": float(self.scale),
                                          "rest_norm": float(self.rest_norm), "muex_sha256": self.muex_sha256,
                                          "smoothing": float(self.smoothing)},
                             **extra)
        return write_checkpoint(path, tensors, header)

    @classmethod
    def load(cls, path: str | Path) -> "Readout":
        from babelface.models.checkpoint import read_checkpoint
        header, t = read_checkpoint(path, MODEL_NAME, "real read-out")
        cfg = header["config"]
        try:
            arrays = {k: t[k].double().numpy() for k in ("motion_mean", "motion_axes", "input_mean",
                                                          "input_std", "weights", "real_axes")}
        except KeyError as e:
            raise WeightsError(f"{path} is not a complete real read-out: {e.args[0]} is missing") from e
        try:
            smoothing = float(cfg.get("smoothing", 0.0))
        except (TypeError, ValueError):
            smoothing = float("nan")
        if not np.isfinite(smoothing) or not 0.0 <= smoothing <= 25.0:
            raise WeightsError(f"{path}: smoothing {cfg.get('smoothing')!r} is not a Gaussian's width in "
                               "frames between 0 and 25")
        return cls(**arrays, scale=float(cfg["scale"]), rest_norm=float(cfg.get("rest_norm", 0.0)),
                   muex_sha256=str(cfg.get("muex_sha256", "")), smoothing=smoothing)


class SmoothedStream:
    """:meth:`Readout.apply` over consecutive chunks of one utterance: each :meth:`feed` of a
    chunk's pooled log-mel ``(t, 160)`` and MuEx motion ``(t, L, 3)`` returns the frames whose
    smoothing window is complete (all but the last ``r = ⌊4σ + ½⌋`` frames seen, which wait for the
    next chunk), :meth:`close` the rest. The frames equal :meth:`Readout.apply` on the whole
    utterance: the same taps in the same order over the same extended frames."""

    def __init__(self, readout: Readout):
        from babelface.motion.filters1d import gaussian_weights
        self.readout = readout
        self.weights, self.radius = gaussian_weights(readout.smoothing) if readout.smoothing > 0 else (None, 0)
        self._ext: np.ndarray | None = None     # (r + pending, 3L) predictions: r of context, then pending
        self._motion: list[np.ndarray] = []     # MuEx's motion of the pending frames

    def _emit(self, n: int) -> np.ndarray:
        """The next ``n`` pending frames, gated; the window moves on by ``n``."""
        motion = np.concatenate(self._motion)                                   # (pending, L, 3)
        out = self.readout.gated(_correlate(self._ext, self.weights, n), motion[:n])
        self._ext, self._motion = self._ext[n:], [motion[n:]]
        return out

    def feed(self, mel: np.ndarray, motion: np.ndarray) -> np.ndarray:
        if self.radius == 0:
            return self.readout.apply(mel, motion)
        r = self.readout.predict(mel, motion)                                     # (t, 3L)
        if not len(r):
            return np.zeros(motion.shape, np.float32)
        if self._ext is None:                                                     # the start: its own frame
            self._ext = np.repeat(r[:1], self.radius, axis=0)
        self._ext = np.concatenate([self._ext, r])
        self._motion.append(np.asarray(motion))
        ready = len(self._ext) - 2 * self.radius
        if ready <= 0:
            return np.zeros((0,) + motion.shape[1:], np.float32)
        return self._emit(ready)

    def close(self) -> np.ndarray | None:
        """The held-back frames (the end extended by its own last frame), or None if there are none."""
        if self.radius == 0 or self._ext is None:
            return None
        pending = len(self._ext) - self.radius
        if pending <= 0:
            return None
        self._ext = np.concatenate([self._ext, np.repeat(self._ext[-1:], self.radius, axis=0)])
        return self._emit(pending)


@dataclass
class Clip:
    """One training clip: pooled log-mel ``(T, 160)``, MuEx's and the real motion ``(T, L, 3)``,
    the frames with a tracked face ``(T,)``."""

    mel: np.ndarray
    muex: np.ndarray
    real: np.ndarray
    ok: np.ndarray


def fit(clips: Iterable[Clip], components: int = COMPONENTS, penalty: float = PENALTY,
        muex_sha256: str = "", gate: bool = True, smoothing: float = 0.0) -> Readout:
    """The read-out by closed-form ridge regression over the clips' tracked frames (deterministic);
    ``gate``: hand MuEx's resting frames back to MuEx (``rest_norm``: the median norm of its motion);
    ``smoothing``: σ (frames) of the Gaussian :meth:`Readout.apply` runs over the prediction (the fit
    itself is frame by frame; `make model-readout` passes :data:`SMOOTHING`)."""
    clips = [c for c in clips if c.ok.any()]
    if not clips:
        raise ValueError("no training clip with a tracked face")
    y = np.concatenate([normalised(c.real, c.ok)[c.ok] for c in clips])                 # (N, 3L)
    g = np.concatenate([_flat(c.muex)[c.ok] for c in clips])                             # (N, 3L)
    mean = g.mean(0)
    real_axes = np.linalg.svd(y - y.mean(0), full_matrices=False)[2][:components]        # (K, 3L)
    motion_axes = np.linalg.svd(g - mean, full_matrices=False)[2][:components]           # (K, 3L)
    x = np.concatenate([np.concatenate([c.mel[c.ok], (_flat(c.muex)[c.ok] - mean) @ motion_axes.T], 1)
                        for c in clips])                                                 # (N, D)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    xs = (x - mu) / sd
    w = np.linalg.solve(xs.T @ xs + penalty * np.eye(xs.shape[1]), xs.T @ (y @ real_axes.T))   # (D, K)
    pred = xs @ w @ real_axes
    scale = float(np.sqrt(((g - mean) ** 2).sum(1).mean()) / (np.sqrt((pred ** 2).sum(1).mean()) + 1e-12))
    rest_norm = float(np.median(np.linalg.norm(g, axis=1))) if gate else 0.0
    return Readout(mean, motion_axes, mu, sd, w, real_axes, scale, rest_norm, muex_sha256, float(smoothing))


def default_weights_path() -> Path:
    from importlib import resources
    return Path(str(resources.files("babelface.assets").joinpath(DEFAULT_WEIGHTS)))


class MuExReal:
    """The ``muex-real`` generator: MuEx's motion, read out as the real speakers move."""

    name = "muex-real"
    needs_text = False

    def __init__(self, muex, readout: Readout):
        self.muex, self.readout = muex, readout

    def predict_motion(self, audio16k: np.ndarray, *, text: str | None = None,
                       language: str | None = None) -> np.ndarray:
        """Mono 16 kHz speech ``(n,)`` → motion ``(ceil(n / 640), L, 3)`` float32; silence: the rest pose."""
        from babelface.media.audio import is_silent
        from babelface.models.protocols import check_speech
        audio, t = check_speech(audio16k)
        motion = self.muex.predict_motion(audio)                                        # (T, L, 3)
        if is_silent(audio):
            return motion
        return self.readout.apply(frame_features(audio, t), motion)

    def stream(self, read, n_samples: int) -> Iterator[np.ndarray]:
        """Motion chunks for spooled speech: MuEx's windows, each read out with the utterance's
        own log-mel statistics (the same frames as :meth:`predict_motion`, to float rounding)."""
        from babelface.constants import SAMPLES_PER_FRAME
        from babelface.models.streaming import WINDOW_FRAMES, mel_statistics, window_features
        if -(-n_samples // SAMPLES_PER_FRAME) <= WINDOW_FRAMES:     # one window: the whole utterance
            yield self.predict_motion(read(0, n_samples))
            return
        stats = None
        a = 0
        smoothed = self.readout.streamer()
        for chunk in self.muex.stream(read, n_samples):                                 # (t, L, 3)
            if stats is None:
                stats = mel_statistics(read, n_samples, N_MELS)
            b = a + len(chunk)
            mel = pool_mel(window_features(read, n_samples, a, b, stats, N_MELS), b - a)
            out = smoothed.feed(mel, chunk)
            if len(out):
                yield out
            a = b
        rest = smoothed.close()
        if rest is not None:
            yield rest


def load(weights: str | Path | None = None, muex_weights: str | Path | None = None) -> MuExReal:
    """The read-out at ``weights`` (default: the shipped one) over the MuEx it was fitted on
    (default: the shipped MuEx); a MuEx of another hash is refused (:class:`WeightsError`)."""
    from babelface.models import muex
    path = Path(weights) if weights else default_weights_path()
    if not path.is_file():
        raise WeightsError(f"no real read-out at {path}: build it with `make model-readout` "
                           "(after `make corpus-real`), or use --model muex")
    readout = Readout.load(path)
    muex_path = Path(muex_weights) if muex_weights else muex.default_weights_path()
    if readout.muex_sha256 and muex_path.is_file() and _sha256(muex_path) != readout.muex_sha256:
        raise WeightsError(f"{path} was fitted on another MuEx (sha256 {readout.muex_sha256[:12]}…) than "
                           f"{muex_path}: refit it with `make model-readout`")
    return MuExReal(muex.load_model(muex_path), readout)


def generator(weights: str | Path | None = None) -> MuExReal:
    """The ``muex-real`` entry of :data:`babelface.models.protocols.GENERATORS` (``weights``: the read-out's)."""
    return load(weights)
