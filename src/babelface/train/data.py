"""The trainer's view of data: one item per utterance, padded batches, seeded epoch order.

The contract every dataset handed to :func:`babelface.train.loop.train` follows (the benchmark's
``babelface.data.datasets`` and the in-memory :mod:`babelface.train.toy` alike): ``dataset[i]``
is a dict

    mel       float32 (4 T, 80)    normalised log-mel (MuEx E.5), 4 mel frames per video frame
    motion    float32 (T, 111, 3)  motion (babelface.motion.representation)
    phoneme   int64   (T,)         optional; −1 where unknown
    viseme    int64   (T,)         optional; −1 where unknown (MuEx's model.lambda_viseme)
    speech    bool    (T,)         optional; frames False here are left out of the loss (a batch
                                   with any gets ``loss_mask`` = ``mask`` and ``speech``)
    speaker   int                  optional; −1 when unknown (speaker-shuffle negatives, C.3)
    language  str                  optional (never seen by the model; used for per-language logs)
    audio     float32 (640 T,)     optional; needed only by the wav2vec front-end

Training items are random contiguous crops of ``seq_len`` frames (E.4) drawn by the dataset.
Exact resumption needs the dataset's randomness to be reproducible: :class:`SeededDataset`
re-seeds ``random``, NumPy and torch before each item from (run seed, epoch, position), and
:class:`EpochSampler` orders each epoch from (run seed, epoch) and can start mid-epoch.
"""

from __future__ import annotations

import random
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from babelface.constants import MEL_FRAMES_PER_VIDEO_FRAME, SAMPLES_PER_FRAME, exact_div
from babelface.errors import InputError


def mix_seed(*parts: int) -> int:
    """A 63-bit seed from integers (SplitMix64 over the parts), stable across runs and platforms."""
    x = 0x9E3779B97F4A7C15
    for p in parts:
        x = (x ^ (int(p) & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        x = (x ^ (x >> 31)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
    return x >> 1


def seed_all(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) from one integer."""
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


class EpochSampler(Sampler):
    """Indices of one epoch, as ``(index, item_seed)`` pairs, for one rank of ``world``.

    The order is a permutation seeded by (``seed``, ``epoch``), cut to whole global batches and
    dealt to ranks in contiguous per-step blocks; ``start`` skips that many items of this rank
    (resuming mid-epoch without touching them).
    """

    def __init__(self, n: int, seed: int, epoch: int, batch_per_rank: int, rank: int = 0,
                 world: int = 1, shuffle: bool = True, start: int = 0, drop_last: bool = True):
        self.n, self.seed, self.epoch, self.bpr = n, seed, epoch, batch_per_rank
        self.rank, self.world, self.shuffle, self.start, self.drop_last = rank, world, shuffle, start, drop_last

    def _mine(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(mix_seed(self.seed, self.epoch))
            order = torch.randperm(self.n, generator=g).tolist()
        else:
            order = list(range(self.n))
        step = self.bpr * self.world
        if self.drop_last:
            order = order[: len(order) // step * step]
        return [i for k in range(0, len(order), step)
                for i in order[k + self.rank * self.bpr: k + (self.rank + 1) * self.bpr]]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        mine = self._mine()
        for pos in range(self.start, len(mine)):
            yield mine[pos], mix_seed(self.seed, self.epoch, self.rank, pos)

    def __len__(self) -> int:
        return max(0, len(self._mine()) - self.start)


class SeededDataset(Dataset):
    """Wraps a dataset so that item ``(i, seed)`` is drawn with all RNGs seeded by ``seed``."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> dict:
        index, seed = key
        seed_all(seed)
        return self.dataset[index]


def collate(items: list[dict]) -> dict:
    """Pad a list of items (see the module docstring) into a batch with a ``mask`` ``(b, t)``."""
    if not items:
        raise InputError("empty batch: the dataset has no items")
    lengths = [len(it["motion"]) for it in items]
    t_max, b = max(lengths), len(items)
    first_motion = np.asarray(items[0]["motion"])
    mel_dim = np.asarray(items[0]["mel"]).shape[1]
    out = {
        "mel": torch.zeros(b, t_max * MEL_FRAMES_PER_VIDEO_FRAME, mel_dim),
        "motion": torch.zeros((b, t_max) + first_motion.shape[1:]),
        "mask": torch.zeros(b, t_max, dtype=torch.bool),
        "phoneme": torch.full((b, t_max), -1, dtype=torch.long),
        "viseme": torch.full((b, t_max), -1, dtype=torch.long),
        "speaker": torch.tensor([int(it.get("speaker", -1)) for it in items], dtype=torch.long),
        "language": [str(it.get("language", "")) for it in items],
    }
    if any("speech" in it for it in items):
        out["loss_mask"] = torch.zeros(b, t_max, dtype=torch.bool)
    with_audio = all("audio" in it for it in items)
    if with_audio:
        out["audio"] = torch.zeros(b, t_max * SAMPLES_PER_FRAME)
    for j, (it, t) in enumerate(zip(items, lengths)):
        mel = torch.as_tensor(np.asarray(it["mel"], dtype=np.float32))
        if len(mel) != MEL_FRAMES_PER_VIDEO_FRAME * t:
            raise InputError(f"item {j}: {len(mel)} mel frames for {t} motion frames; the contract is "
                             f"{MEL_FRAMES_PER_VIDEO_FRAME} mel frames per video frame")
        out["mel"][j, : len(mel)] = mel
        out["motion"][j, :t] = torch.as_tensor(np.asarray(it["motion"], dtype=np.float32))
        out["mask"][j, :t] = True
        if "loss_mask" in out:
            out["loss_mask"][j, :t] = torch.as_tensor(np.asarray(it["speech"], dtype=bool)) if "speech" in it else True
        if it.get("phoneme") is not None:
            out["phoneme"][j, :t] = torch.as_tensor(np.asarray(it["phoneme"], dtype=np.int64))
        if it.get("viseme") is not None:
            out["viseme"][j, :t] = torch.as_tensor(np.asarray(it["viseme"], dtype=np.int64))
        if with_audio:
            audio = torch.as_tensor(np.asarray(it["audio"], dtype=np.float32))[: t * SAMPLES_PER_FRAME]
            out["audio"][j, : len(audio)] = audio
    return out


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def split_batch(batch: dict, parts: int) -> list[dict]:
    """Split a batch into ``parts`` equal micro-batches (gradient accumulation); every entry is
    batch-first (its length is the batch size)."""
    size = exact_div(len(next(iter(batch.values()))), parts)
    return [{k: v[i * size:(i + 1) * size] for k, v in batch.items()} for i in range(parts)]
