"""An in-memory toy corpus whose motion is a known function of its audio features.

For tests, smoke runs and the DDP check, before (or without) the synthetic benchmark. Each toy
phoneme has a smooth spectral template and belongs to a viseme (several phonemes share one, as in
real speech); each viseme is a mouth pose built from three articulatory patterns (jaw opening,
spread, rounding) over the 111 motion points. An utterance is a phoneme string with durations of
2–6 frames; its mel frames are the phoneme templates plus a speaker's spectral tilt plus noise,
normalised per utterance; its motion is the viseme poses smoothed over 5 frames (coarticulation).
Languages draw from different phoneme subsets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch.utils.data import Dataset

from babelface.constants import MEL_FRAMES_PER_VIDEO_FRAME, N_MELS
from babelface.face.indices import N_MOTION
from babelface.media.features import normalize

MOTION_AMPLITUDE = 0.05          # inter-ocular units: a few percent of the eye distance, like lips
COARTICULATION = np.array([1.0, 2.0, 3.0, 2.0, 1.0]) / 9.0


@dataclass
class ToyConfig:
    n_train: int = 64
    n_val: int = 16
    frames: int = 100                 # frames per utterance
    n_phonemes: int = 12
    n_visemes: int = 6
    n_speakers: int = 4
    languages: tuple[str, ...] = ("aa", "bb", "cc")
    noise: float = 0.3                # mel noise (template scale 1)
    seed: int = 1234


class ToyDataset(Dataset):
    """``split`` "train" or "val"; training items are random crops of ``seq_len`` frames."""

    def __init__(self, cfg: ToyConfig, split: str = "train", seq_len: int | None = None):
        rng = np.random.default_rng(cfg.seed)
        smooth = np.ones(9) / 9
        self.templates = np.stack([np.convolve(rng.normal(0, 1, N_MELS + 8), smooth, "valid") * 3
                                   for _ in range(cfg.n_phonemes)]).astype(np.float32)   # (P, 80)
        basis = rng.normal(0, 1, (3, N_MOTION, 3)) * MOTION_AMPLITUDE                   # (3, L, 3)
        articulation = rng.uniform(0, 1, (cfg.n_visemes, 3))
        self.viseme_poses = np.einsum("va,alc->vlc", articulation, basis).astype(np.float32)
        self.viseme_of = np.arange(cfg.n_phonemes) % cfg.n_visemes
        tilts = np.stack([np.convolve(rng.normal(0, 1, N_MELS + 8), smooth, "valid")
                          for _ in range(cfg.n_speakers)]).astype(np.float32)
        n = cfg.n_train if split == "train" else cfg.n_val
        offset = 0 if split == "train" else cfg.n_train
        self.items = [self._utterance(cfg, np.random.default_rng(cfg.seed + 1 + offset + i), i + offset, tilts)
                      for i in range(n)]
        self.train = split == "train"
        self.seq_len = seq_len

    def _utterance(self, cfg: ToyConfig, rng, i: int, tilts) -> dict:
        lang = i % len(cfg.languages)
        inventory = [p for p in range(cfg.n_phonemes) if (p + lang) % 4 != 0]
        phonemes: list[int] = []
        while len(phonemes) < cfg.frames:
            phonemes += [int(rng.choice(inventory))] * int(rng.integers(2, 7))
        ph = np.array(phonemes[: cfg.frames])
        speaker = i % cfg.n_speakers
        mel = np.repeat(self.templates[ph], MEL_FRAMES_PER_VIDEO_FRAME, axis=0) + tilts[speaker]
        mel = normalize(mel + rng.normal(0, cfg.noise, mel.shape).astype(np.float32))
        pose = self.viseme_poses[self.viseme_of[ph]]                                # (T, L, 3)
        padded = np.pad(pose, ((2, 2), (0, 0), (0, 0)), mode="edge")
        motion = sum(w * padded[k: k + len(pose)] for k, w in enumerate(COARTICULATION))
        return {"mel": mel.astype(np.float32), "motion": motion.astype(np.float32), "phoneme": ph,
                "speaker": speaker, "language": cfg.languages[lang]}

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        item = self.items[i]
        t = len(item["motion"])
        if not self.train or self.seq_len is None or t <= self.seq_len:
            return item
        s = np.random.randint(0, t - self.seq_len + 1)
        k = MEL_FRAMES_PER_VIDEO_FRAME
        return {**item, "mel": item["mel"][k * s: k * (s + self.seq_len)],
                "motion": item["motion"][s: s + self.seq_len], "phoneme": item["phoneme"][s: s + self.seq_len]}
