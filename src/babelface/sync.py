"""Audio–visual offset detection and correction with the sync expert (SyncLipMAE §4.1).

For a video: MediaPipe landmarks → motion → vocal-motion tokens ``v_t``; its audio → log-mel →
audio tokens ``A_t`` (:mod:`babelface.models.sync_expert`). Then::

    S(Δ) = 1/(T−|Δ|) Σ_t ⟨A_t, v_{t+Δ}⟩,   Δ ∈ [−15, 15],   Δ̂ = argmax_Δ S(Δ)

Positive Δ: the video lags the audio (a sound at frame t shows on the lips at frame t + Δ). The mean
runs over the frames whose audio is speech (in silences the mouth may rest, breathe or prepare
the next phrase: no sync evidence) and whose video shows a face. The in-sync score is S(0); the confidence is ``S(Δ̂) − median_Δ S(Δ)``, the similarity analogue of
SyncNet's Sync-C (median − minimum of the distance curve, REFERENCE.md). Every Δ is scored on the
same audio frames when the clip is long enough (:func:`offset_curve`, ``support``).

:func:`shift_audio` writes a copy of a video whose audio is delayed (or advanced) by whole frames;
:func:`fix_video` applies the estimated offset, so that the copy is in sync.

:class:`SyncExpertEmbedding` is the embedding the evaluation suite plugs into the SyncNet protocol
(``embed_audio`` / ``embed_video``), the default when no SyncNet weights are named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from babelface.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from babelface.errors import FaceError, InputError, MediaError, SilenceError
from babelface.metrics.sync import shift_sums

MAX_OFFSET = 15                 # frames, as the SyncNet protocol
MIN_FRAMES = 25                 # 1 s: shorter clips give no usable curve
SILENCE_DBFS = -60.0            # a clip whose loudest 40 ms is quieter than this holds no speech
MIN_FACE_FRACTION = 0.5         # at least half the frames must show a face


@dataclass
class SyncResult:
    """The offset estimate of one clip. ``curve[i]`` is S(Δ) for Δ = i − max_offset."""

    offset_frames: int
    in_sync_score: float
    confidence: float
    curve: np.ndarray
    n_frames: int = 0
    face_fraction: float = 1.0
    max_offset: int = MAX_OFFSET
    extra: dict = field(default_factory=dict)

    @property
    def offset_ms(self) -> float:
        return 1000.0 * self.offset_frames / FPS

    @property
    def offsets(self) -> np.ndarray:
        return np.arange(-self.max_offset, self.max_offset + 1)

    @property
    def offset_subframe(self) -> float:
        """The offset to a fraction of a frame: the vertex of the parabola through S(Δ̂) and its
        two neighbours (``offset_frames`` when the peak is at the curve's edge or not a maximum)."""
        i = self.offset_frames + self.max_offset
        if not 0 < i < len(self.curve) - 1 or not np.isfinite(self.curve[i - 1:i + 2]).all():
            return float(self.offset_frames)
        y0, y1, y2 = self.curve[i - 1:i + 2]
        den = y0 - 2 * y1 + y2
        return float(self.offset_frames + (0.5 * (y0 - y2) / den if den < 0 else 0.0))

    def to_json(self) -> dict:
        """Exactly the keys of ``babelface sync --json``."""
        return {"offset_frames": int(self.offset_frames), "offset_ms": float(self.offset_ms),
                "in_sync_score": float(self.in_sync_score), "confidence": float(self.confidence),
                "curve": [None if not np.isfinite(c) else round(float(c), 6) for c in self.curve]}


# --- pure functions over tokens --------------------------------------------------------------
def offset_curve(audio_tokens: np.ndarray, video_tokens: np.ndarray, max_offset: int = MAX_OFFSET,
                 valid: np.ndarray | None = None, audio_valid: np.ndarray | None = None,
                 support: str = "auto") -> np.ndarray:
    """S(Δ) for Δ = −M … M (SyncLipMAE §4.1): mean cosine of ``A_t`` and ``v_{t+Δ}``.

    ``audio_tokens``, ``video_tokens`` ``(T, D)`` (unit norm; cut to the shorter). The mean runs
    over the pairs whose video frame ``t+Δ`` is ``valid`` (has a face; NaN rows are invalid too)
    and whose audio frame ``t`` is ``audio_valid`` (speech), and over

    - ``support="overlap"``: every ``t`` with ``t+Δ`` inside the clip (the paper's 1/(T−|Δ|) form);
    - ``support="fixed"``: the same audio frames ``t ∈ [M, T−M)`` for every Δ, so that all scores
      average the same frames with the same variance (the overlap form averages fewer frames at
      large |Δ|, and a noisy edge can win);
    - ``"auto"`` (default): fixed when the clip has at least ``2M + MIN_FRAMES`` frames.

    Returns ``(2M+1,)``; NaN where no pair counts.
    """
    t = min(len(audio_tokens), len(video_tokens))
    a, v = audio_tokens[:t].astype(np.float64), video_tokens[:t].astype(np.float64)
    ok_v = np.isfinite(v).all(1)
    ok_a = np.isfinite(a).all(1)
    if valid is not None:
        ok_v &= valid[:t].astype(bool)
    if audio_valid is not None:
        ok_a &= audio_valid[:t].astype(bool)
    if support == "auto":
        support = "fixed" if t >= 2 * max_offset + MIN_FRAMES else "overlap"
    if support not in ("fixed", "overlap"):
        raise ValueError(f"support must be 'auto', 'fixed' or 'overlap', not {support!r}")
    a, v = np.where(ok_a[:, None], a, 0.0), np.where(ok_v[:, None], v, 0.0)
    sums = shift_sums(a, v, max_offset, ok_a.astype(np.float64), ok_v.astype(np.float64),
                      fixed=support == "fixed")
    return np.array([s[0] / s[1] if s is not None and s[1] > 0 else np.nan for s in sums])


def estimate_offset(audio_tokens: np.ndarray, video_tokens: np.ndarray, max_offset: int = MAX_OFFSET,
                    valid: np.ndarray | None = None, audio_valid: np.ndarray | None = None) -> SyncResult:
    """Δ̂ = argmax S(Δ), S(0) and the confidence from per-frame tokens (masks: :func:`offset_curve`)."""
    curve = offset_curve(audio_tokens, video_tokens, max_offset, valid, audio_valid)
    if not np.isfinite(curve).any():
        raise FaceError("no frame has both a face and audio: cannot measure the sync")
    best = int(np.nanargmax(curve))
    return SyncResult(offset_frames=best - max_offset, in_sync_score=float(curve[max_offset]),
                      confidence=float(curve[best] - np.nanmedian(curve)), curve=curve,
                      n_frames=min(len(audio_tokens), len(video_tokens)), max_offset=max_offset)


# --- the embedding the evaluation suite plugs in ------------------------------------------------
class SyncExpertEmbedding:
    """Per-frame audio and visual tokens of the sync expert, as NumPy arrays.

    ``embed_audio(audio16k (n,)) → (T, D)`` with ``T = ceil(n / 640)``;
    ``embed_video(frames | None, landmarks (T, 478, 3) px) → (T, D)``: the frames are not used
    (the visual branch reads motion). Frames without a face are embedded as the clip's mean pose
    (finite rows, so that distance curves stay defined); :func:`analyze` masks them out.
    One token per frame: ``window = 1`` in the evaluation suite's protocol.
    """

    name = "babelface sync expert"
    window = 1
    needs_frames = False
    support = "fixed"      # unit-norm tokens: no zero-padded offsets in the SyncNet protocol (metrics.sync)

    def __init__(self, weights: str | Path | None = None, expert=None, threads: int | None = None,
                 wav2vec2: str | Path | None = None):
        from babelface.errors import WeightsError
        from babelface.models.sync_expert import load_sync_expert
        self.expert = expert if expert is not None else load_sync_expert(weights)
        self.threads = threads
        self.dim = self.expert.cfg.dim
        self.wav2vec2 = None
        if self.expert.cfg.audio_encoder == "wav2vec2":
            if wav2vec2 is None:
                raise WeightsError("this sync expert reads wav2vec 2.0 features: name the checkpoint "
                                   "folder it was trained with (--wav2vec2 DIR: config.json + model.safetensors)")
            from babelface.models.wav2vec2 import load_wav2vec2
            self.wav2vec2 = load_wav2vec2(wav2vec2)
            if self.wav2vec2.cfg.features_dim != self.expert.cfg.wav2vec2_dim:
                raise WeightsError(f"{wav2vec2} gives {self.wav2vec2.cfg.features_dim}-dim features; this sync "
                                   f"expert was trained on {self.expert.cfg.wav2vec2_dim}: use its own checkpoint")

    def embed_audio(self, audio: np.ndarray) -> np.ndarray:
        import torch

        from babelface.media.features import mel_features
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 1:
            raise InputError(f"embed_audio expects mono 16 kHz audio (n,), got {audio.shape}")
        if len(audio) < SAMPLES_PER_FRAME:
            raise InputError("the audio is shorter than one video frame (40 ms)")
        with _threads(self.threads), torch.no_grad():
            if self.wav2vec2 is not None:
                from babelface.models.wav2vec2 import wav2vec2_features
                rate_match = self.expert.cfg.extra.get("wav2vec2_rate_match", "pool")
                feats = wav2vec2_features(self.wav2vec2, audio, rate_match)
            else:
                feats = mel_features(audio, normalized=False, pad="silence")
            a = self.expert.encode_audio(torch.from_numpy(feats)[None])[0]
        return a.numpy()

    def embed_motion(self, motion: np.ndarray) -> np.ndarray:
        """Motion ``(T, 111, 3)`` (NaN where no face) → ``(T, D)``."""
        import torch
        motion = np.asarray(motion, dtype=np.float32)
        valid = np.isfinite(motion).all(axis=(1, 2))
        with _threads(self.threads), torch.no_grad():
            v = self.expert.encode_motion(torch.from_numpy(np.nan_to_num(motion))[None],
                                          torch.from_numpy(valid)[None])[0]
        return v.numpy()

    def embed_video(self, frames: np.ndarray | None, landmarks: np.ndarray) -> np.ndarray:
        from babelface.motion.representation import landmarks_to_motion
        landmarks = np.asarray(landmarks, dtype=np.float32)
        if landmarks.ndim != 3 or landmarks.shape[1:] != (478, 3):
            raise InputError(f"embed_video expects landmarks (T, 478, 3), got {landmarks.shape}")
        if not np.isfinite(landmarks).all(axis=(1, 2)).any():
            raise FaceError("no frame has a face: cannot embed the video")
        motion, _ = landmarks_to_motion(landmarks)
        return self.embed_motion(motion)


class _threads:
    """Temporarily set torch's intra-op thread count (None: leave it)."""

    def __init__(self, n: int | None):
        self.n = n

    def __enter__(self):
        import torch
        self.old = torch.get_num_threads()
        if self.n:
            torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        import torch
        torch.set_num_threads(self.old)


# --- videos ----------------------------------------------------------------------------------
def speech_mask(audio: np.ndarray) -> np.ndarray:
    """``(ceil(n / 640),)`` bool: the video frames whose audio is speech, not silence
    (:func:`babelface.media.features.speech_frames`); S(Δ) is averaged over these."""
    from babelface.media.features import mel_features, speech_frames
    return speech_frames(mel_features(audio, normalized=False, pad="silence"))


def check_speech(audio: np.ndarray, source: str) -> None:
    """Raise :class:`SilenceError` when ``audio`` (mono 16 kHz) holds no sound at all."""
    from babelface.media import rms_envelope
    peak = float(rms_envelope(audio).max()) if len(audio) else 0.0
    dbfs = 20 * np.log10(max(peak, 1e-12))
    if dbfs < SILENCE_DBFS:
        raise SilenceError(f"the audio of {source} is silent (loudest frame {dbfs:.0f} dBFS): "
                           "sync needs a clip with speech")


MIN_SYNC_FACE_PX = 40     # narrower faces (issue 17: a 32×32 video) give offsets from noise


def read_av(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A video's mono 16 kHz audio and its 25 fps landmarks ``(T, 478, 3)`` (NaN: no face),
    with clear errors for a missing audio track, silence and a face-less video."""
    from babelface.face.landmarks import landmarks_sequence
    from babelface.media import iter_frames, load_audio, probe_video
    path = Path(path)
    info = probe_video(path)
    if not info.has_audio:
        raise MediaError(f"{path} has no audio track: sync compares the lips with the speech, "
                         "give a video with sound")
    audio = load_audio(path, SAMPLE_RATE) * 1.0
    audio = _align_audio_start(path, audio)
    check_speech(audio, str(path))
    landmarks = landmarks_sequence(iter_frames(path, fps=FPS))
    face = np.isfinite(landmarks).all(axis=(1, 2))
    if not face.any():
        raise FaceError(f"no face found in {path}: sync needs a visible, frontal talking face")
    from babelface.face.landmarks import face_width
    width = float(np.median([face_width(lm) for lm in landmarks[face]]))
    if width < MIN_SYNC_FACE_PX:                     # e.g. a 32×32 video: no lips to read
        raise FaceError(f"the face in {path} is {width:.0f} px wide; sync needs at least "
                        f"{MIN_SYNC_FACE_PX} px to read the lips")
    return audio, landmarks


def _align_audio_start(path: Path, audio: np.ndarray) -> np.ndarray:
    """Honour the container's stream start times: pad or cut the audio so that sample 0 plays
    with the first video frame."""
    import av
    with av.open(str(path)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        tv = float(v.start_time * v.time_base) if v.start_time is not None else 0.0
        ta = float(a.start_time * a.time_base) if a.start_time is not None else 0.0
    lag = int(round((ta - tv) * SAMPLE_RATE))
    if lag > 0:
        return np.concatenate([np.zeros(lag, np.float32), audio])
    return audio[-lag:] if lag < 0 else audio


def analyze(audio: np.ndarray, landmarks: np.ndarray, embedding: SyncExpertEmbedding | None = None,
            max_offset: int = MAX_OFFSET, source: str = "the clip") -> SyncResult:
    """Offset estimate from mono 16 kHz audio and pixel landmarks ``(T, 478, 3)``."""
    emb = embedding or SyncExpertEmbedding()
    face = np.isfinite(landmarks).all(axis=(1, 2))
    t = min(len(landmarks), -(-len(audio) // SAMPLES_PER_FRAME))
    if t < MIN_FRAMES:
        raise InputError(f"{source} is {t / FPS:.2f} s long; sync needs at least {MIN_FRAMES / FPS:.0f} s")
    if face.mean() < MIN_FACE_FRACTION:
        import warnings
        warnings.warn(f"a face was found in only {100 * face.mean():.0f}% of the frames of {source}: "
                      "the estimate rests on those frames", stacklevel=2)
    a = emb.embed_audio(audio)
    v = emb.embed_video(None, landmarks)
    speech = speech_mask(audio)
    m = min(max_offset, t - MIN_FRAMES // 2)
    res = estimate_offset(a[:t], v[:t], m, valid=face[:t], audio_valid=speech[:t])
    if m < max_offset:                           # keep the curve's length fixed at 2·max_offset+1
        pad = np.full(max_offset - m, np.nan)
        res.curve = np.concatenate([pad, res.curve, pad])
        res.max_offset = max_offset
    res.face_fraction = float(face.mean())
    return res


def analyze_motion(audio: np.ndarray, motion: np.ndarray, embedding: SyncExpertEmbedding | None = None
                   ) -> SyncResult:
    """The offset of motion ``(T, 111, 3)`` (NaN rows: no face) against mono 16 kHz ``audio``
    without a video: how a generated motion's timing reads before it is rendered (the lead scan,
    benchmarks/lead_scan.py)."""
    emb = embedding or SyncExpertEmbedding()
    a, v = emb.embed_audio(audio), emb.embed_motion(motion)                  # (T, D)
    t = min(len(a), len(v))
    face = np.isfinite(np.asarray(motion)).all(axis=(1, 2))
    return estimate_offset(a[:t], v[:t], valid=face[:t], audio_valid=speech_mask(audio)[:t])


def analyze_video(path: str | Path, embedding: SyncExpertEmbedding | None = None,
                  max_offset: int = MAX_OFFSET) -> SyncResult:
    """Estimate the audio–video offset of a video file (see the module docstring)."""
    audio, landmarks = read_av(path)
    return analyze(audio, landmarks, embedding, max_offset, source=str(path))


def check_fixable(path: str | Path) -> None:
    """Refuse to fix a video whose video stream does not decode to its end without an error:
    :func:`shift_audio` copies the video packets, so the copy would keep the damage (a player stops
    or shows garbage there). Every packet is decoded once, strictly: frame threads, which the
    analysis reads with, conceal a damaged packet by the frames around it (a fuzz finding, seed 386:
    the last packet zeroed read as a variable frame rate's short end)."""
    import av

    name = Path(path).name
    decoded, total = 0, None
    try:
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            total = stream.frames or None
            for _ in c.decode(stream):
                decoded += 1
    except av.error.FFmpegError:
        of = f" of {total}" if total else ""
        raise MediaError(f"{name}: its video stops decoding after {decoded}{of} frames (a damaged file); the "
                         "fixed copy would keep the damage: re-encode it first "
                         f"(ffmpeg -i {name} -c:v libx264 -c:a aac repaired.mp4)") from None


def shift_audio(path: str | Path, out: str | Path, delay_frames: float) -> Path:
    """Copy the video ``path`` to ``out`` with its audio delayed by ``delay_frames`` video frames
    (negative: advanced; a fraction of a frame moves it by that many samples), keeping the duration: delayed audio starts with silence, advanced audio
    ends with it. The video stream is copied (re-encoded to H.264 when the container cannot hold
    it); the audio keeps its rate and channels (AAC). The write is atomic."""
    from babelface.media import load_audio, probe_audio
    from babelface.media._atomic import atomic_path
    from babelface.media.audio import aac_rate
    from babelface.media.video import replace_audio
    path, out = Path(path), Path(out)
    if path.resolve() == out.resolve():
        raise InputError(f"the output {out} would overwrite the input: choose another name")
    rate = aac_rate(probe_audio(path).sample_rate)
    audio = load_audio(path, sample_rate=None, mono=False)            # (n, C) at that rate
    shift = int(round(delay_frames * rate / FPS))
    shifted = np.zeros_like(audio)
    if shift >= 0:
        shifted[shift:] = audio[: max(0, len(audio) - shift)]
    else:
        shifted[: len(audio) + shift] = audio[-shift:]
    with atomic_path(out, suffix=out.suffix or ".mp4") as tmp:
        replace_audio(path, tmp, shifted, rate)
    return out


def fix_video(path: str | Path, out: str | Path, result: SyncResult | None = None) -> tuple[Path, SyncResult]:
    """Write ``out``: ``path`` with its audio moved by the estimated offset (video lags audio by
    Δ̂ frames → the audio is delayed by Δ̂). Returns (out, the estimate that was applied)."""
    result = result or analyze_video(path)
    return shift_audio(path, out, result.offset_frames), result
