"""The KMTalk training task (``papers/004``; :mod:`babelface.models.kmtalk`) for the one trainer.

One step trains the three parts together on the synthetic benchmark (exact phoneme timelines):

- the **boundary head**: BCE against the phoneme boundaries of the frame labels
  (:func:`babelface.models.keyframes.boundaries_from_labels`);
- **LKMA**: L1 of the key motions at the key frames;
- **CMC**: eq. 6-style L1 + temporal L1 of the completed motion (:func:`babelface.models.muex.generation_loss`);
- optionally the supplement's Table 4 consistency losses (latent MSE, text CTC).

Key frames are drawn per batch (``model.train_keys: mixed``, the shipped model): phoneme boundaries
(half the batches) or uniform sampling with stride 2, 3 or 4 (supplement Table 5), so one network
serves every localization (the paper trains one per setting; we could not afford four). Table 3's
ablation trains on one kind only (``phoneme`` or ``uniform``). CMC's input key motions are drawn per batch too: the
truth with noise and a random amplitude, LKMA's own (detached) prediction, or a MuEx teacher's
prediction, so that CMC learns to complete key motions that are not exact, as it must when it
refines another generator (supplement §A "Integration with Existing Methods"). The teacher is the
shipped MuEx unless ``cmc.teacher`` names another file; ``cmc.teacher_sha256`` pins its bytes, so
that a new MuEx cannot silently change what ``make model-kmtalk`` trains (kmtalk_default.yaml pins
the MuEx the shipped KMTalk was trained with, ``teachers/``).

The real-data stage (``kmtalk_real_stage.yaml``, issue 13 session 24) fine-tunes on real MediaPipe
motion, which has no phoneme labels: its "phoneme" key frames are the boundaries the model's own head
detects (as ``babelface animate`` finds them without a transcript), the boundary head gets no loss,
and ``cmc.teacher_share`` gives those clips MuEx's key motions more often than the truth or LKMA's
(refining MuEx's real-speech output is what the stage is for); labelled clips keep the draws above.
"""

from __future__ import annotations

import copy
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from babelface.config_io import from_dict
from babelface.errors import InputError, WeightsError
from babelface.models.kmtalk import KMTalk, KMTalkConfig
from babelface.models.keyframes import UNIFORM_STRIDES
from babelface.models.muex import generation_loss
from babelface.train.config import RunConfig

TRAIN_KEYS = ("mixed", "phoneme", "uniform")   # model.train_keys
PHONEME_SHARE = 0.5           # share of batches whose key frames are the phoneme boundaries
KEY_NOISE = 0.1               # σ of the noise on true key motions, in motion-scale units
KEY_GAIN = (0.8, 1.2)         # random amplitude of true key motions
SCALE_CLIPS = 300             # training clips measuring the motion RMS
SEED = 0x4B4D                 # the per-step draws: a generator seeded by (SEED, step), so resumable
THRESHOLDS = np.round(np.arange(0.2, 0.91, 0.05), 2)   # boundary thresholds tried on validation


def boundary_targets(phoneme: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame labels ``(b, t)`` → (boundary (b, t) bool, valid (b, t) bool): a frame is a boundary when
    its label differs from the previous frame's (as :func:`~babelface.models.keyframes.boundaries_from_labels`)."""
    prev = F.pad(phoneme[:, :-1], (1, 0), value=-1)
    known = (phoneme >= 0) & (prev >= 0) & mask
    return (phoneme != prev) & known, known


def ends(mask: torch.Tensor) -> torch.Tensor:
    """The first and the last real frame of each row, ``(b, t)`` bool."""
    out = torch.zeros_like(mask)
    out[:, 0] = True
    last = mask.sum(1).clamp_min(1) - 1
    out[torch.arange(len(mask), device=mask.device), last] = True
    return out & mask


def uniform_keys(mask: torch.Tensor, stride: int) -> torch.Tensor:
    key = torch.zeros_like(mask)
    key[:, ::stride] = True
    return (key & mask) | ends(mask)


def ctc_targets(phoneme: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame labels → the phoneme sequence of each row (repeats collapsed, unknown dropped), as
    CTC targets (ids + 1: 0 is the blank) and their lengths."""
    seqs = []
    for row, m in zip(phoneme, mask):
        r = row[m]
        r = r[r >= 0]
        if len(r):
            r = torch.unique_consecutive(r)
        seqs.append(r + 1)
    lengths = torch.tensor([len(s) for s in seqs])
    return torch.cat(seqs) if seqs else phoneme.new_zeros(0), lengths


@dataclass
class CMCInputConfig:
    """``cmc``: where CMC's key motions come from in training (not a model setting: kept out of
    ``model`` so that a run config with it resumes and fine-tunes the same network)."""
    teacher_share: float | None = None   # clips without phoneme labels (real motion): P(the teacher
                                         # MuEx's key motions), else the batch's draw (None: no change)
    train_cmc_only: bool = False         # train CMC alone (motion-flow encoder, fusion, decoder): the
                                         # audio encoder, boundary head and LKMA stay as initialised
    teacher: str | None = None           # the MuEx (safetensors) whose key motions CMC trains on, a path
                                         # from the working directory (the repo root under make); None:
                                         # the shipped MuEx
    teacher_sha256: str | None = None    # the teacher file's SHA-256 (hex), checked before training:
                                         # required with ``teacher``, optional for the shipped MuEx


@dataclass
class KMTalkRunConfig(RunConfig):
    task: str = "kmtalk"
    model: KMTalkConfig = field(default_factory=KMTalkConfig)
    cmc: CMCInputConfig = field(default_factory=CMCInputConfig)


class KMTalkTask:
    """``task: kmtalk`` (train/task.py protocol)."""

    name = "kmtalk"
    monitor = "val_l1"
    monitor_mode = "min"
    config_class = KMTalkRunConfig

    def __init__(self):
        self.rng = np.random.default_rng(SEED)
        self._teacher: list = []
        self._teacher_at_start = False          # --resume of a run that had loaded its teacher
        self.teacher_share: float | None = None
        self.cmc: CMCInputConfig | None = None

    # --- resume ------------------------------------------------------------------------------------
    def checkpoint_state(self) -> dict:
        """Whether the teacher has been loaded: building it draws from torch's RNG at its first use,
        so a run resumed after that moment must not build it again in the middle of a step."""
        return {"teacher_loaded": bool(self._teacher and self._teacher[0] is not None)}

    def restore_state(self, state: dict) -> None:
        """``--resume``: if the interrupted run had loaded the teacher, load it before the first step
        (:meth:`on_fit_start`, once ``cmc`` names it), not in the middle of one."""
        self._teacher_at_start = bool(state.get("teacher_loaded"))

    # --- protocol ----------------------------------------------------------------------------------
    def build_model(self, cfg: Any) -> KMTalk:
        model_cfg = getattr(cfg, "model", cfg)
        if not isinstance(model_cfg, KMTalkConfig):
            model_cfg = from_dict(KMTalkConfig, dict(model_cfg or {}), "model")
        if model_cfg.train_keys not in TRAIN_KEYS:
            raise InputError(f"model.train_keys must be one of {', '.join(TRAIN_KEYS)}, "
                             f"got {model_cfg.train_keys!r}")
        model = KMTalk(model_cfg)
        if getattr(getattr(cfg, "cmc", None), "train_cmc_only", False):
            for part in (model.audio_encoder, model.boundary_head, model.lkma):
                part.requires_grad_(False)
        return model

    def datasets(self, cfg: Any):
        """(train: random crops, val: whole clips) of ``data`` (the shipped config names the seen
        languages: ko, my, hi stay unseen)."""
        from babelface.train.builders import build_dataset
        return build_dataset(cfg, train=True), build_dataset(cfg, train=False)

    def on_fit_start(self, trainer) -> None:
        share = getattr(getattr(trainer.cfg, "cmc", None), "teacher_share", None)
        if share is not None and not 0 <= share <= 1:
            raise InputError(f"cmc.teacher_share must be in [0, 1], got {share}")
        self.teacher_share = share
        self.cmc = getattr(trainer.cfg, "cmc", None)
        teacher_file(self.cmc)                                  # a wrong teacher fails now, not at its first draw
        if self._teacher_at_start and not self._teacher:
            with torch.random.fork_rng(devices=[]):            # its build draws nothing from the run's RNG
                self.teacher()
        if trainer.step == 0 and not trainer.cfg.train.init_weights:    # fine-tuning keeps its scale
            trainer.model.set_motion_scale(motion_rms(trainer.train_set))

    def training_step(self, model: KMTalk, batch: dict, step: int) -> dict[str, torch.Tensor]:
        model = getattr(model, "module", model)
        self.rng = np.random.default_rng([SEED, step])
        cfg = model.cfg
        mask, motion, phoneme = batch["mask"], batch["motion"], batch["phoneme"]
        scale = model.motion_scale
        boundary, known = boundary_targets(phoneme, mask)
        audio, logit = model.encode(model.features_from_batch(batch), mask)
        key = self.draw_keys(boundary, mask, cfg.train_keys, unlabelled_keys(model, logit, known, mask))
        k = model.key_motions(audio, key, mask)                               # (b, t, V, 3)
        y = model.complete(audio, key, self.cmc_input(model, batch, k, key, ~known.any(1)), mask)
        km = (key & mask if cfg.key_focused else mask).float()              # Table 3 ablation: every frame
        key_l1 = (((k - motion).abs() / scale).mean((2, 3)) * km).sum() / km.sum().clamp_min(1)
        gen, l1, lt = generation_loss(y, motion, mask, scale, cfg.lambda_motion, cfg.lambda_t)
        bce = (F.binary_cross_entropy_with_logits(
            logit[known], boundary[known].float(), pos_weight=logit.new_tensor(cfg.boundary_pos_weight))
            if known.any() else logit.new_zeros(()))                        # real motion: no labels
        loss = cfg.lambda_key * key_l1 + gen + cfg.lambda_boundary * bce
        out = {"key_l1": key_l1, "l1": l1, "temporal": lt, "boundary_bce": bce}
        if cfg.lambda_latent > 0:                                             # Table 4: latent consistency
            with torch.no_grad():
                target = model.flow.key_in((motion / scale).flatten(2))      # (b, t, f), motion side fixed
            lat = ((model.latent_proj(audio) - target) ** 2).mean(-1)
            out["latent"] = (lat * km).sum() / km.sum().clamp_min(1)
            loss = loss + cfg.lambda_latent * out["latent"]
        if cfg.lambda_ctc > 0:                                                # Table 4: text consistency
            targets, lengths = ctc_targets(phoneme, mask)
            logp = model.lip_reader((y / scale).flatten(2).transpose(1, 2)).log_softmax(1)   # (b, C, t)
            ok = lengths > 0
            if ok.any():
                out["ctc"] = F.ctc_loss(logp.permute(2, 0, 1), targets, mask.sum(1), lengths,
                                        zero_infinity=True, reduction="mean")
                loss = loss + cfg.lambda_ctc * out["ctc"]
        out["loss"] = loss
        return out

    @torch.no_grad()
    def validate(self, model: KMTalk, val_loader) -> dict[str, float]:
        """Completed-motion L1 (phoneme keys from the true timeline, or the detected ones where the
        clips have no labels; LKMA's key motions), key-motion L1, and boundary precision/recall/F1 at
        ±1 frame. The boundary threshold with the best F1 on this (held-out) set becomes the model's
        ``boundary_threshold``, saved with its weights (kept where no clip has labels). With
        ``cmc.teacher_share`` set, also ``val_refined_l1``: the teacher MuEx's key motions completed
        (``--refine kmtalk`` on MuEx)."""
        model = getattr(model, "module", model)
        was = model.training
        model.eval()
        l1s, keys, refined, probs, trues = [], [], [], [], []
        for batch in val_loader:
            mask, motion = batch["mask"], batch["motion"]
            boundary, known = boundary_targets(batch["phoneme"], mask)
            feats = model.features_from_batch(batch)
            audio, logit = model.encode(feats, mask)
            detected = unlabelled_keys(model, logit, known, mask)
            key = boundary | ends(mask) if detected is None else torch.where(
                known.any(1, keepdim=True), boundary | ends(mask), detected)
            k = model.key_motions(audio, key, mask)
            m, km = mask.float(), (key & mask).float()
            err = ((model.complete(audio, key, k, mask) - motion).abs() / model.motion_scale).mean((2, 3))
            l1s.append(float((err * m).sum() / m.sum()))
            kerr = ((k - motion).abs() / model.motion_scale).mean((2, 3))
            keys.append(float((kerr * km).sum() / km.sum()))
            if self.teacher_share is not None and self.teacher() is not None:
                y = model.complete(audio, key, self.teacher_motion(batch), mask)
                refined.append(float((((y - motion).abs() / model.motion_scale).mean((2, 3)) * m).sum() / m.sum()))
            prob = torch.sigmoid(logit)
            for i, n in enumerate(mask.sum(1).tolist()):
                if known[i].any():
                    probs.append(prob[i, :n].cpu().numpy())
                    trues.append(boundary[i, :n].cpu().numpy())
        model.train(was)
        out = {"val_l1": float(np.mean(l1s)), "val_key_l1": float(np.mean(keys))}
        if refined:
            out["val_refined_l1"] = float(np.mean(refined))
        if probs:
            threshold, (p, r, f) = best_threshold(probs, trues)
            model.boundary_threshold.fill_(threshold)
            out.update(val_boundary_p=p, val_boundary_r=r, val_boundary_f1=f, val_boundary_threshold=threshold)
        return out

    def export(self, model: KMTalk, path, **header):
        """The shipped file: the inference parts only (no lip reader, no latent projection), stored as
        float16 (half the bytes; loading casts back to float32)."""
        return copy.deepcopy(model).half().save_pretrained(path, dtype="float16", **header)

    # --- the per-batch draws -----------------------------------------------------------------------
    def draw_keys(self, boundary: torch.Tensor, mask: torch.Tensor, kind: str = "mixed",
                  detected: torch.Tensor | None = None) -> torch.Tensor:
        """This batch's key frames ``(b, t)``: phoneme boundaries (``detected``'s rows where a clip has no
        labels, see :func:`unlabelled_keys`) or uniform with a drawn stride."""
        share = {"mixed": PHONEME_SHARE, "phoneme": 1.0, "uniform": 0.0}[kind]
        if self.rng.random() < share:
            key = (boundary & mask) | ends(mask)
            return key if detected is None else torch.where(detected.any(1, keepdim=True), detected, key)
        return uniform_keys(mask, int(self.rng.choice(UNIFORM_STRIDES)))

    def cmc_input(self, model: KMTalk, batch: dict, k: torch.Tensor, key: torch.Tensor,
                  real: torch.Tensor | None = None) -> torch.Tensor:
        """CMC's key motions for this batch: the truth (noisy), LKMA's own, or the teacher MuEx's, one in
        three each; the ``real`` rows (no phoneme labels) take MuEx's with probability ``cmc.teacher_share``
        and the batch's draw otherwise."""
        choice = self.rng.integers(3)
        cache: list = []

        def muex() -> torch.Tensor:
            if not cache:
                cache.append(self.teacher_motion(batch).to(k.device))
            return cache[0]
        if choice == 1:
            out = k.detach()
        elif choice == 2 and self.teacher() is not None:
            out = muex()
        else:
            motion = batch["motion"]
            gain = motion.new_tensor(self.rng.uniform(*KEY_GAIN, size=(len(motion), 1, 1, 1)))
            out = motion * gain + KEY_NOISE * model.motion_scale * torch.randn_like(motion)
        if real is None or self.teacher_share is None or not real.any() or self.teacher() is None:
            return out
        take = real.cpu() & torch.from_numpy(self.rng.random(len(real)) < self.teacher_share)
        return torch.where(take.to(out.device)[:, None, None, None], muex(), out) if take.any() else out

    @torch.no_grad()
    def teacher_motion(self, batch: dict) -> torch.Tensor:
        """The teacher MuEx's motion for this batch ``(b, t, V, 3)``."""
        teacher = self.teacher().to(batch["mask"].device)               # once: it follows the batches' device
        return teacher(teacher.features_from_batch(batch), batch["mask"]).motion

    def teacher(self):
        """The teacher MuEx (frozen): ``cmc.teacher`` or the shipped one, or None where no teacher is
        named and this installation lacks the shipped MuEx. Loaded at its first use (building it draws
        from torch's RNG, so the moment is part of the recipe)."""
        if not self._teacher:
            from babelface.models.muex import load_model
            path = teacher_file(self.cmc)
            self._teacher.append(None if path is None else load_model(path).eval().requires_grad_(False))
        return self._teacher[0]


def teacher_file(cmc: CMCInputConfig | None) -> Path | None:
    """The MuEx file CMC's teacher is read from: ``cmc.teacher``, else the shipped model (None where
    this installation lacks it and no hash is pinned), checked against ``cmc.teacher_sha256``."""
    from babelface.models.muex import default_weights_path
    named, want = getattr(cmc, "teacher", None), getattr(cmc, "teacher_sha256", None)
    path = Path(named) if named else default_weights_path()
    if not path.is_file():
        if not named and not want:
            return None
        where = (f"cmc.teacher {path} not found (a path from the working directory: run from the repo root, "
                 "as make does)" if named else f"the shipped MuEx {path} is not in this installation")
        raise WeightsError(where)
    if not (named or want):
        return path
    with path.open("rb") as f:
        got = hashlib.file_digest(f, "sha256").hexdigest()
    if not want:
        raise InputError(f"cmc.teacher {path} needs cmc.teacher_sha256 beside it (this file's: {got}) "
                         "to pin the teacher the run is trained with")
    if got != want.strip().lower():
        raise WeightsError(f"the MuEx teacher {path} has sha256 {got[:12]}…, the config pins {want[:12]}…: "
                           "not the teacher this recipe was trained with (restore that file, or set "
                           "cmc.teacher and cmc.teacher_sha256 to another on purpose)")
    return path


def unlabelled_keys(model: KMTalk, logit: torch.Tensor, known: torch.Tensor, mask: torch.Tensor
                    ) -> torch.Tensor | None:
    """Key frames ``(b, t)`` for the rows without phoneme labels (real motion): the peaks of the
    model's own boundary probability above its threshold, plus the ends; False on labelled rows.
    None when every row has labels (the synthetic benchmark)."""
    from babelface.models.keyframes import peaks
    bare = ~known.any(1)
    if not bare.any():
        return None
    prob = torch.sigmoid(logit.detach()).cpu().numpy()                      # (b, t)
    key = torch.zeros_like(mask)
    for i in torch.nonzero(bare).flatten().tolist():
        n = int(mask[i].sum())
        key[i, :n] = torch.from_numpy(peaks(prob[i, :n], float(model.boundary_threshold)))
    return (key | ends(mask)) & bare[:, None]


def motion_rms(dataset, n_clips: int = SCALE_CLIPS) -> float:
    """RMS of the motion over the first ``n_clips`` clips of ``dataset``."""
    sq, count = 0.0, 0
    for i in range(min(n_clips, len(dataset))):
        m = np.asarray(dataset[i]["motion"], np.float64)
        sq += float((m ** 2).sum())
        count += m.size
    return math.sqrt(sq / max(count, 1)) or 1.0


def best_threshold(probs: list[np.ndarray], trues: list[np.ndarray], grid=THRESHOLDS
                   ) -> tuple[float, tuple[float, float, float]]:
    """The peak threshold with the best F1 at ±1 frame over clips' boundary probabilities and true
    boundaries, and its (precision, recall, F1)."""
    from babelface.models.keyframes import match_counts, peaks, precision_recall
    best = (float(grid[0]), (float("nan"),) * 3)
    for th in grid:
        counts = np.sum([match_counts(tr, peaks(p, th)) for tr, p in zip(trues, probs)], axis=0)
        prf = precision_recall(*counts)
        if np.nan_to_num(prf[2]) > np.nan_to_num(best[1][2]):
            best = (float(th), prf)
    return best
