"""The sync expert as a task of the one trainer (``task: sync_expert``; SyncLipMAE §3.3 L_CL on
babelface motion).

    babelface train --config sync_expert --set data.roots=[data/benchmark] --set train.out_dir=runs/sync_expert \
        [--resume] [--export src/babelface/assets/sync_expert.safetensors]

``data.roots`` are folders of clips (see :func:`load_clips`): a benchmark or ``prepare`` folder
with a ``manifest.jsonl``, or a folder of ``.npz`` clips holding ``mel`` (4T, 80) log-mel and
``motion`` (T, 111, 3). A training item is one augmented crop (:mod:`babelface.train.sync_augment`),
languages sampled uniformly; its randomness comes from the trainer's per-item seed, so a run
killed and resumed continues exactly. Validation (every ``train.ckpt_every`` steps): offset
detection on ``data.val_crops`` shifted crops of the validation clips; checkpoints are ranked by
Acc±1 (the first to reach the highest is kept: early stopping).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from babelface.constants import FPS, MEL_FRAMES_PER_VIDEO_FRAME, SAMPLES_PER_FRAME
from babelface.errors import InputError
from babelface.data.datasets import aligned_parts
from babelface.media.features import speech_frames
from babelface.models.sync_expert import SyncExpert, SyncExpertConfig
from babelface.face.indices import CHIN, LIPS, motion_slot
from babelface.models.sync_loss import ContrastiveConfig, audio_descriptors, contrastive_loss, ranking_loss
from babelface.train.config import OptimConfig, RunConfig, TrainConfig
from babelface.train.sync_augment import AugmentConfig, augment, augment_motion, silence_frames

K = MEL_FRAMES_PER_VIDEO_FRAME


@dataclass
class SyncDataConfig:
    roots: tuple[str, ...] = ()         # folders of training (and, without val_roots, validation) clips
    val_roots: tuple[str, ...] = ()     # folders of validation clips (default: roots, split val)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    crops_per_epoch: int = 4096         # training items per (virtual) epoch: crops are drawn afresh
    val_crops: int = 256                # offset-detection crops for validation
    val_frames: int = 75                # length of a validation crop (3 s)
    # The articulatory model times each gesture on its acoustic segment; real lips move a little
    # ahead of the sound they make (Schwartz & Savariaux 2014: from 20 ms audio lead to 70 ms
    # audio lag for chained syllables). Synthetic motion is advanced by this much (ms).
    synthetic_lead_ms: float = 0.0
    # real talking-face clips (``babelface prepare`` output) form their own group of crops, drawn
    # with this probability (0: one more group beside the languages, drawn as often as each)
    real_share: float = 0.0
    # a JSON file {clip id: frames} of real clips' own audio-video offsets (+: the video lags the
    # audio); a listed clip's motion is advanced by its offset, a clip listed as null is left out
    # (scripts/real_av_offsets.json: how they were measured)
    real_offsets: str | None = None
    # leave out every real clip real_offsets lists instead of re-aligning it by its offset: train on
    # the clips whose own audio the expert read as in sync only (as the muex-real read-out does)
    real_in_sync_only: bool = False
    real_val_crops: int = 96            # offset-detection crops of the real validation clips
    wav2vec2: str | None = None         # local wav2vec 2.0 folder: train on its features (§3.2)
    wav2vec2_rate_match: str = "pool"   # "pool" (2 frames → 1) or "resample" (the paper's)
    num_workers: int = 0


@dataclass
class SyncOptimConfig(OptimConfig):
    name: str = "adamw"
    lr: float = 1e-3
    warmup_steps: int = 300
    amp: bool = False


@dataclass
class SyncTrainSection(TrainConfig):
    out_dir: str = "runs/sync_expert"
    batch_size: int = 32
    seq_len: int = 80                   # T of a training crop (3.2 s)
    max_steps: int = 8000
    ckpt_every: int = 500               # validation and checkpoint
    keep_best: int = 1
    threads: int = 1                    # more threads thrash on a shared 2-core machine


@dataclass
class SyncRunConfig(RunConfig):
    """The sync expert's sections over the trainer's run config, and its ``loss``."""

    task: str = "sync_expert"
    model: SyncExpertConfig = field(default_factory=SyncExpertConfig)
    optim: SyncOptimConfig = field(default_factory=SyncOptimConfig)
    train: SyncTrainSection = field(default_factory=SyncTrainSection)
    data: SyncDataConfig = field(default_factory=SyncDataConfig)
    loss: ContrastiveConfig = field(default_factory=ContrastiveConfig)


REAL_GROUP = "real"                 # the crop group of real (non-synthetic) clips
_MOUTH = motion_slot(tuple(sorted(set(LIPS) | set(CHIN))))     # what "mouth frozen" holds still


# --- data ---------------------------------------------------------------------------------------
def _npz_clip(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        clip = {"mel": z["mel"].astype(np.float32), "motion": z["motion"].astype(np.float32)}
        clip["language"] = str(z["language"]) if "language" in z else "und"
        clip["split"] = str(z["split"]) if "split" in z else "train"
        if "audio" in z:
            clip["audio"] = z["audio"].astype(np.float32)
        clip["synthetic"] = bool(z["synthetic"]) if "synthetic" in z else True
    clip["id"] = path.stem
    return clip


def advance(motion: np.ndarray, frames: float) -> np.ndarray:
    """Motion shown ``frames`` earlier (linear interpolation; the last frame is held):
    ``out[t] = motion[t + frames]``."""
    if frames == 0:
        return motion
    t = len(motion)
    src = np.clip(np.arange(t) + frames, 0, t - 1)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, t - 1)
    w = (src - i0)[:, None, None]
    return ((1 - w) * motion[i0] + w * motion[i1]).astype(np.float32)


def realign(mel: np.ndarray, motion: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """A clip whose video lags its audio by ``frames`` (negative: leads), cut to its aligned part:
    audio frame ``t`` pairs with video frame ``t + frames``. ``mel (4T, F)``, ``motion (T, P, 3)``."""
    a, v = aligned_parts(len(motion), frames)                    # audio frames with a video frame
    return mel[a.start * K:a.stop * K], motion[v]


def read_offsets(path: str | Path | None) -> dict[str, int | None]:
    """The ``{clip id: frames or None}`` map of :attr:`SyncDataConfig.real_offsets` (empty without one)."""
    if not path:
        return {}
    import json
    try:
        table = json.loads(Path(path).read_text())["offsets"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"cannot read real clips' offsets from {path}: {e}") from e
    if not isinstance(table, dict) or not all(v is None or isinstance(v, int) for v in table.values()):
        raise InputError(f"{path}: 'offsets' must map clip ids to whole frames or null")
    return table


def load_clips(folders, split: str | None = None, synthetic_lead_ms: float = 0.0,
               real_offsets: dict[str, int | None] | None = None, in_sync_only: bool = False) -> list[dict]:
    """Clips with ``mel`` (4T, 80), ``motion`` (T, 111, 3), ``language``, ``split``, ``id``.

    A folder with a ``manifest.jsonl`` is read through the dataset manifest
    (:mod:`babelface.data.manifest`); otherwise every ``*.npz`` below it is a clip.
    ``synthetic_lead_ms``: the motion of synthetic clips is advanced by this much (see
    :attr:`SyncDataConfig.synthetic_lead_ms`); ``real_offsets`` (:func:`read_offsets`): real clips
    re-aligned by their own measured offset, or left out (every listed one with ``in_sync_only``).
    """
    real_offsets = real_offsets or {}
    clips: list[dict] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise InputError(f"training data folder not found: {folder}")
        if (folder / "manifest.jsonl").exists():
            clips.extend(_manifest_clips(folder, split))
            continue
        for p in sorted(folder.rglob("*.npz")):
            clip = _npz_clip(p)
            if split is None or clip["split"] == split:
                clips.append(clip)
    out = []
    for c in clips:
        t = min(len(c["motion"]), len(c["mel"]) // K)
        if t >= 8:
            c["mel"], c["motion"] = c["mel"][: t * K], c["motion"][:t]
            if c.get("synthetic", False) and synthetic_lead_ms:
                c["motion"] = advance(c["motion"], synthetic_lead_ms * FPS / 1000)
            elif not c.get("synthetic", True) and c["id"] in real_offsets:
                if real_offsets[c["id"]] is None or in_sync_only:
                    continue
                c["mel"], c["motion"] = realign(c["mel"], c["motion"], real_offsets[c["id"]])
            out.append(c)
    return out


def _manifest_clips(folder: Path, split: str | None) -> list[dict]:
    """Clips of a manifest folder (``babelface bench build`` or ``babelface prepare``): the stored
    un-normalised log-mel (``features``) or the log-mel of the 16 kHz audio, the motion (NaN frames
    of real clips stay NaN: no face), and whether the clip is synthetic (``provenance.source``)."""
    try:
        from babelface.data.manifest import load_manifest
    except ImportError as e:                                    # pragma: no cover - issue 4 not installed
        raise InputError(f"{folder} is a manifest folder, but babelface.data.manifest is not "
                         "available in this installation") from e
    from babelface.media.audio import load_audio
    from babelface.media.features import log_mel
    out = []
    for c in load_manifest(folder):
        if (split is not None and c.split != split) or c.motion is None or (c.features is None and c.audio is None):
            continue
        mel = c.array("features") if c.features is not None else log_mel(load_audio(c.path("audio")))
        clip = {"mel": mel.astype(np.float32), "motion": c.array("motion").astype(np.float32),
                "language": c.language, "split": c.split, "id": c.id,
                "synthetic": c.provenance.get("source") == "synthetic"}
        if c.audio is not None:
            clip["audio_path"] = c.path("audio")
        out.append(clip)
    return out


class CropSampler:
    """Random augmented crops of ``crop_frames`` frames, languages sampled uniformly.

    With a wav2vec 2.0 ``encoder`` the audio input is its features of the crop's waveform (clips
    must carry ``audio``); the log-mel augmentations then do not apply, the motion ones do.
    """

    def __init__(self, clips: list[dict], cfg: SyncDataConfig, crop_frames: int = 80, encoder=None):
        if not clips:
            raise InputError("no training clips: data.roots must name folders holding clips")
        if encoder is not None:
            for c in clips:
                if "audio" not in c and "audio_path" in c:
                    from babelface.media.audio import load_audio
                    c["audio"] = load_audio(c["audio_path"])
            if any("audio" not in c for c in clips):
                raise InputError("training on wav2vec 2.0 features needs each clip's waveform ('audio')")
        self.clips = clips
        self.cfg = cfg
        self.crop_frames = crop_frames
        self.encoder = encoder
        self.by_lang: dict[str, list[int]] = {}
        for i, c in enumerate(clips):               # real video: one group, whatever its language
            self.by_lang.setdefault(c["language"] if c.get("synthetic", True) else REAL_GROUP, []).append(i)
        self.langs = sorted(self.by_lang)

    def _group(self, rng: np.random.Generator) -> str:
        if self.cfg.real_share > 0 and REAL_GROUP in self.by_lang and len(self.langs) > 1:
            if rng.random() < self.cfg.real_share:
                return REAL_GROUP
            others = [g for g in self.langs if g != REAL_GROUP]
            return others[int(rng.integers(len(others)))]
        return self.langs[int(rng.integers(len(self.langs)))]

    def _raw_crop(self, rng: np.random.Generator, frames: int) -> tuple[dict, int, int]:
        lang = self._group(rng)
        c = self.clips[int(rng.choice(self.by_lang[lang]))]
        t = len(c["motion"])
        s = int(rng.integers(0, max(1, t - frames + 1)))
        return c, s, min(t, s + frames)

    def crop(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """One augmented crop: ``mel`` (4t, 80), ``motion`` (t, 111, 3), ``valid`` (t,) and, with
        wav2vec 2.0, ``audio_in`` (t, F); shorter crops padded to ``t``."""
        t = self.crop_frames
        c, s, e = self._raw_crop(rng, t if self.encoder is not None else int(t * self.cfg.augment.tempo[1]) + 2)
        o, os_, oe = self._raw_crop(rng, t)
        other = o["motion"][os_:oe]
        mel, motion = c["mel"][s * K:e * K], c["motion"][s:e]
        if self.encoder is None:
            mel, motion, valid = augment(mel, motion, rng, self.cfg.augment, other)
        else:
            finite = np.isfinite(motion).all(axis=(1, 2))
            motion, valid = augment_motion(np.nan_to_num(motion), rng, self.cfg.augment, silence_frames(mel),
                                           np.nan_to_num(other))
            valid &= finite
        n = min(t, len(motion))
        pad = t - n
        item = {"mel": np.pad(mel[: n * K], ((0, pad * K), (0, 0)), mode="edge"),
                "motion": np.pad(np.nan_to_num(motion[:n]), ((0, pad), (0, 0), (0, 0))),
                "valid": np.pad(valid[:n], (0, pad))}
        if self.encoder is not None:
            from babelface.models.wav2vec2 import wav2vec2_features
            f = wav2vec2_features(self.encoder, c["audio"][s * SAMPLES_PER_FRAME:(s + n) * SAMPLES_PER_FRAME],
                                  self.cfg.wav2vec2_rate_match)
            item["audio_in"] = np.pad(f[:n], ((0, pad), (0, 0)), mode="edge")
        return item

    def batch(self, rng: np.random.Generator, size: int) -> dict[str, torch.Tensor]:
        """``size`` crops drawn from ``rng``, collated (:func:`collate_crops`)."""
        return collate_crops([self.crop(rng) for _ in range(size)])


def collate_crops(items: list[dict]) -> dict[str, torch.Tensor]:
    """Crops → a batch: ``audio_in`` (the log-mel or wav2vec 2.0 features), ``motion``, ``valid``,
    the audio self-similarity descriptors ``desc`` and the speech frames ``speech``."""
    mels = [it["mel"] for it in items]
    mel = torch.from_numpy(np.stack(mels))
    audio_in = torch.from_numpy(np.stack([it["audio_in"] for it in items])) if "audio_in" in items[0] else mel
    speech = torch.from_numpy(np.stack([speech_frames(m) for m in mels]))
    return {"audio_in": audio_in, "motion": torch.from_numpy(np.stack([it["motion"] for it in items])),
            "valid": torch.from_numpy(np.stack([it["valid"] for it in items])), "desc": audio_descriptors(mel),
            "speech": speech}


class CropDataset(Dataset):
    """``n`` training items, each a fresh crop drawn from the trainer's per-item seed (NumPy's global
    state, seeded by :class:`babelface.train.data.SeededDataset`)."""

    def __init__(self, sampler: CropSampler, n: int):
        self.sampler, self.n = sampler, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        return self.sampler.crop(np.random.default_rng(np.random.randint(0, 2 ** 62, dtype=np.int64)))


# --- evaluation during training -------------------------------------------------------------
def _augmented(clip: dict, cfg: AugmentConfig, seed: int, encoder=None, rate_match: str = "pool") -> dict:
    """A validation clip disturbed once, reproducibly (no tempo change, no missing frames), with
    its audio input ``audio_in``: log-mel, or wav2vec 2.0 features of the clean waveform."""
    rng = np.random.default_rng(seed)
    mel, motion, _ = augment(clip["mel"], clip["motion"], rng,
                             AugmentConfig(**{**asdict(cfg), "p_tempo": 0.0, "p_missing": 0.0}))
    out = {**clip, "mel": mel, "motion": motion, "audio_in": mel}
    if encoder is not None:
        from babelface.models.wav2vec2 import wav2vec2_features
        out["audio_in"] = wav2vec2_features(encoder, clip["audio"], rate_match)[: len(motion)]
    return out


def shifted_pairs(clips: list[dict], n: int, frames: int, max_shift: int, seed: int
                  ) -> list[tuple[np.ndarray, np.ndarray, int, str]]:
    """``n`` (audio input, motion, true shift, language, mel) pairs whose video lags the audio by the shift:
    audio frames ``[s, s+L)``, video frames ``[s−Δ, s−Δ+L)``. Clips too short for any shift in
    ``[−max_shift, max_shift]`` with ``L`` frames are cut to what they allow."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        c = clips[i % len(clips)]
        t = len(c["motion"])
        shift = int(rng.integers(-max_shift, max_shift + 1))
        length = min(frames, t - abs(shift))
        if length < 8:
            shift = int(np.sign(shift)) * max(0, t - 8)
            length = t - abs(shift)
        lo, hi = max(0, shift), min(t, t + shift) - length
        s = int(rng.integers(lo, hi + 1))
        x = c.get("audio_in", c["mel"])
        r = len(x) // t                                   # rows per frame: 4 (log-mel) or 1
        out.append((x[s * r:(s + length) * r], c["motion"][s - shift:s - shift + length],
                    shift, c["language"], c["mel"][s * K:(s + length) * K]))
    return out


@torch.no_grad()
def estimate_offsets(model: SyncExpert, pairs, max_offset: int = 15) -> np.ndarray:
    """Estimated Δ̂ (argmax of S(Δ) over the speech frames, as `babelface sync`) for each
    (audio input, motion, shift, language, mel) pair."""
    from babelface.sync import estimate_offset
    model.eval()
    dev = next(model.parameters()).device
    est = []
    for x, motion, _, _, mel in pairs:
        a, v = model(torch.from_numpy(x)[None].to(dev), torch.from_numpy(motion)[None].to(dev))
        m = min(max_offset, a.shape[1] - 2)
        est.append(estimate_offset(a[0].cpu().numpy(), v[0].cpu().numpy(), m,
                                   audio_valid=speech_frames(mel)).offset_frames)
    return np.array(est)


def _lag_figures(model: SyncExpert, pairs, max_offset: int) -> dict:
    truth = np.array([p[2] for p in pairs])
    err = np.abs(estimate_offsets(model, pairs, max_offset) - truth)
    return {"acc1": float(np.mean(err <= 1)), "offset": float(err.mean()), "crops": len(pairs)}


def freeze_mouth(motion: torch.Tensor) -> torch.Tensor:
    """``(b, t, 111, 3)`` motion with the lips and chin held at the first frame (the known answer
    "mouth frozen"; benchmarks/sync_real.py does the same to the landmarks)."""
    out = motion.clone()
    out[:, :, _MOUTH] = motion[:, :1, _MOUTH]
    return out


@torch.no_grad()
def known_answer_share(model: SyncExpert, clips: list[dict], shift: int = 5) -> float:
    """The share of ``clips`` whose in-sync score S(0) (speech frames) ranks real > shifted by
    ±``shift`` > mouth frozen > reversed."""
    from babelface.models.sync_loss import offset_scores
    ranked = []
    dev = next(model.parameters()).device
    for c in clips:
        x = torch.from_numpy(c["audio_in"])[None].to(dev)
        motion = torch.from_numpy(np.nan_to_num(c["motion"]))[None].to(dev)
        valid = torch.from_numpy(np.isfinite(c["motion"]).all(axis=(1, 2)))[None].to(dev)
        speech = torch.from_numpy(speech_frames(c["mel"]))[None].to(dev)
        a, v = model(x, motion, valid)
        t = min(a.shape[1], v.shape[1], speech.shape[1])
        a, speech = a[:, :t], speech[:, :t]
        s = offset_scores(a, v[:, :t], shift, valid[:, :t], speech)[0]
        frozen = offset_scores(a, model.encode_motion(freeze_mouth(motion), valid)[:, :t], 0, valid[:, :t], speech)
        rev = offset_scores(a, model.encode_motion(motion.flip(1), valid.flip(1))[:, :t], 0, valid.flip(1)[:, :t],
                            speech)
        ranked.append(bool(s[shift] > max(s[0], s[-1]) > frozen[0, 0] > rev[0, 0]))
    return float(np.mean(ranked)) if ranked else float("nan")


# --- the task -----------------------------------------------------------------------------------
class SyncExpertTask:
    """``task: sync_expert``: L_CL (+ the shift-curve loss) on augmented crops; Acc±1 of offset
    detection ranks the checkpoints."""

    name = "sync_expert"
    monitor = "score"
    monitor_mode = "max"
    config_class = SyncRunConfig
    collate = staticmethod(collate_crops)
    max_offset = 15                      # validation shifts in [−15, 15] frames, as `babelface sync`

    def __init__(self):
        self.encoder = None
        self.loss_cfg = ContrastiveConfig()
        self.val_pairs: list = []
        self.real_pairs: list = []
        self.real_val: list[dict] = []

    def build_model(self, cfg: SyncRunConfig) -> SyncExpert:
        torch.set_num_threads(cfg.train.threads)
        self.loss_cfg = cfg.loss
        cfg.model.extra["synthetic_lead_ms"] = cfg.data.synthetic_lead_ms
        if cfg.data.wav2vec2:
            from babelface.models.wav2vec2 import load_wav2vec2
            self.encoder = load_wav2vec2(cfg.data.wav2vec2)
            cfg.model.audio_encoder, cfg.model.wav2vec2_dim = "wav2vec2", self.encoder.cfg.features_dim
            cfg.model.extra["wav2vec2_rate_match"] = cfg.data.wav2vec2_rate_match
        return SyncExpert(cfg.model)

    def datasets(self, cfg: SyncRunConfig):
        d = cfg.data
        if not d.roots:
            raise InputError("the sync expert needs training clips: set data.roots, e.g. "
                             "--set data.roots=[data/benchmark]")
        offsets = read_offsets(d.real_offsets)
        sampler = CropSampler(load_clips(d.roots, "train", d.synthetic_lead_ms, offsets, d.real_in_sync_only),
                              d, cfg.train.seq_len,
                              self.encoder)
        cfg.model.extra["train_clips"] = {g: len(ix) for g, ix in sorted(sampler.by_lang.items())}
        val = [_augmented(c, d.augment, cfg.train.seed + i, self.encoder, d.wav2vec2_rate_match)
               for i, c in enumerate(load_clips(d.val_roots or d.roots, "val", d.synthetic_lead_ms, offsets))]
        if not val:
            raise InputError("no validation clips (split val) in data.val_roots or data.roots: the sync "
                             "expert's checkpoints are ranked by offset detection on them")
        synthetic = [c for c in val if c.get("synthetic", True)]
        self.real_val = [c for c in val if not c.get("synthetic", True)]
        self.val_pairs = shifted_pairs(synthetic or val, d.val_crops, d.val_frames, self.max_offset, cfg.train.seed + 1)
        self.real_pairs = (shifted_pairs(self.real_val, d.real_val_crops, d.val_frames, self.max_offset,
                                         cfg.train.seed + 2) if synthetic and self.real_val else [])
        return CropDataset(sampler, d.crops_per_epoch), self.val_pairs

    def training_step(self, model, batch: dict, step: int) -> dict:
        a, v = model(batch["audio_in"], batch["motion"], batch["valid"])
        loss, logs = contrastive_loss(a, v, self.loss_cfg, batch["valid"], batch["desc"], batch["speech"])
        if self.loss_cfg.rank_weight > 0:
            motion, valid = batch["motion"], batch["valid"]
            v_frozen = model.encode_motion(freeze_mouth(motion), valid)
            v_rev = model.encode_motion(motion.flip(1), valid.flip(1))
            l_rank = ranking_loss(a, v, v_frozen, v_rev, self.loss_cfg, valid, batch["speech"], valid.flip(1))
            loss = loss + self.loss_cfg.rank_weight * l_rank
            logs["l_rank"] = float(l_rank.detach())
        return {"loss": loss, **logs}

    def validate(self, model: SyncExpert, val_loader) -> dict:
        """Acc±1 and mean |error| (frames) of the offsets read on the shifted validation crops
        (synthetic, and real clips apart); with real validation clips, the share ranked
        real > shifted ±5 > frozen mouth > reversed by S(0), and ``score``, the mean of the three
        (what ranks the checkpoints; without real clips it is Acc±1)."""
        was_training = model.training
        try:
            out = _lag_figures(model, self.val_pairs, self.max_offset)
            out["score"] = out["acc1"]
            if self.real_pairs:
                real = _lag_figures(model, self.real_pairs, self.max_offset)
                out.update({f"real_{k}": v for k, v in real.items()})
                out["real_ranked"] = known_answer_share(model, self.real_val)
                out["score"] = (out["acc1"] + real["acc1"] + out["real_ranked"]) / 3
        finally:
            model.train(was_training)
        return out

    def export(self, model: SyncExpert, path, **header):
        return model.save_pretrained(path, **header)
