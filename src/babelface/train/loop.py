"""The MuEx training loop: plain Python, one file, DDP when launched by ``torchrun`` (nanoGPT).

Each optimizer step (App. C.6, E):

1. forward the model on the batch: ``h, z^p, v``, routing, motion, and (with PV-Align) ``z^v, q^p, q^v``;
2. **MI step**: the discriminators ψ take one Adam step on the detached features, maximising the
   JS estimator (eq. 13) with label smoothing (C.5);
3. **model step**: ψ frozen, ``L = L_align + L_router + λ_var L_var + λ_task L_gen`` (eq. 5, 11) is
   back-propagated into encoders, prototypes, router, experts and decoder; one Adam step.

Both optimizers share the schedule (warm-up, cosine to 10 %, E.2), gradient clipping at 5 and,
on CUDA, FP16 autocast with one dynamic loss scaler (E.1). Prototypes are re-clustered (K-means++,
B.1–B.2) before the first step and every ``refresh_every_epochs`` epochs. Every ``ckpt_every``
steps the model is validated (LSE-D, eq. 7) and a checkpoint written; the best ``keep_best`` by
LSE-D are kept, and ``last.safetensors`` always holds the newest state for ``--resume``.

Exact resumption: every step re-seeds all RNGs from (seed, step, rank); data order and crops are
functions of (seed, epoch, position) (:mod:`babelface.train.data`); the prototype refresh uses
its own seeded generator. A run killed after a checkpoint and resumed reaches the same weights
as an uninterrupted run (tests/test_train.py).
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader

from babelface.config_io import to_dict
from babelface.errors import InputError
from babelface.media._atomic import atomic_path, atomic_write_text
from babelface.models.mi import PVAlign, frozen, sample_pairs
from babelface.models.muex import MuEx
from babelface.train import distributed
from babelface.train.builders import build_dataset, build_optimizer
from babelface.train.checkpoint import load_training_state, save_training_state
from babelface.train.config import RunConfig
from babelface.train.data import (EpochSampler, SeededDataset, collate, mix_seed, seed_all, split_batch,
                                  to_device)
from babelface.train.evaluate import evaluate
from babelface.train.schedule import learning_rate

LAST = "last.safetensors"
SUMMARY = "train_summary.json"
METRICS = "metrics.jsonl"
INIT_SEED, REFRESH_SEED, SCALE_SEED = 0xC0FFEE, 0x5EED, 0x5CA1E      # streams derived from train.seed


@dataclass
class TrainResult:
    out_dir: str
    step: int
    last: str
    best: list[dict] = field(default_factory=list)     # [{"step", "lse_d", "path"}], best first
    val: dict = field(default_factory=dict)


class Trainer:
    """Builds everything from a :class:`RunConfig`; :meth:`fit` trains to ``train.max_steps``."""

    def __init__(self, cfg: RunConfig, resume: bool = False):
        self.cfg = cfg
        t = cfg.train
        self.dist = distributed.setup(t.device)
        self.device = self.dist.device
        if t.batch_size % (self.dist.world * t.grad_accum):
            raise InputError(f"train.batch_size {t.batch_size} must be a multiple of ranks × grad_accum "
                             f"= {self.dist.world * t.grad_accum}")
        self.per_rank = t.batch_size // self.dist.world
        self.out = Path(t.out_dir)
        seed_all(mix_seed(t.seed, INIT_SEED))                        # identical init on every rank
        self.model = MuEx(cfg.model).to(self.device)
        if t.init_weights and not resume:
            self._init_from(t.init_weights)
        self.critic = (PVAlign(cfg.model.prototypes.k, cfg.model.d_z, cfg.model.mi).to(self.device)
                       if cfg.model.use_pv_align else None)
        self.optimizers = {"model": build_optimizer(self.model, cfg.optim)}
        if self.critic is not None:
            self.optimizers["critic"] = build_optimizer(self.critic, cfg.optim)
        self.sync_loss = None
        if t.sync_loss_weight > 0:
            if cfg.model.audio.features != "mel":
                raise InputError("train.sync_loss_weight needs log-mel features (model.audio.features: mel): "
                                 "the sync expert's audio branch reads the batch's log-mel")
            from babelface.models.sync_loss import SyncLoss
            self.sync_loss = SyncLoss(weights=t.sync_expert, mode=t.sync_loss_mode).to(self.device)
        self.amp = cfg.optim.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.train_set = build_dataset(cfg, train=True)
        self.val_set = build_dataset(cfg, train=False)
        self.steps_per_epoch = len(self._sampler(0)) // self.per_rank
        if self.steps_per_epoch == 0:
            raise InputError(f"the training split has {len(self.train_set)} utterances, fewer than one "
                             f"batch of {t.batch_size}: lower train.batch_size or add data")
        self.step, self.best, self.last_val = 0, [], {}
        if resume:
            self._resume()
        else:
            if (self.out / LAST).exists():
                raise InputError(f"{self.out} already holds a run: continue it with --resume, or set "
                                 "another train.out_dir (or remove that folder) to start afresh")
            if not t.init_weights:                     # fine-tuning keeps the weights' motion scale
                self._measure_motion_scale()
        self.model_ddp, self.critic_ddp = self.model, self.critic
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            # unselected experts (PG-MoE) and the unused phoneme head (baseline) get no gradient
            self.model_ddp = DDP(self.model, device_ids=ids, find_unused_parameters=True)
            if self.critic is not None:
                self.critic_ddp = DDP(self.critic, device_ids=ids)
        self.writer = None
        if self.dist.main:
            self.out.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.out / "config.yaml", yaml.safe_dump(to_dict(cfg), sort_keys=False))
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(str(self.out / "tb"), purge_step=self.step or None)

    # --- data -----------------------------------------------------------------------------------
    def _sampler(self, epoch: int, start: int = 0, seed: int | None = None) -> EpochSampler:
        return EpochSampler(len(self.train_set), self.cfg.train.seed if seed is None else seed, epoch,
                            self.per_rank, self.dist.rank, self.dist.world, start=start)

    def _loader(self, dataset, sampler, batch_size: int, drop_last: bool) -> DataLoader:
        return DataLoader(SeededDataset(dataset), batch_size=batch_size, sampler=sampler,
                          collate_fn=collate, num_workers=self.cfg.data.num_workers, drop_last=drop_last)

    def train_loader(self, epoch: int, start_step: int = 0, seed: int | None = None) -> DataLoader:
        return self._loader(self.train_set, self._sampler(epoch, start_step * self.per_rank, seed),
                            self.per_rank, True)

    def val_loader(self) -> DataLoader:
        sampler = EpochSampler(len(self.val_set), self.cfg.train.seed, 0, self.per_rank, shuffle=False,
                               drop_last=False)
        return self._loader(self.val_set, sampler, self.per_rank, False)

    # --- set-up ---------------------------------------------------------------------------------
    @torch.no_grad()
    def _measure_motion_scale(self) -> None:
        """RMS of the training motion (real frames), so that the networks work at unit scale."""
        total = torch.zeros(2, dtype=torch.float64, device=self.device)
        loader = self.train_loader(0, seed=mix_seed(self.cfg.train.seed, SCALE_SEED))
        for i, batch in enumerate(loader):
            if i >= self.cfg.train.motion_scale_batches:
                break
            motion, mask = batch["motion"].to(self.device), batch["mask"].to(self.device)
            total += torch.stack([(motion[mask].double() ** 2).sum(), mask.sum().double() * motion[0, 0].numel()])
        total = distributed.all_mean(self.dist, total)
        rms = math.sqrt(float(total[0] / total[1].clamp_min(1)))
        if not rms > 0:
            raise InputError("the training motion is all zeros: check the corpus' motion files")
        self.model.set_motion_scale(rms)

    def _init_from(self, path: str) -> None:
        """Start from trained weights (fine-tuning); the parts an exported model lacks (viseme
        encoder, motion prototypes) keep their fresh initialisation."""
        from babelface.models.muex import TRAINING_ONLY
        init = MuEx.from_pretrained(path).state_dict()
        try:
            missing, unexpected = self.model.load_state_dict(init, strict=False)
        except RuntimeError:                                   # a tensor of another shape
            missing, unexpected = ["(shapes differ)"], []
        if unexpected or [k for k in missing if not k.startswith(TRAINING_ONLY)]:
            raise InputError(f"train.init_weights {path} does not fit this model section: fine-tune "
                             "with the sizes it was trained with (e.g. --config default)")

    def _resume(self) -> None:
        path = self.out / LAST
        if not path.is_file():
            raise InputError(f"nothing to resume in {self.out}: no {LAST} (start without --resume)")
        header = load_training_state(path, self.model, self.critic, self.optimizers, self.scaler)
        if header["config"] != to_dict(self.cfg.model):
            raise InputError(f"the model config differs from the one {path} was trained with: resume "
                             "with the same model section (only train/optim/data may change)")
        if header.get("world_size", 1) != self.dist.world:
            raise InputError(f"{path} was trained on {header.get('world_size')} ranks, now {self.dist.world}: "
                             "resume with the same number of processes for an exact continuation")
        self.step, self.best = int(header["step"]), list(header.get("best", []))
        self.last_val = dict(header.get("val") or {})    # kept when a finished run is resumed
        log = self.out / METRICS
        if self.dist.main and log.exists():                 # drop lines logged after the checkpoint
            kept = [line for line in log.read_text().splitlines() if json.loads(line)["step"] <= self.step]
            atomic_write_text(log, "".join(line + "\n" for line in kept))

    # --- prototypes -----------------------------------------------------------------------------
    def _refresh_due(self, epoch: int) -> bool:
        every = self.cfg.model.prototypes.refresh_every_epochs
        return bool(self.model.prototypes()) and every > 0 and epoch % every == 0

    @torch.no_grad()
    def refresh_prototypes(self, epoch: int) -> dict:
        """K-means++ (B.1) + balancing (B.2) on features of the current model, identical on all ranks."""
        cfg = self.cfg.model
        want = math.ceil(cfg.prototypes.refresh_frames / self.dist.world)
        feats: dict[str, list] = defaultdict(list)
        n = 0
        self.model.eval()
        for batch in self.train_loader(epoch, seed=mix_seed(self.cfg.train.seed, REFRESH_SEED)):
            batch = to_device(batch, self.device)
            with torch.autocast(self.device.type, enabled=self.amp):
                out = self.model(self.model.features_from_batch(batch), batch["mask"],
                                 batch["motion"] if cfg.use_pv_align else None, step=self.step)
            feats["p"].append(out.z_p[batch["mask"]].float())
            if cfg.use_pv_align:
                feats["v"].append(out.z_v[batch["mask"]].float())
            n += int(batch["mask"].sum())
            if n >= want:
                break
        self.model.train()
        g = torch.Generator(device=self.device).manual_seed(mix_seed(self.cfg.train.seed, REFRESH_SEED, epoch))
        stats = {}
        for name, proto in zip(("p", "v"), self.model.prototypes()):
            x = distributed.all_gather_rows(self.dist, torch.cat(feats[name])[:want])
            if len(x) < proto.k:
                raise InputError(f"only {len(x)} frames to place {proto.k} prototypes: add data or "
                                 "lower model.prototypes.k")
            result = proto.refresh(x, g)
            distributed.broadcast_(self.dist, proto.centroids.data)
            self.optimizers["model"].state.pop(proto.centroids, None)    # stale Adam moments
            stats[f"distortion_{name}"] = result.distortion
        return stats

    # --- one step -------------------------------------------------------------------------------
    def _set_lr(self) -> float:
        o = self.cfg.optim
        lr = learning_rate(self.step, o.lr, o.warmup_steps, self.cfg.train.max_steps, o.min_lr_ratio)
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = lr
        return lr

    def _clip_and_step(self, name: str, module: torch.nn.Module) -> float:
        opt = self.optimizers[name]
        self.scaler.unscale_(opt)
        norm = torch.nn.utils.clip_grad_norm_(module.parameters(), self.cfg.optim.grad_clip)
        self.scaler.step(opt)
        opt.zero_grad(set_to_none=True)
        return float(norm)

    def train_step(self, batch: dict) -> dict:
        """One MI step and one model step (C.6) on ``batch``; returns scalars for the logs."""
        cfg, t = self.cfg, self.cfg.train
        seed_all(mix_seed(t.seed, self.step, self.dist.rank))
        lr = self._set_lr()
        stats: dict[str, float] = defaultdict(float)
        timing = self.device.type == "cuda" and self.step % t.log_every == 0
        start = time.perf_counter()
        mi_time = 0.0
        parts = split_batch(to_device(batch, self.device), t.grad_accum)
        for j, mb in enumerate(parts):
            last = j == len(parts) - 1
            with contextlib.ExitStack() as stack:
                if self.dist.enabled and not last:
                    stack.enter_context(self.model_ddp.no_sync())
                    if self.critic is not None:
                        stack.enter_context(self.critic_ddp.no_sync())
                with torch.autocast(self.device.type, enabled=self.amp):
                    out = self.model_ddp(self.model.features_from_batch(mb), mb["mask"], mb["motion"],
                                         step=self.step)
                align = None
                if self.critic is not None:
                    if timing:
                        torch.cuda.synchronize()
                    t0 = time.perf_counter()
                    pairs = sample_pairs(mb["mask"], mb["speaker"], cfg.model.mi.negatives, cfg.model.mi.max_pairs)
                    with torch.autocast(self.device.type, enabled=self.amp):
                        c_loss, i_q, i_z = self.critic_ddp(out.q_p, out.q_v, out.z_p, out.z_v, pairs)
                    self.scaler.scale(c_loss / len(parts)).backward()
                    if last:                                                   # the MI step
                        stats["grad_norm_critic"] = self._clip_and_step("critic", self.critic)
                    if timing:
                        torch.cuda.synchronize()
                    mi_time += time.perf_counter() - t0
                    with frozen(self.critic), torch.autocast(self.device.type, enabled=self.amp):
                        align, i_q, i_z = self.critic.align_loss(out.q_p, out.q_v, out.z_p, out.z_v, pairs)
                    stats["critic_loss"] += float(c_loss.detach()) / len(parts)
                    stats["mi_q"] += float(i_q) / len(parts)
                    stats["mi_z"] += float(i_z) / len(parts)
                losses = self.model.loss(out, mb["motion"], mb["mask"], align)
                total = losses.total
                if self.sync_loss is not None:                       # issue 6: the sync expert as a loss
                    with torch.autocast(self.device.type, enabled=self.amp):
                        l_sync = self.sync_loss(mb["mel"], out.motion.float(), mb["mask"])
                    total = total + t.sync_loss_weight * l_sync
                    stats["loss_sync"] += float(l_sync.detach()) / len(parts)
                self.scaler.scale(total / len(parts)).backward()
            for k, v in losses.scalars().items():
                stats[f"loss_{k}"] += v / len(parts)
            if out.router is not None:
                for i, u in enumerate(out.router.usage.tolist()):
                    stats[f"usage_{i}"] += u / len(parts)
        stats["grad_norm"] = self._clip_and_step("model", self.model)        # the model step
        self.scaler.update()
        if timing:
            torch.cuda.synchronize()
        stats["step_time"] = time.perf_counter() - start
        stats["mi_time"] = mi_time
        stats["lr"] = lr
        stats["tau_r"], stats["tau_s"] = self.model.temperatures(self.step)
        return dict(stats)

    # --- checkpoints, logs ----------------------------------------------------------------------
    def _log(self, window: list[dict]) -> None:
        if not self.dist.main or not window:
            return
        keys = window[0].keys()
        mean = {k: sum(w[k] for w in window) / len(window) for k in keys}
        usage = [v for k, v in sorted(mean.items()) if k.startswith("usage_")]
        if usage:
            mean["usage_min"] = min(usage)
        if mean.get("step_time"):
            mean["mi_share"] = mean["mi_time"] / mean["step_time"]
        for k, v in mean.items():
            self.writer.add_scalar(f"train/{k}", v, self.step)
        with open(self.out / METRICS, "a") as f:
            f.write(json.dumps({"step": self.step, **mean}) + "\n")
        line = f"step {self.step:>7d}  loss {mean['loss_total']:.4f}  gen {mean['loss_gen']:.4f}"
        if "mi_q" in mean:
            line += f"  I(q) {mean['mi_q']:.3f}  I(z) {mean['mi_z']:.3f}"
        if usage:
            line += "  usage " + " ".join(f"{u:.2f}" for u in usage)
        print(line + f"  lr {mean['lr']:.2e}", flush=True)

    def checkpoint(self) -> dict:
        """Validate, write ``last`` and, if among the best by LSE-D, ``step_N``; prune the rest."""
        val = {}
        if self.dist.main:
            val = evaluate(self.model, self.val_loader(), self.device, self.cfg.train.eval_batches)
            for k, v in val.items():
                if isinstance(v, float):
                    self.writer.add_scalar(f"val/{k}", v, self.step)
            for lang, v in val.get("lse_d_by_language", {}).items():
                self.writer.add_scalar(f"val/lse_d/{lang or 'unknown'}", v, self.step)
            name = f"step_{self.step:07d}.safetensors"
            score = val["lse_d"] if math.isfinite(val["lse_d"]) else math.inf
            ranked = sorted(self.best + [{"step": self.step, "lse_d": score, "path": name}],
                            key=lambda b: (b["lse_d"], -b["step"]))
            keep, drop = ranked[: self.cfg.train.keep_best], ranked[self.cfg.train.keep_best:]
            self.best = keep
            header = dict(run_config=to_dict(self.cfg), step=self.step, best=self.best, val=val,
                          world_size=self.dist.world)
            path = save_training_state(self.out / LAST, self.model, self.critic, self.optimizers,
                                       self.scaler, **header)
            if any(b["step"] == self.step for b in keep):
                with atomic_path(self.out / name) as tmp:
                    shutil.copyfile(path, tmp)
            for b in drop:
                (self.out / b["path"]).unlink(missing_ok=True)
            print(f"step {self.step:>7d}  validation LSE-D {val['lse_d']:.5f}  ({val['utterances']} utterances)",
                  flush=True)
        distributed.barrier(self.dist)
        return val

    def _rank_checksums(self) -> list[float]:
        """Sum of all model parameters on every rank: DDP keeps them identical."""
        s = torch.stack([p.detach().double().sum() for p in self.model.parameters()]).sum().reshape(1)
        if not self.dist.enabled:
            return [float(s)]
        parts = [torch.zeros_like(s) for _ in range(self.dist.world)]
        torch.distributed.all_gather(parts, s)
        return [float(p) for p in parts]

    # --- the loop -------------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        t = self.cfg.train
        loader, loader_epoch, window, val = None, None, [], self.last_val
        while self.step < t.max_steps:
            epoch, pos = divmod(self.step, self.steps_per_epoch)
            if pos == 0 and self._refresh_due(epoch):
                stats = self.refresh_prototypes(epoch)
                if self.writer is not None:
                    for k, v in stats.items():
                        self.writer.add_scalar(f"prototypes/{k}", v, self.step)
            if loader_epoch != epoch:
                loader, loader_epoch = iter(self.train_loader(epoch, pos)), epoch
            window.append(self.train_step(next(loader)))
            self.step += 1
            self.model.step.fill_(self.step)
            if self.step % t.log_every == 0 or self.step == t.max_steps:
                self._log(window)
                window = []
            if self.step % t.ckpt_every == 0 or self.step == t.max_steps:
                val = self.checkpoint()
        checksums = self._rank_checksums()
        result = TrainResult(str(self.out), self.step, str(self.out / LAST), list(self.best), val)
        if self.dist.main:
            summary = {**vars(result), "world_size": self.dist.world, "rank_checksums": checksums,
                       **peak_memory(self.device)}
            atomic_write_text(self.out / SUMMARY, json.dumps(summary, indent=2))
            self.writer.close()
        if max(checksums) - min(checksums) > 1e-6 * max(1.0, abs(checksums[0])):
            raise RuntimeError(f"ranks disagree on the weights after training: {checksums}")
        distributed.cleanup(self.dist)
        return result


def peak_memory(device: torch.device) -> dict:
    """Peak memory of this process: resident set (MiB, CPU side) and, on CUDA, allocated tensors."""
    import resource
    out = {"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}   # Linux: KiB
    if device.type == "cuda":
        out["peak_cuda_mib"] = torch.cuda.max_memory_allocated(device) / 2 ** 20
    return out


def train(cfg: RunConfig, resume: bool = False) -> TrainResult:
    """Train (or resume) the run described by ``cfg``; see :class:`Trainer`."""
    return Trainer(cfg, resume=resume).fit()
