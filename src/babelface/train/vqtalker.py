"""VQTalker's two training tasks on the one trainer (``babelface.train.task``).

- ``vqtalker_tokenizer``: the GRFSQ motion tokenizer (``papers/003`` Fig. 2a), motion → codes → motion,
  on the synthetic benchmark and the real corpus' training speakers.
- ``vqtalker``: the coarse-to-fine generator (Fig. 2b, Fig. 3) on a frozen tokenizer's codes,
  trained with the per-group NLL (§ Coarse-to-Fine Motion Generation).

Data: the benchmark's ``train`` split plus the real corpus' ``train`` split repeated to make up
``real_share`` of each epoch (``train.mix.MixedDataset``, without its speaker normalisation: the
tokenizer must reproduce real motion as it was measured). Clips are read once into memory (float16) and cropped at random:
reading a clip from its manifest costs ~30 ms, two orders more than a training step's share.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset

from babelface.constants import MEL_FRAMES_PER_VIDEO_FRAME, N_MELS
from babelface.models.grfsq import code_hits
from babelface.models.motion_tokenizer import MOTION_DIM, MotionTokenizer, MotionTokenizerConfig
from babelface.models.vqtalker import VQTalker, VQTalkerConfig
from babelface.train.config import RunConfig
from babelface.train.data import collate
from babelface.train.evaluate import lse_d
from babelface.train.mix import MixedDataset


@dataclass
class VQDataConfig:
    root: str = "data/benchmark"                 # synthetic benchmark (manifest.jsonl)
    real_root: str | None = "data/real_corpus"   # prepared real clips; None: synthetic only
    train_split: str = "train"
    val_split: str = "val"
    real_share: float = 0.25                     # share of an epoch's items drawn from real clips
    max_clips: int = 0                           # read at most this many clips per corpus (0: all; tests)
    num_workers: int = 0


@dataclass
class TokenizerRunConfig(RunConfig):
    task: str = "vqtalker_tokenizer"
    model: MotionTokenizerConfig = field(default_factory=MotionTokenizerConfig)
    data: VQDataConfig = field(default_factory=VQDataConfig)


@dataclass
class GeneratorRunConfig(RunConfig):
    task: str = "vqtalker"
    model: VQTalkerConfig = field(default_factory=VQTalkerConfig)
    data: VQDataConfig = field(default_factory=VQDataConfig)


class ClipCache(Dataset):
    """Every clip of a manifest split in memory (motion, and mel when ``with_mel``), served whole
    (``crop=None``) or as random crops of ``crop`` frames."""

    def __init__(self, root: str, split: str, crop: int | None, with_mel: bool, max_clips: int = 0):
        from babelface.data.datasets import ManifestDataset
        base = ManifestDataset(root, split=split, crop_frames=None, random_crop=False)
        n = len(base) if not max_clips else min(max_clips, len(base))
        self.clips = base.clips[:n]
        self.items = []
        for i in range(n):
            it = base[i]
            keep = {"motion": it["motion"].numpy().astype(np.float16), "language": it["language"],
                    "speaker": it["speaker"], "id": it["id"]}
            if with_mel:
                keep["mel"] = it["mel"].numpy().astype(np.float16)
            self.items.append(keep)
        self.crop = crop
        self.frame_keys: list[str] = []                                         # per-frame arrays cropped with the motion

    def attach(self, key: str, fn) -> None:
        """Store ``fn(item)`` (an array whose first axis is the clip's frames) under ``key`` for every
        clip, computed once on the WHOLE clip, and crop it with the motion from then on."""
        for it in self.items:
            it[key] = fn(it)
        self.frame_keys.append(key)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        it = self.items[index]
        t = len(it["motion"])
        start = 0
        length = t if self.crop is None else min(t, self.crop)
        if self.crop is not None and t > self.crop:
            start = int(torch.randint(0, t - self.crop + 1, (1,)))
        k = MEL_FRAMES_PER_VIDEO_FRAME
        out = {"motion": it["motion"][start:start + length].astype(np.float32),
               "language": it["language"], "speaker": it["speaker"], "id": it["id"]}
        for key in self.frame_keys:
            out[key] = it[key][start:start + length]
        out["mel"] = (it["mel"][start * k:(start + length) * k].astype(np.float32) if "mel" in it
                      else np.zeros((length * k, N_MELS), np.float32))
        return out


def build_datasets(cfg, with_mel: bool) -> tuple[Dataset, Dataset]:
    data, seq_len = cfg.data, cfg.train.seq_len
    train: Dataset = ClipCache(data.root, data.train_split, seq_len, with_mel, data.max_clips)
    val = ClipCache(data.root, data.val_split, None, with_mel, data.max_clips)
    if data.real_root:
        real = ClipCache(data.real_root, data.train_split, seq_len, with_mel, data.max_clips)
        train = MixedDataset(train, real, data.real_share, normalize=False)   # real motion as measured
    return train, val


def motion_statistics(dataset: Dataset, max_items: int = 2000) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std (333,) of motion over (up to ``max_items``) items of ``dataset``."""
    xs = [np.asarray(dataset[i]["motion"], np.float32).reshape(-1, MOTION_DIM)
          for i in range(min(len(dataset), max_items))]
    x = torch.from_numpy(np.concatenate(xs))
    return x.mean(0), x.std(0)


def motion_lse(pred: torch.Tensor, true: torch.Tensor, mask: torch.Tensor) -> list[float]:
    """LSE-D (MuEx eq. 7) per sequence of a padded batch (b, t, L, 3) twice."""
    out = []
    for j, n in enumerate(mask.sum(1).tolist()):
        out.append(lse_d(pred[j, :n].float().cpu().numpy(), true[j, :n].float().cpu().numpy()))
    return out


class _VQTask:
    """What both tasks share: LSE-D as the monitor and the clip cache, read once per run."""

    monitor = "lse_d"
    monitor_mode = "min"
    with_mel: bool

    def __init__(self):
        self._data: tuple[Dataset, Dataset] | None = None

    def datasets(self, cfg) -> tuple[Dataset, Dataset]:
        if self._data is None:
            self._data = build_datasets(cfg, with_mel=self.with_mel)
        return self._data


class TokenizerTask(_VQTask):
    """Motion → GRFSQ codes → motion; validated by the reconstruction's LSE-D."""

    name = "vqtalker_tokenizer"
    config_class = TokenizerRunConfig
    with_mel = False

    def build_model(self, cfg) -> MotionTokenizer:
        return MotionTokenizer(cfg.model)

    def setup(self, trainer) -> None:
        """Motion statistics of the training set (a resumed run's checkpoint then overwrites them)."""
        trainer.model.set_statistics(*motion_statistics(self.datasets(trainer.cfg)[0]))

    def training_step(self, model, batch: dict, step: int) -> dict:
        out = model(batch["motion"], batch["mask"])
        return getattr(model, "module", model).loss(out, batch["motion"], batch["mask"])

    @torch.no_grad()
    def validate(self, model, val_loader) -> dict[str, float]:
        was = model.training
        model.eval()
        scores, hits = [], None
        try:
            for batch in val_loader:
                out = model(batch["motion"], batch["mask"])
                scores += motion_lse(out.motion, batch["motion"], batch["mask"])
                h = code_hits(out.quantized.codes, model.cfg.quantizer.codebook_size, batch["mask"])
                hits = h if hits is None else hits | h
        finally:
            model.train(was)
        usage = hits.float().mean(-1).mean(-1)                                  # (G,) mean over layers
        return {"lse_d": float(np.mean(scores)), "usage_min": float(usage.min()),
                "usage_mean": float(usage.mean()), "utterances": len(scores)}


def read_state(path: str) -> dict[str, torch.Tensor]:
    """A module's tensors from a safetensors checkpoint (a trainer checkpoint's ``model.`` prefix removed)."""
    from safetensors.torch import load_file
    tensors = load_file(path)
    if any(k.startswith("model.") for k in tensors):
        tensors = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    return tensors


def mel_frames(dataset: Dataset, n_frames: int = 100_000, seed: int = 0) -> torch.Tensor:
    """A random sample of ``n_frames`` normalised log-mel frames (n, 80) of ``dataset``'s items."""
    g = torch.Generator().manual_seed(seed)
    mels = torch.cat([torch.as_tensor(np.asarray(dataset[i]["mel"], np.float32))
                      for i in torch.randperm(len(dataset), generator=g)[:2000].tolist()])
    return mels[torch.randperm(len(mels), generator=g)[:n_frames]]


def clip_caches(dataset: Dataset) -> list[ClipCache]:
    """The clip caches behind a training set (a ``MixedDataset`` holds two)."""
    return [dataset.main, dataset.extra] if isinstance(dataset, MixedDataset) else [dataset]


@torch.no_grad()
def attach_targets(model: VQTalker, clips: ClipCache) -> None:
    """Each clip's speech units (t, n) and frozen-tokenizer codes (t, G, R), computed on the whole
    clip as at inference (``VQTalker.generate_codes`` sees the whole utterance). Computed on a
    random crop instead, the units and codes of the frames near its ends differ (the encoders'
    receptive fields see zero padding there: 8 % of a 64-frame crop's MuEx units did), so training
    targets would not be the codes the tokenizer gives the utterance."""
    was = model.training
    model.eval()
    dev = next(model.parameters()).device

    def tensor(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(x.astype(np.float32))[None].to(dev)
    try:
        clips.attach("units", lambda it: model.units(tensor(it["mel"]))[0].cpu().numpy().astype(np.int16))
        clips.attach("codes", lambda it: model.tokenizer.encode(
            tensor(it["motion"]))[0].permute(2, 0, 1).cpu().numpy().astype(np.int16))
    finally:
        model.train(was)


class GeneratorTask(_VQTask):
    """Coarse-to-fine generation of a frozen tokenizer's codes; validated by the generated motion's LSE-D."""

    name = "vqtalker"
    config_class = GeneratorRunConfig
    with_mel = True

    def build_model(self, cfg) -> VQTalker:
        return VQTalker(cfg.model)

    def setup(self, trainer) -> None:
        """The frozen tokenizer's weights and the k-means speech units (a resumed run's checkpoint
        then overwrites both with the same values)."""
        model, cfg = trainer.model, trainer.cfg.model
        if cfg.tokenizer_weights:
            model.tokenizer.load_state_dict(read_state(cfg.tokenizer_weights))
        train = self.datasets(trainer.cfg)[0]
        if cfg.units == "mel":
            model.units.fit(mel_frames(train))
        for clips in clip_caches(train):
            attach_targets(model, clips)

    def collate(self, items: list[dict]) -> dict:
        """The kit's collate, plus the whole-clip ``units`` (b, t, n) and ``codes`` (b, G, R, t) of
        training crops, zero-padded (masked out of the loss)."""
        batch = collate(items)
        if "codes" not in items[0]:
            return batch                                                         # validation: mel only
        b, t = batch["mask"].shape
        units = torch.zeros((b, t) + items[0]["units"].shape[1:], dtype=torch.long)
        codes = torch.zeros((b, t) + items[0]["codes"].shape[1:], dtype=torch.long)
        for j, it in enumerate(items):
            units[j, :len(it["units"])] = torch.from_numpy(it["units"].astype(np.int64))
            codes[j, :len(it["codes"])] = torch.from_numpy(it["codes"].astype(np.int64))
        batch["units"], batch["codes"] = units, codes.permute(0, 2, 3, 1)         # (b, G, R, t)
        return batch

    def export(self, model, path, **header):
        """The shipped file: tokenizer, speech units and generator in one safetensors, stored as
        float16 (3.8 MB instead of 7.6; loading casts back to float32)."""
        return copy.deepcopy(model).half().save_pretrained(path, dtype="float16", **header)

    def training_step(self, model, batch: dict, step: int) -> dict:
        model = getattr(model, "module", model)                                  # DDP-wrapped
        model.tokenizer.eval()
        return model.loss(batch["mel"], batch["motion"], batch["mask"], batch.get("controls"),
                          units=batch.get("units"), codes=batch.get("codes"))

    @torch.no_grad()
    def validate(self, model, val_loader) -> dict[str, float]:
        was = model.training
        model.eval()
        scores = []
        try:
            for batch in val_loader:
                motion = model.generate_motion(batch["mel"], batch["mask"], batch.get("controls"))
                scores += motion_lse(motion, batch["motion"], batch["mask"])
        finally:
            model.train(was)
        return {"lse_d": float(np.mean(scores)), "utterances": len(scores)}
