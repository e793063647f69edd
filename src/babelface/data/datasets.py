"""PyTorch datasets over a manifest (any babelface dataset, synthetic or real).

Each item is a dict (shapes for a crop of ``T`` video frames)::

    mel           float32 (4T, 80)   log-mel, normalised per utterance (MuEx E.5) before cropping
    motion        float32 (T, 111, 3) canonical motion
    phoneme       int64   (T,)       frame-level phoneme id in groundtruth.phoneme_vocab(), -1 unknown
    viseme        int64   (T,)       viseme class id (groundtruth.viseme_names()), -1 unknown
    articulation  float32 (T, P)     only for clips that have it
    audio         float32 (640 T,)   16 kHz samples, only with ``with_audio=True`` (wav2vec front-ends)
    speaker       int                index into dataset.speakers (stable across splits)
    language      str
    id            str

Training uses random contiguous crops of ``crop_frames`` (MuEx E.4: T = 200) and optionally
SpecAugment-style time masking of the mel (MuEx E.5; Park et al. 2019). :func:`collate` pads a
batch and returns ``mask`` (B, T), True on real frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from babelface.constants import MEL_FRAMES_PER_VIDEO_FRAME, N_MELS, SAMPLES_PER_FRAME
from babelface.data.manifest import Clip, ManifestError, load_manifest

CROP_FRAMES = 200              # MuEx E.4: sequence length T = 200 frames, random contiguous crops
PAD_LABEL = -1


@dataclass(frozen=True)
class TimeMasking:
    """SpecAugment time masking (Park et al. 2019, §2): ``n_masks`` spans of up to ``max_width``
    mel frames (10 ms each) set to ``value`` (0 = the mean after per-utterance normalisation)."""

    n_masks: int = 2
    max_width: int = 20
    value: float = 0.0

    def __call__(self, mel: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``mel`` (n, 80) → a masked copy."""
        out = mel.clone()
        n = out.shape[0]
        for _ in range(self.n_masks):
            width = int(torch.randint(0, self.max_width + 1, (1,), generator=generator))
            if width == 0 or width >= n:
                continue
            start = int(torch.randint(0, n - width + 1, (1,), generator=generator))
            out[start:start + width] = self.value
        return out


class ManifestDataset(Dataset):
    """Clips of a dataset folder, filtered by split and language.

    ``crop_frames``: crop length T (None: whole clips); ``random_crop``: a random contiguous crop
    (training) or the first T frames (evaluation); ``time_masking``: SpecAugment on the mel.
    ``with_audio``: items also carry the 16 kHz samples. ``speech_margin`` (frames, or None): items
    also carry ``speech`` ``(T,)`` bool, the frames with speech in them
    (:func:`babelface.media.features.speech_frames` on the raw log-mel) widened by that many
    frames each way, so that a trainer can leave the rest (pauses) out of its loss. ``mel_augment``:
    ``f(raw log-mel, numpy Generator) -> log-mel`` applied before the per-utterance normalisation
    (its generator drawn from NumPy's global state, which the trainer seeds per item). ``offsets``
    (``{clip id: frames or None}``, + = the video lags the audio): each listed clip is cut to its
    re-aligned part, audio frame ``t`` with video frame ``t + frames`` (the audio's labels move with
    the audio, the motion and articulation with the video); None leaves the clip out (an offset
    nobody could read). Only clips with ``motion`` and either
    ``features`` or ``audio`` (``audio`` with ``with_audio``) are used: video-only clips of real
    videos without sound are skipped (:attr:`skipped` counts them, and the clips ``offsets`` leaves out).
    """

    def __init__(self, root: str | Path, split: str | Sequence[str] | None = None,
                 languages: Iterable[str] | None = None, crop_frames: int | None = CROP_FRAMES,
                 random_crop: bool = True, time_masking: TimeMasking | None = None,
                 with_audio: bool = False, check_files: bool = True, speech_margin: int | None = None,
                 mel_augment=None, offsets: dict[str, int | None] | None = None):
        all_clips = load_manifest(root, check_files=check_files)
        self.root = Path(root)
        self.speakers: list[str] = sorted({c.speaker for c in all_clips})
        self._speaker_index = {s: i for i, s in enumerate(self.speakers)}
        splits = {split} if isinstance(split, str) else set(split) if split is not None else None
        langs = set(languages) if languages is not None else None
        chosen = [c for c in all_clips
                  if (splits is None or c.split in splits) and (langs is None or c.language in langs)]
        self.with_audio = with_audio
        self.offsets = dict(offsets or {})
        self.clips: list[Clip] = [c for c in chosen if c.motion is not None and (
            c.audio is not None if with_audio else (c.features is not None or c.audio is not None))
            and not (c.id in self.offsets and self.offsets[c.id] is None)]
        self.skipped = len(chosen) - len(self.clips)
        self.crop_frames = crop_frames
        self.random_crop = random_crop
        self.time_masking = time_masking
        self.speech_margin = speech_margin
        self.mel_augment = mel_augment

    def __len__(self) -> int:
        return len(self.clips)

    def _mel(self, clip: Clip) -> np.ndarray:
        from babelface.media.features import log_mel
        if clip.features is not None:
            return clip.array("features")
        from babelface.media.audio import load_audio
        return log_mel(load_audio(clip.path("audio")))

    def __getitem__(self, index: int) -> dict:
        from babelface.data.groundtruth import frame_labels
        from babelface.media.features import normalize
        clip = self.clips[index]
        motion = clip.array("motion")                                  # (T, L, 3)
        n = motion.shape[0]
        mel = self._mel(clip)                                          # (~4T, 80)
        k = MEL_FRAMES_PER_VIDEO_FRAME
        mel = _fit(mel, n * k)
        speech = _speech(mel, self.speech_margin) if self.speech_margin is not None else None
        if self.mel_augment is not None:
            mel = self.mel_augment(mel, np.random.default_rng(np.random.randint(2 ** 31)))
        mel = normalize(mel)                                           # per utterance (MuEx E.5)
        if clip.phonemes is not None:
            phon, vis = frame_labels(clip.timeline(), n, clip.fps)
        else:
            phon = vis = np.full(n, PAD_LABEL, np.int64)
        art = clip.array("articulation") if clip.articulation is not None else None
        wave = None
        if self.with_audio:
            from babelface.media.audio import load_audio
            wave = load_audio(clip.path("audio"))
            wave = np.pad(wave, (0, max(0, n * SAMPLES_PER_FRAME - len(wave))))[:n * SAMPLES_PER_FRAME]
        shift = self.offsets.get(clip.id) or 0
        if shift:                                  # audio frame t ↔ video frame t + shift
            if abs(shift) >= n:
                raise ManifestError(f"clip {clip.id}: offset {shift} frames leaves nothing of its {n} frames")
            a, v = aligned_parts(n, shift)
            mel, phon, vis = mel[a.start * k:a.stop * k], phon[a], vis[a]
            speech = speech[a] if speech is not None else None
            wave = wave[a.start * SAMPLES_PER_FRAME:a.stop * SAMPLES_PER_FRAME] if wave is not None else None
            motion, art = motion[v], art[v] if art is not None else None
            n = len(motion)
        start, length = self._crop(n)
        sl = slice(start, start + length)
        item = {
            "mel": torch.from_numpy(np.ascontiguousarray(mel[start * k:(start + length) * k])),
            "motion": torch.from_numpy(np.ascontiguousarray(motion[sl], np.float32)),
            "phoneme": torch.from_numpy(phon[sl].copy()),
            "viseme": torch.from_numpy(vis[sl].copy()),
            "speaker": self._speaker_index[clip.speaker],
            "language": clip.language,
            "id": clip.id,
        }
        if speech is not None:
            item["speech"] = torch.from_numpy(speech[sl].copy())
        if art is not None:
            item["articulation"] = torch.from_numpy(np.ascontiguousarray(art[sl], np.float32))
        if wave is not None:
            item["audio"] = torch.from_numpy(wave[start * SAMPLES_PER_FRAME:(start + length) * SAMPLES_PER_FRAME].copy())
        if self.time_masking is not None:
            item["mel"] = self.time_masking(item["mel"])
        if not torch.isfinite(item["motion"]).all():
            raise ManifestError(f"clip {clip.id}: motion holds NaN/inf frames")
        return item

    def _crop(self, n: int) -> tuple[int, int]:
        if self.crop_frames is None or n <= self.crop_frames:
            return 0, n
        if not self.random_crop:
            return 0, self.crop_frames
        return int(torch.randint(0, n - self.crop_frames + 1, (1,))), self.crop_frames


def aligned_parts(n: int, frames: int) -> tuple[slice, slice]:
    """A clip of ``n`` frames whose video lags its audio by ``frames`` (negative: leads): the audio
    frames and the video frames that belong together, audio frame ``t`` with video frame
    ``t + frames`` (both empty when the offset is the whole clip)."""
    lo, hi = max(0, -frames), min(n, n - frames)
    hi = max(lo, hi)
    return slice(lo, hi), slice(lo + frames, hi + frames)


def _speech(mel: np.ndarray, margin: int) -> np.ndarray:
    """``(T,)`` bool: the frames of raw log-mel ``mel (4T, F)`` with speech, widened by ``margin``."""
    from scipy.ndimage import binary_dilation
    from babelface.media.features import speech_frames
    speech = speech_frames(mel)
    return binary_dilation(speech, np.ones(2 * margin + 1, bool)) if margin > 0 and speech.any() else speech


def _fit(mel: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad the mel to exactly ``n`` frames (4 per video frame)."""
    if mel.ndim != 2 or mel.shape[1] != N_MELS:
        raise ManifestError(f"features must be (n, {N_MELS}), got {mel.shape}")
    if len(mel) >= n:
        return mel[:n].astype(np.float32, copy=False)
    return np.pad(mel, ((0, n - len(mel)), (0, 0)), mode="edge").astype(np.float32)


def collate(batch: list[dict]) -> dict:
    """Pad a list of items to the longest: ``mel`` (B, 4T, 80), ``motion`` (B, T, L, 3),
    ``phoneme``/``viseme`` (B, T) padded with -1, ``articulation`` (B, T, P) zero-padded with
    ``has_articulation`` (B,) when any item has it, ``audio`` (B, 640 T) when every item has it,
    ``mask`` (B, T) bool (True = real frame), ``lengths`` (B,), ``speaker`` (B,) int64,
    ``language`` and ``id`` lists."""
    b = len(batch)
    lengths = torch.tensor([item["motion"].shape[0] for item in batch], dtype=torch.int64)
    t = int(lengths.max())
    k = MEL_FRAMES_PER_VIDEO_FRAME
    first = batch[0]
    mel = torch.zeros(b, t * k, first["mel"].shape[1])
    motion = torch.zeros(b, t, *first["motion"].shape[1:])
    phoneme = torch.full((b, t), PAD_LABEL, dtype=torch.int64)
    viseme = torch.full((b, t), PAD_LABEL, dtype=torch.int64)
    mask = torch.zeros(b, t, dtype=torch.bool)
    for i, item in enumerate(batch):
        n = int(lengths[i])
        mel[i, :n * k] = item["mel"]
        motion[i, :n] = item["motion"]
        phoneme[i, :n] = item["phoneme"]
        viseme[i, :n] = item["viseme"]
        mask[i, :n] = True
    out = {"mel": mel, "motion": motion, "phoneme": phoneme, "viseme": viseme, "mask": mask,
           "lengths": lengths, "speaker": torch.tensor([item["speaker"] for item in batch]),
           "language": [item["language"] for item in batch], "id": [item["id"] for item in batch]}
    if all("audio" in item for item in batch):
        audio = torch.zeros(b, t * SAMPLES_PER_FRAME)
        for i, item in enumerate(batch):
            audio[i, :len(item["audio"])] = item["audio"]
        out["audio"] = audio
    arts = [item.get("articulation") for item in batch]
    if any(a is not None for a in arts):
        p = next(a for a in arts if a is not None).shape[1]
        art = torch.zeros(b, t, p)
        for i, a in enumerate(arts):
            if a is not None:
                art[i, :a.shape[0]] = a
        out["articulation"] = art
        out["has_articulation"] = torch.tensor([a is not None for a in arts])
    return out
