"""Speech → head motion, blinks, gaze and brows: a small prosody-driven stochastic model (issue 14).

For each pose channel (yaw, pitch, roll, tx, ty) and the brow:

    x_t = Σ_k h[k] · accent_{t-k} + Σ_k g[k] · boundary_{t-k} + n_t,
    n_t = a1 · n_{t-1} + a2 · n_{t-2} + σ(speech_t) · ε_t,        ε_t ~ N(0, 1) (seeded)

``accent`` is the pitch-accent train and ``boundary`` the phrase ends of
:mod:`babelface.motion.prosody`; the response kernels ``h``, ``g`` (lags ``LAG_MIN … LAG_MAX``
frames: the head may anticipate a stressed syllable) are fitted by ridge regression on the real
clips' high-passed pose; ``n_t`` is an AR(2) process whose innovation is larger while speaking
than in pauses (fitted ratio), fitted by the method of moments: for the angles, poles chosen so
that simulated 5 s windows have the real clips' ratio of mean speed to standard deviation, and
for every channel a scale that gives the real median standard deviation.

Blinks are a point process: per-frame hazard ``λ`` raised ``pause_lift`` times near pauses and
phrase ends (fitted), no blink within ``refractory_s`` of the last; each blink's duration is
log-normal (fitted), its closure profile closes in a third of it and reopens in two thirds.
Gaze holds a fixation (log-normal duration, mean ``FIXATION_S``) and jumps to a new offset
N(0, σ_gaze) in a two-frame saccade.

Parameters live in ``assets/head_model.json`` (plain numbers, no pickle), written by
``benchmarks/head_stats.py``. Same prosody and seed → same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from babelface.constants import FPS
from babelface.errors import InputError
from babelface.motion.head import (BLINK, BROW, GAZE, N_CHANNELS, blinks, channel, runs, smooth,
                                   window_stats)
from babelface.motion.prosody import Prosody

DRIVEN = ("yaw", "pitch", "roll", "tx", "ty", "brow")
LAG_MIN, LAG_MAX = -5, 20         # response kernel lags in frames (-0.2 … +0.8 s)
HIGH_PASS_S = 1.0                 # the kernels are fitted on pose minus its 1 s moving average
RIDGE = 10.0
NEAR_BOUNDARY = 5                 # frames after a phrase end that count as "at a pause" for blinks
FIXATION_S = 1.0                  # mean gaze fixation (conversational gaze: ~0.5-1.5 s)
SACCADE_FRAMES = 2
BURN_IN = 250                     # frames of AR warm-up, so the first frame is already stationary
LIMITS = {"yaw": 15.0, "pitch": 12.0, "roll": 10.0, "tx": 0.3, "ty": 0.3, "brow": 0.08}  # soft bounds
CLOSE_SHARE = 1 / 3               # a blink closes in this share of its duration, reopens in the rest


def _lagged(x: np.ndarray) -> np.ndarray:
    """``(T, K)`` columns ``x_{t-k}`` for k = LAG_MIN … LAG_MAX (zeros beyond the ends)."""
    cols = []
    for k in range(LAG_MIN, LAG_MAX + 1):
        c = np.zeros_like(x, dtype=np.float64)
        if k >= 0:
            m = max(len(x) - k, 0)
            c[len(x) - m:] = x[:m]
        else:
            c[:k] = x[-k:]
        cols.append(c)
    return np.stack(cols, 1)


def _high_pass(x: np.ndarray) -> np.ndarray:
    from babelface.motion.filters1d import uniform_filter1d
    return x - uniform_filter1d(x, int(HIGH_PASS_S * FPS), mode="nearest")


def _ar2(e: np.ndarray, a1: float, a2: float) -> np.ndarray:
    """``x_t = e_t + a1·x_{t-1} + a2·x_{t-2}`` ``(T,)``: the arithmetic of SciPy's
    ``lfilter([1], [1, -a1, -a2], e)`` (direct form II transposed), bit for bit, without importing
    ``scipy.signal`` (0.3 s of CPU at every start of `say` and `animate`; issue 16)."""
    out = np.empty(len(e))
    z0 = z1 = 0.0
    for t, v in enumerate(np.asarray(e, np.float64).tolist()):
        x = z0 + v
        z0 = z1 + a1 * x
        z1 = a2 * x
        out[t] = x
    return out


def _convolve(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``Σ_k kernel[k - LAG_MIN] · x_{t-k}`` ``(T,)``: :func:`_lagged` ``@ kernel`` without the
    ``(T, K)`` matrix (hours of speech in little memory)."""
    full = np.convolve(np.asarray(x, np.float64), np.asarray(kernel, np.float64))
    return full[-LAG_MIN:-LAG_MIN + len(x)]


@dataclass
class HeadModel:
    """Fitted parameters (see the module docstring); :meth:`generate` draws head motion."""

    pose: dict                 # channel → {"accent": [...], "boundary": [...], "ar": [a1, a2],
                               #            "sigma_speech": s, "sigma_pause": s}
    blink: dict                # {"rate_hz", "pause_lift", "refractory_s", "log_mean", "log_std"}
    gaze_std: float            # eye widths, per axis
    fitted_on: list

    # ------------------------------------------------------------------ persistence
    @classmethod
    def load(cls, path: str | Path | None = None) -> "HeadModel":
        """The model of ``path`` (JSON), by default the one shipped in the package."""
        if path is None:
            text = resources.files("babelface.assets").joinpath("head_model.json").read_text("utf-8")
        else:
            try:
                text = Path(path).read_text("utf-8")
            except OSError as e:
                raise InputError(f"cannot read the head model {path}: {e.strerror}") from e
        d = json.loads(text)
        return cls(d["pose"], d["blink"], float(d["gaze_std"]), d["fitted_on"])

    def to_json(self) -> str:
        return json.dumps({"pose": self.pose, "blink": self.blink, "gaze_std": self.gaze_std,
                           "fitted_on": self.fitted_on}, indent=1)

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(cls, clips: dict[str, dict[str, np.ndarray]]) -> "HeadModel":
        """Fit on measured clips ``{name: {"head": (T, C), "accent", "boundary", "speech", "pause"}}``
        (the cache of benchmarks/head_stats.py). Frames without a face split a clip into pieces."""
        pieces = []
        for d in clips.values():
            ok = np.isfinite(d["head"]).all(1)
            pieces += [{k: v[s:e] for k, v in d.items()} for s, e in runs(ok) if e - s >= 2 * FPS]
        pose = {name: _fit_channel(pieces, channel(name)) for name in DRIVEN}
        gaze = np.median(np.concatenate([window_stats(p["head"])["gaze_std"] for p in pieces]))
        return cls(pose, _fit_blinks(pieces), float(gaze / np.sqrt(2)), sorted(clips))

    # ------------------------------------------------------------------ generating
    def generate(self, prosody: Prosody, seed: int = 0, amount: float = 1.0,
                 blink: bool = True) -> np.ndarray:
        """Head motion ``(T, C)`` float32 for ``prosody``: ``amount`` scales pose, gaze and brows
        (0 = still, 1 = natural); ``blink=False`` keeps the eyes open. Deterministic in ``seed``."""
        if not 0.0 <= amount <= 2.0:
            raise InputError(f"--head-motion must be between 0 and 2 (1 = natural), got {amount}")
        if seed < 0:
            raise InputError(f"--seed must be 0 or more, got {seed}")
        rng = np.random.default_rng(seed)
        n = len(prosody)
        out = np.zeros((n, N_CHANNELS))
        accent = prosody.accent.astype(np.float64)
        boundary = prosody.boundary.astype(np.float64)
        for name in DRIVEN:                        # drawn in a fixed order: same seed, same motion
            p = self.pose[name]
            sigma = np.where(prosody.speech, p["sigma_speech"], p["sigma_pause"])
            e = rng.standard_normal(n + BURN_IN) * np.r_[np.full(BURN_IN, p["sigma_speech"]), sigma]
            x = _ar2(e, *p["ar"])[BURN_IN:] + _convolve(accent, p["accent"]) + _convolve(boundary, p["boundary"])
            out[:, channel(name)] = LIMITS[name] * np.tanh(x / LIMITS[name])
        out[:, GAZE] = self._gaze(rng, n)
        out[:, [*range(5), BROW, GAZE.start, GAZE.start + 1]] *= amount
        if blink:
            out[:, BLINK] = self._blinks(rng, prosody)[:, None]
        return out.astype(np.float32)

    def _gaze(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``(T, 2)``: fixations with log-normal durations, two-frame saccades between them."""
        out = np.zeros((n, 2))
        t, here = 0, rng.normal(0, self.gaze_std, 2)
        while t < n:
            dur = max(int(rng.lognormal(np.log(FIXATION_S * FPS) - 0.125, 0.5)), SACCADE_FRAMES + 1)
            nxt = rng.normal(0, self.gaze_std, 2)
            out[t:t + dur] = here
            ramp = np.linspace(0, 1, SACCADE_FRAMES + 2)[1:-1, None]
            s = t + dur - SACCADE_FRAMES
            out[max(s, 0):t + dur] = (here + ramp * (nxt - here))[:max(0, min(t + dur, n) - max(s, 0))]
            t, here = t + dur, nxt
        return out

    def _blinks(self, rng: np.random.Generator, prosody: Prosody) -> np.ndarray:
        """Closure ``(T,)`` of both eyes from the hazard process."""
        b, n = self.blink, len(prosody)
        near = _near_pause(prosody.pause, prosody.boundary)
        lift = np.where(near, b["pause_lift"], 1.0)
        hazard = b["rate_hz"] / FPS * lift / max(lift.mean(), 1e-9)     # keeps the mean rate
        refractory = int(round(b["refractory_s"] * FPS))
        draws = rng.random(n)
        closure = np.zeros(n)
        last = -refractory - int(rng.integers(0, 2 * FPS))              # a first blink is possible early
        for t in range(n):
            if t - last < refractory or draws[t] >= hazard[t]:
                continue
            fwhm = rng.lognormal(b["log_mean"], b["log_std"]) * FPS      # frames at half closure
            shape = blink_profile(fwhm)[:n - t]
            closure[t:t + len(shape)] = np.maximum(closure[t:t + len(shape)], shape)
            last = t
        return closure


def blink_profile(fwhm: float) -> np.ndarray:
    """One blink's closure ``(K,)``: 0 → 1 in ``CLOSE_SHARE`` of the base, back to 0 in the rest;
    the base is twice ``fwhm`` (frames), so the closure stays above ½ for ``fwhm`` frames."""
    base = max(2.0 * fwhm, 3.0)
    t = np.arange(int(np.ceil(base)) + 1, dtype=np.float64)
    close = CLOSE_SHARE * base
    up = np.clip(t / close, 0, 1)
    down = np.clip((base - t) / (base - close), 0, 1)
    profile = np.where(t <= close, up, down)
    return 0.5 - 0.5 * np.cos(np.pi * profile)          # eased: lids accelerate and brake


def _near_pause(pause: np.ndarray, boundary: np.ndarray) -> np.ndarray:
    near = pause.astype(bool).copy()
    for t in np.flatnonzero(boundary):
        near[t:t + NEAR_BOUNDARY] = True
    return near


def _fit_channel(pieces: list[dict], c: int) -> dict:
    """Kernels (ridge regression), then the AR(2) noise by the method of moments: its poles
    ``r·e^{±iω}`` chosen on a grid so that simulated 5 s windows have the real ratio of mean speed
    to standard deviation, its scale so that they have the real median standard deviation."""
    xs = [np.hstack([_lagged(p["accent"]), _lagged(p["boundary"].astype(np.float64))]) for p in pieces]
    x = np.vstack(xs)
    y = np.concatenate([_high_pass(smooth(p["head"][:, c])) for p in pieces])
    coef = np.linalg.solve(x.T @ x + RIDGE * np.eye(x.shape[1]), x.T @ y)
    k = x.shape[1] // 2
    # innovation ratio pause / speech: first differences of the residual, by voice activity
    d_speech, d_pause = [], []
    for p, xi in zip(pieces, xs):
        dr = np.diff(smooth(p["head"][:, c]) - xi @ coef)
        d_speech.append(dr[p["speech"][1:]])
        d_pause.append(dr[~p["speech"][1:]])
    dp = np.concatenate(d_pause)
    ratio = float(dp.std() / np.concatenate(d_speech).std()) if len(dp) > FPS else 1.0
    real = [window_stats(_as_head(p["head"][:, c], c)) for p in pieces]
    std = float(np.median(np.concatenate([w[_stat(c)] for w in real])))
    model = {"accent": coef[:k].tolist(), "boundary": coef[k:].tolist(), "ar": [0.0, 0.0],
             "sigma_speech": 1.0, "sigma_pause": ratio}
    if c < 3:                                    # angles: match speed / std; others: keep the shape
        speed = float(np.median(np.concatenate([w[_stat(c).replace("std", "speed")] for w in real])))
        best = None
        for r in np.linspace(0.7, 0.995, 30):
            for w in np.linspace(0.0, 0.3, 16):
                model["ar"] = [2 * r * np.cos(w), -r * r]
                st, sp = _simulated(model, c, pieces)
                err = abs(np.log(sp / st) - np.log(speed / std))
                if best is None or err < best[0]:
                    best = (err, list(model["ar"]))
        model["ar"] = best[1]
    else:
        model["ar"] = [2 * 0.95 * np.cos(0.1), -0.95 ** 2]
    sim_std, _ = _simulated(model, c, pieces)
    model["sigma_speech"], model["sigma_pause"] = std / sim_std, std / sim_std * ratio
    return model


def _stat(c: int) -> str:
    names = ("yaw", "pitch", "roll")
    return f"{names[c]}_std" if c < 3 else ("brow_std" if c == BROW else ("tx_std", "ty_std")[c - 3])


def _as_head(x: np.ndarray, c: int) -> np.ndarray:
    h = np.zeros((len(x), N_CHANNELS))
    h[:, c] = x
    return h


def _simulated(model: dict, c: int, pieces: list[dict]) -> tuple[float, float]:
    """Median 5 s-window (std, mean speed) of the channel simulated on the real clips' prosody
    (speed is that of angles; 0 for the other channels)."""
    rng = np.random.default_rng(1234)
    stds, speeds = [], []
    for p in pieces:
        n = len(p["accent"])
        sigma = np.where(p["speech"], model["sigma_speech"], model["sigma_pause"])
        e = rng.standard_normal(n + BURN_IN) * np.r_[np.full(BURN_IN, model["sigma_speech"]), sigma]
        x = (_ar2(e, *model["ar"])[BURN_IN:] + _convolve(p["accent"], model["accent"])
             + _convolve(p["boundary"].astype(np.float64), model["boundary"]))
        w = window_stats(_as_head(x, c))
        stds.append(w[_stat(c)])
        speeds.append(w[_stat(c).replace("std", "speed")] if c < 3 else np.zeros(1))
    return float(np.median(np.concatenate(stds))), float(np.median(np.concatenate(speeds)))


def _fit_blinks(pieces: list[dict]) -> dict:
    """Blink rate, pause lift, refractory period and log-normal duration from the real clips."""
    onsets_near = onsets_far = frames_near = frames_far = 0
    durations, intervals = [], []
    seconds = 0.0
    for p in pieces:
        events = blinks(p["head"][:, BLINK].mean(1))
        near = _near_pause(p["pause"], p["boundary"])
        frames_near += int(near.sum())
        frames_far += int((~near).sum())
        seconds += len(near) / FPS
        for s, e, _ in events:
            durations.append((e - s) / FPS)
            if near[s]:
                onsets_near += 1
            else:
                onsets_far += 1
        intervals += list(np.diff([s for s, _, _ in events]) / FPS)
    rate_near = onsets_near / max(frames_near, 1)
    rate_far = onsets_far / max(frames_far, 1)
    logs = np.log(durations)
    return {"rate_hz": (onsets_near + onsets_far) / seconds,
            "pause_lift": float(rate_near / rate_far) if rate_far > 0 else 1.0,
            "refractory_s": float(np.percentile(intervals, 5)) if intervals else 0.5,
            "log_mean": float(logs.mean()), "log_std": float(logs.std()),
            "blinks": onsets_near + onsets_far, "seconds": seconds}
