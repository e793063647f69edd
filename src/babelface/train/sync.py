"""Training the sync expert (SyncLipMAE §3.3 L_CL on babelface motion), resumable, on one machine.

    python -m babelface.train.sync --data DIR [--data DIR ...] --out runs/sync [--config FILE]
                                   [--steps N] [--resume] [--export PATH]

``--data`` takes folders of clips (see :func:`load_clips`): a benchmark or ``prepare`` folder with
a ``manifest.jsonl``, or a folder of ``.npz`` clips holding ``mel`` (4T, 80) log-mel and
``motion`` (T, 111, 3). Languages are sampled uniformly; every crop is augmented
(:mod:`babelface.train.sync_augment`).

Checkpoints (``--out``): ``last.safetensors`` / ``best.safetensors`` (the model, its config
inside, :meth:`SyncExpert.save`) and ``state.pt`` (optimizer and step; tensors and plain values
only, read back with ``torch.load(weights_only=True)``). Each step's randomness is seeded from
``(seed, step)``, so a run killed and resumed with ``--resume`` continues exactly.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path

import numpy as np
import torch

from babelface.constants import FPS, MEL_FRAMES_PER_VIDEO_FRAME, SAMPLES_PER_FRAME
from babelface.errors import InputError
from babelface.media._atomic import atomic_write_text
from babelface.models.sync_expert import SyncExpert, SyncExpertConfig, speech_frames
from babelface.models.sync_loss import (ContrastiveConfig, audio_descriptors, contrastive_loss,
                                        offset_scores)
from babelface.train.sync_augment import AugmentConfig, augment, augment_motion, silence_frames

log = logging.getLogger("babelface.train.sync")
K = MEL_FRAMES_PER_VIDEO_FRAME


@dataclass
class SyncTrainConfig:
    model: SyncExpertConfig = field(default_factory=SyncExpertConfig)
    loss: ContrastiveConfig = field(default_factory=ContrastiveConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    crop_frames: int = 80               # T of a training crop (3.2 s)
    batch_size: int = 32
    steps: int = 8000
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup: int = 300
    grad_clip: float = 5.0
    seed: int = 0
    threads: int = 1                   # more threads thrash on a shared 2-core machine
    log_every: int = 50
    ckpt_every: int = 250
    val_every: int = 500
    val_crops: int = 256                # offset-detection crops for validation
    val_frames: int = 75                # length of a validation crop (3 s)
    # The articulatory model times each gesture on its acoustic segment; real lips move a little
    # ahead of the sound they make (Schwartz & Savariaux 2014: from 20 ms audio lead to 70 ms
    # audio lag for chained syllables). Synthetic motion is advanced by this much (ms).
    synthetic_lead_ms: float = 0.0
    # real talking-face clips (``babelface prepare`` output) form their own group of crops, drawn
    # with this probability (0: one more group beside the languages, drawn as often as each)
    real_share: float = 0.0
    wav2vec2: str | None = None         # local wav2vec 2.0 folder: train on its features (§3.2)
    wav2vec2_rate_match: str = "pool"   # "pool" (2 frames → 1) or "resample" (the paper's)


REAL_GROUP = "real"                 # the crop group of real (non-synthetic) clips


def _override(obj, values: dict):
    for k, v in values.items():
        if not hasattr(obj, k):
            raise InputError(f"unknown config field {k!r} in {type(obj).__name__}")
        cur = getattr(obj, k)
        if is_dataclass(cur) and isinstance(v, dict):
            _override(cur, v)
        else:
            setattr(obj, k, tuple(v) if isinstance(cur, tuple) else v)
    return obj


def load_config(path: str | Path | None, **overrides) -> SyncTrainConfig:
    """Defaults, then the YAML file's values, then keyword ``overrides``."""
    cfg = SyncTrainConfig()
    if path is not None:
        import yaml
        raw = yaml.safe_load(Path(path).read_text()) or {}
        _override(cfg, raw)
    return _override(cfg, {k: v for k, v in overrides.items() if v is not None})


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


def load_clips(folders, split: str | None = None, synthetic_lead_ms: float = 0.0) -> list[dict]:
    """Clips with ``mel`` (4T, 80), ``motion`` (T, 111, 3), ``language``, ``split``, ``id``.

    A folder with a ``manifest.jsonl`` is read through the dataset manifest
    (:mod:`babelface.data.manifest`); otherwise every ``*.npz`` below it is a clip.
    ``synthetic_lead_ms``: the motion of synthetic clips is advanced by this much (see
    :attr:`SyncTrainConfig.synthetic_lead_ms`).
    """
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
    """Random augmented crops of ``t`` frames, languages sampled uniformly.

    With a wav2vec 2.0 ``encoder`` the audio input is its features of the crop's waveform (clips
    must carry ``audio``); the log-mel augmentations then do not apply, the motion ones do.
    """

    def __init__(self, clips: list[dict], cfg: SyncTrainConfig, encoder=None):
        if not clips:
            raise InputError("no training clips: give --data folders holding clips")
        if encoder is not None:
            for c in clips:
                if "audio" not in c and "audio_path" in c:
                    from babelface.media.audio import load_audio
                    c["audio"] = load_audio(c["audio_path"])
            if any("audio" not in c for c in clips):
                raise InputError("training on wav2vec 2.0 features needs each clip's waveform ('audio')")
        self.clips = clips
        self.cfg = cfg
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

    def batch(self, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        t = self.cfg.crop_frames
        feats, mels, motions, valids = [], [], [], []
        for _ in range(self.cfg.batch_size):
            c, s, e = self._raw_crop(rng, t if self.encoder is not None else
                                     int(t * self.cfg.augment.tempo[1]) + 2)
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
            mels.append(np.pad(mel[: n * K], ((0, pad * K), (0, 0)), mode="edge"))
            motions.append(np.pad(np.nan_to_num(motion[:n]), ((0, pad), (0, 0), (0, 0))))
            valids.append(np.pad(valid[:n], (0, pad)))
            if self.encoder is not None:
                from babelface.models.wav2vec2 import wav2vec2_features
                f = wav2vec2_features(self.encoder, c["audio"][s * SAMPLES_PER_FRAME:(s + n) * SAMPLES_PER_FRAME],
                                      self.cfg.wav2vec2_rate_match)
                feats.append(np.pad(f[:n], ((0, pad), (0, 0)), mode="edge"))
        mel = torch.from_numpy(np.stack(mels))
        audio_in = torch.from_numpy(np.stack(feats)) if self.encoder is not None else mel
        speech = torch.from_numpy(np.stack([speech_frames(m) for m in mels]))
        return {"audio_in": audio_in, "motion": torch.from_numpy(np.stack(motions)),
                "valid": torch.from_numpy(np.stack(valids)), "desc": audio_descriptors(mel),
                "speech": speech}


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
    est = []
    for x, motion, _, _, mel in pairs:
        a, v = model(torch.from_numpy(x)[None], torch.from_numpy(motion)[None])
        m = min(max_offset, a.shape[1] - 2)
        est.append(estimate_offset(a[0].numpy(), v[0].numpy(), m, audio_valid=speech_frames(mel)).offset_frames)
    return np.array(est)


# --- the loop -----------------------------------------------------------------------------------
def _lr(cfg: SyncTrainConfig, step: int) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    p = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


def _param_groups(model: torch.nn.Module, weight_decay: float):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "norm" in name else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def train(cfg: SyncTrainConfig, data: list[str | Path], out: str | Path, resume: bool = False,
          val_data: list[str | Path] | None = None) -> Path:
    """Train (or resume) a sync expert; returns the path of the best checkpoint."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    clips = load_clips(data, split="train", synthetic_lead_ms=cfg.synthetic_lead_ms)
    cfg.model.extra["synthetic_lead_ms"] = cfg.synthetic_lead_ms
    encoder = None
    if cfg.wav2vec2:
        from babelface.models.wav2vec2 import load_wav2vec2
        encoder = load_wav2vec2(cfg.wav2vec2)
        cfg.model.audio_encoder, cfg.model.wav2vec2_dim = "wav2vec2", encoder.cfg.features_dim
        cfg.model.extra["wav2vec2_rate_match"] = cfg.wav2vec2_rate_match
    val = [_augmented(c, cfg.augment, cfg.seed + i, encoder, cfg.wav2vec2_rate_match)
           for i, c in enumerate(load_clips(val_data or data, split="val",
                                            synthetic_lead_ms=cfg.synthetic_lead_ms))]
    sampler = CropSampler(clips, cfg, encoder)
    val_pairs = shifted_pairs(val, cfg.val_crops, cfg.val_frames, 15, cfg.seed + 1) if val else []
    torch.manual_seed(cfg.seed)
    model = SyncExpert(cfg.model)
    opt = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr)
    step, best = 0, -1.0
    state_path = out / "state.pt"
    if resume and state_path.exists():
        model = SyncExpert.load(out / "last.safetensors")
        opt = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr)
        state = torch.load(state_path, weights_only=True)
        opt.load_state_dict(state["optimizer"])
        step, best = int(state["step"]), float(state["best"])
        log.info("resumed at step %d", step)
    atomic_write_text(out / "config.json", json.dumps(asdict(cfg), indent=2, default=list))
    n_clips = {lang: len(ix) for lang, ix in sampler.by_lang.items()}
    meta = {"train_clips": json.dumps(n_clips)}
    t0 = time.time()
    while step < cfg.steps:
        model.train()
        rng = np.random.default_rng([cfg.seed, step])
        torch.manual_seed(cfg.seed * 1_000_003 + step)
        b = sampler.batch(rng)
        for g in opt.param_groups:
            g["lr"] = _lr(cfg, step)
        a, v = model(b["audio_in"], b["motion"], b["valid"])
        loss, logs = contrastive_loss(a, v, cfg.loss, b["valid"], b["desc"], b["speech"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        step += 1
        if step % cfg.log_every == 0:
            log.info("step %d loss %.4f %s lr %.2e %.2fs/step", step, float(loss.detach()), logs, _lr(cfg, step),
                     (time.time() - t0) / cfg.log_every)
            t0 = time.time()
        do_val = val_pairs and (step % cfg.val_every == 0 or step == cfg.steps)
        if do_val:
            truth = np.array([p[2] for p in val_pairs])
            err = np.abs(estimate_offsets(model, val_pairs) - truth)
            acc1 = float(np.mean(err <= 1))
            log.info("step %d val Acc±1 %.3f Offset %.2f", step, acc1, float(err.mean()))
            # best = the first checkpoint to reach the highest Acc±1 (early stopping). Later ties are
            # not taken: on the synthetic validation Acc±1 saturates at 1.0 by step ~1,000, and the
            # longer-trained expert fits the synthetic motion better while losing real video (the
            # step-6,000 model misread a real clip lagged by +5 and +10 frames as −9 and −4; the
            # step-1,000 one reads every shift within ±1: RESULTS.md "Sync expert").
            if acc1 > best:
                best = acc1
                model.save(out / "best.safetensors", {**meta, "step": str(step), "val_acc1": f"{acc1:.4f}",
                                                      "val_offset": f"{float(err.mean()):.4f}"})
        if step % cfg.ckpt_every == 0 or step == cfg.steps:
            model.save(out / "last.safetensors", {**meta, "step": str(step)})
            tmp = state_path.with_suffix(".tmp")
            torch.save({"optimizer": opt.state_dict(), "step": step, "best": best}, tmp)
            tmp.replace(state_path)
    if not (out / "best.safetensors").exists():
        model.save(out / "best.safetensors", {**meta, "step": str(step)})
    return out / "best.safetensors"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m babelface.train.sync", description=__doc__.split("\n")[0])
    p.add_argument("--data", action="append", required=True, help="folder of clips (repeatable)")
    p.add_argument("--val-data", action="append", help="folder of validation clips (default: --data)")
    p.add_argument("--out", default="runs/sync", help="checkpoint folder")
    p.add_argument("--config", help="YAML file overriding SyncTrainConfig fields")
    p.add_argument("--steps", type=int)
    p.add_argument("--threads", type=int)
    p.add_argument("--resume", action="store_true", help="continue from OUT/state.pt")
    p.add_argument("--wav2vec2", help="local wav2vec 2.0 folder (config.json + model.safetensors): "
                                      "train the audio adapter on all its layers (SyncLipMAE §3.2)")
    p.add_argument("--export", help="copy the best checkpoint here at the end (e.g. the package asset)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cfg = load_config(args.config, steps=args.steps, threads=args.threads, wav2vec2=args.wav2vec2)
    best = train(cfg, args.data, args.out, resume=args.resume, val_data=args.val_data)
    if args.export:
        SyncExpert.load(best).save(args.export, {k: v for k, v in SyncExpert.load(best).metadata.items()
                                                 if k not in ("format", "version", "config")})
        log.info("exported %s", args.export)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
