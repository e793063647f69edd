"""The one trainer: plain Python, one file, DDP when launched by ``torchrun`` (nanoGPT).

A model brings a *task* (:mod:`babelface.train.task`: the model, its datasets, its batch step, its
validation metric and optional hooks); the trainer owns the rest. Each optimizer step:

1. **critic step** (tasks with a ``critic``, e.g. MuEx's PV-Align discriminators ψ, C.6): the
   task's ``critic_step`` loss is back-propagated and the critic takes one step;
2. **model step**: the task's ``training_step`` loss (critic frozen by the task) is
   back-propagated over ``grad_accum`` micro-batches; one step.

Both optimizers share the schedule (warm-up, cosine to 10 %, MuEx E.2), gradient clipping and, on
CUDA, FP16 autocast with one dynamic loss scaler (E.1). Every ``ckpt_every`` steps the model is
validated (the task's ``validate``) and a checkpoint written; the best ``keep_best`` by the task's
``monitor`` are kept, and ``last.safetensors`` always holds the newest state for ``--resume``.
Hooks: ``setup(trainer)`` once the model, critic and optimizers exist, ``on_fit_start(trainer)``,
``on_epoch_start(trainer, epoch)`` (TensorBoard scalars back), ``on_step_end(trainer)``,
``log_stats(mean) -> str`` (the console line).

Exact resumption: every step re-seeds all RNGs from (seed, step, rank); data order and crops are
functions of (seed, epoch, position) (:mod:`babelface.train.data`); a task's own randomness (MuEx's
prototype refresh) uses seeded generators. A run killed after a checkpoint and resumed reaches the
same weights as an uninterrupted run (tests/test_train.py).
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
from babelface.train import distributed
from babelface.train.builders import build_optimizer
from babelface.train.checkpoint import load_training_state, save_training_state
from babelface.train.data import (EpochSampler, SeededDataset, collate, mix_seed, seed_all, split_batch,
                                  to_device)
from babelface.train.schedule import learning_rate
from babelface.train.task import make_task

LAST = "last.safetensors"
SUMMARY = "train_summary.json"
METRICS = "metrics.jsonl"
INIT_SEED = 0xC0FFEE                     # the initialisation stream derived from train.seed


@dataclass
class TrainResult:
    out_dir: str
    step: int
    last: str
    best: list[dict] = field(default_factory=list)     # [{"step", <monitor>, "path"}], best first
    val: dict = field(default_factory=dict)
    monitor: str = "lse_d"                              # the validation metric that ranks ``best``


class Trainer:
    """Builds everything from a run config (``cfg.task`` names the task); :meth:`fit` trains to
    ``train.max_steps``."""

    def __init__(self, cfg, resume: bool = False):
        self.cfg = cfg
        t = cfg.train
        self.task = make_task(cfg.task)
        self.dist = distributed.setup(t.device)
        self.device = self.dist.device
        if t.batch_size % (self.dist.world * t.grad_accum):
            raise InputError(f"train.batch_size {t.batch_size} must be a multiple of ranks × grad_accum "
                             f"= {self.dist.world * t.grad_accum}")
        self.per_rank = t.batch_size // self.dist.world
        self.out = Path(t.out_dir)
        seed_all(mix_seed(t.seed, INIT_SEED))                        # identical init on every rank
        self.model = self.task.build_model(cfg).to(self.device)
        if t.init_weights and not resume:
            self._init_from(t.init_weights)
        self._freeze(getattr(t, "freeze", ()) or ())
        critic = getattr(self.task, "critic", None)
        self.critic = critic(self.model) if critic is not None else None
        if self.critic is not None:
            self.critic = self.critic.to(self.device)
        self.optimizers = {"model": build_optimizer(self.model, cfg.optim)}
        if self.critic is not None:
            self.optimizers["critic"] = build_optimizer(self.critic, cfg.optim)
        self.amp = cfg.optim.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self._hook("setup", self)
        self.train_set, self.val_set = self.task.datasets(cfg)
        self.collate = getattr(self.task, "collate", collate)
        self.steps_per_epoch = len(self._sampler(0)) // self.per_rank
        if self.steps_per_epoch == 0:
            raise InputError(f"the training split has {len(self.train_set)} utterances, fewer than one "
                             f"batch of {t.batch_size}: lower train.batch_size or add data")
        self.step, self.best, self.last_val = 0, [], {}
        if resume:
            self._resume()
        elif (self.out / LAST).exists():
            raise InputError(f"{self.out} already holds a run: continue it with --resume, or set "
                             "another train.out_dir (or remove that folder) to start afresh")
        self.model_ddp, self.critic_ddp = self.model, self.critic
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            # parts a step leaves unused (MuEx's unselected experts, the baseline's phoneme head)
            self.model_ddp = DDP(self.model, device_ids=ids, find_unused_parameters=True)
            if self.critic is not None:
                self.critic_ddp = DDP(self.critic, device_ids=ids)
        self.writer = None
        if self.dist.main:
            self.out.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.out / "config.yaml", yaml.safe_dump(to_dict(cfg), sort_keys=False))
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(str(self.out / "tb"), purge_step=self.step or None)

    def _hook(self, name: str, *args):
        fn = getattr(self.task, name, None)
        return fn(*args) if fn is not None else None

    def autocast(self):
        """FP16 autocast on CUDA when ``optim.amp`` (E.1); a no-op otherwise."""
        return torch.autocast(self.device.type, enabled=self.amp)

    # --- data -----------------------------------------------------------------------------------
    def _sampler(self, epoch: int, start: int = 0, seed: int | None = None) -> EpochSampler:
        return EpochSampler(len(self.train_set), self.cfg.train.seed if seed is None else seed, epoch,
                            self.per_rank, self.dist.rank, self.dist.world, start=start)

    def _loader(self, dataset, sampler, batch_size: int, drop_last: bool) -> DataLoader:
        return DataLoader(SeededDataset(dataset), batch_size=batch_size, sampler=sampler,
                          collate_fn=self.collate, num_workers=self.cfg.data.num_workers, drop_last=drop_last)

    def train_loader(self, epoch: int, start_step: int = 0, seed: int | None = None) -> DataLoader:
        return self._loader(self.train_set, self._sampler(epoch, start_step * self.per_rank, seed),
                            self.per_rank, True)

    def val_loader(self) -> "OnDevice":
        """The validation batches, already on the training device (a task's ``validate`` need not move them)."""
        sampler = EpochSampler(len(self.val_set), self.cfg.train.seed, 0, self.per_rank, shuffle=False,
                               drop_last=False)
        return OnDevice(self._loader(self.val_set, sampler, self.per_rank, False), self.device)

    # --- set-up ---------------------------------------------------------------------------------
    def _freeze(self, names) -> None:
        """``train.freeze``: the parameters of these sub-modules of the model are not trained (the
        optimizer never sees them); a name that is not a sub-module is refused."""
        if not names:
            return
        modules = dict(self.model.named_modules())
        for name in names:
            if not isinstance(name, str) or not name or name not in modules:
                top = ", ".join(n for n, _ in self.model.named_children())
                raise InputError(f"train.freeze: {name!r} is not a part of this model (its parts: {top})")
            modules[name].requires_grad_(False)

    def _init_from(self, path: str) -> None:
        """Start from trained weights (fine-tuning); the parts an exported model lacks (the model's
        ``training_only`` prefixes: MuEx's viseme encoder and prototypes) keep their fresh initialisation."""
        kind = type(self.model)
        init = kind.from_pretrained(path).state_dict()
        try:
            missing, unexpected = self.model.load_state_dict(init, strict=False)
        except RuntimeError:                                   # a tensor of another shape
            missing, unexpected = ["(shapes differ)"], []
        training_only = tuple(getattr(kind, "training_only", ()))
        if unexpected or [k for k in missing if not (training_only and k.startswith(training_only))]:
            raise InputError(f"train.init_weights {path} does not fit this model section: fine-tune "
                             "with the sizes it was trained with (e.g. --config default)")

    def _resume(self) -> None:
        path = self.out / LAST
        if not path.is_file():
            raise InputError(f"nothing to resume in {self.out}: no {LAST} (start without --resume)")
        header = load_training_state(path, self.model, self.critic, self.optimizers, self.scaler)
        if header.get("task", self.cfg.task) != self.cfg.task:
            raise InputError(f"{path} is a {header['task']!r} run, not {self.cfg.task!r}: resume it with its "
                             "own config")
        if header["config"] != to_dict(self.cfg.model):
            raise InputError(f"the model config differs from the one {path} was trained with: resume "
                             "with the same model section (only train/optim/data may change)")
        if header.get("world_size", 1) != self.dist.world:
            raise InputError(f"{path} was trained on {header.get('world_size')} ranks, now {self.dist.world}: "
                             "resume with the same number of processes for an exact continuation")
        self.step, self.best = int(header["step"]), list(header.get("best", []))
        self.last_val = dict(header.get("val") or {})    # kept when a finished run is resumed
        self._hook("restore_state", dict(header.get("task_state") or {}))
        log = self.out / METRICS
        if self.dist.main and log.exists():                 # drop lines logged after the checkpoint
            kept = [line for line in log.read_text().splitlines() if json.loads(line)["step"] <= self.step]
            atomic_write_text(log, "".join(line + "\n" for line in kept))

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
        """One critic step (when the task has one) and one model step on ``batch``; returns
        scalars for the logs."""
        t = self.cfg.train
        seed_all(mix_seed(t.seed, self.step, self.dist.rank))
        lr = self._set_lr()
        stats: dict[str, float] = defaultdict(float)
        self._timing = self.device.type == "cuda" and self.step % t.log_every == 0
        start = time.perf_counter()
        critic_time = 0.0
        parts = split_batch(to_device(batch, self.device), t.grad_accum)
        for j, mb in enumerate(parts):
            last = j == len(parts) - 1
            with contextlib.ExitStack() as stack:
                if self.dist.enabled and not last:
                    stack.enter_context(self.model_ddp.no_sync())
                    if self.critic is not None:
                        stack.enter_context(self.critic_ddp.no_sync())
                if self.critic is not None:
                    seconds, out = self._critic_step(mb, last, len(parts), stats)
                    critic_time += seconds
                    self._accumulate(stats, out, len(parts))
                with self.autocast():
                    losses = self.task.training_step(self.model_ddp, mb, self.step)
                self.scaler.scale(losses["loss"] / len(parts)).backward()
            self._accumulate(stats, losses, len(parts))
        stats["grad_norm"] = self._clip_and_step("model", self.model)        # the model step
        self.scaler.update()
        if self._timing:
            torch.cuda.synchronize()
        stats["step_time"] = time.perf_counter() - start
        if self.critic is not None:
            stats[f"{getattr(self.task, 'critic_log_name', 'critic')}_time"] = critic_time
        stats["lr"] = lr
        return dict(stats)

    def _critic_step(self, mb: dict, last: bool, parts: int, stats: dict) -> tuple[float, dict]:
        """The task's critic step on one micro-batch, stepping the critic on the last: (seconds, scalars)."""
        if self._timing:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with self.autocast():
            out = dict(self.task.critic_step(self.model_ddp, self.critic_ddp, mb, self.step))
        loss = out.pop("loss")
        self.scaler.scale(loss / parts).backward()
        if last:
            stats["grad_norm_critic"] = self._clip_and_step("critic", self.critic)
        if self._timing:
            torch.cuda.synchronize()
        out["critic_loss"] = loss
        return time.perf_counter() - t0, out

    @staticmethod
    def _accumulate(stats: dict, values: dict, parts: int) -> None:
        for k, v in values.items():
            stats[k] += float(v.detach() if torch.is_tensor(v) else v) / parts

    # --- checkpoints, logs ----------------------------------------------------------------------
    def _log(self, window: list[dict]) -> None:
        if not self.dist.main or not window:
            return
        keys = window[0].keys()
        mean = {k: sum(w[k] for w in window) / len(window) for k in keys}
        name = getattr(self.task, "critic_log_name", "critic")
        if mean.get("step_time") and f"{name}_time" in mean:
            mean[f"{name}_share"] = mean[f"{name}_time"] / mean["step_time"]
        line = self._hook("log_stats", mean) or f"step {self.step:>7d}  loss {mean['loss']:.4f}"
        for k, v in mean.items():
            self.writer.add_scalar(f"train/{k}", v, self.step)
        with open(self.out / METRICS, "a") as f:
            f.write(json.dumps({"step": self.step, **mean}) + "\n")
        print(line + f"  lr {mean['lr']:.2e}", flush=True)

    def _ranked(self, score: float, name: str) -> tuple[list[dict], list[dict]]:
        """(kept, dropped) checkpoints by the task's monitor, with this step's ``score``."""
        monitor, sign = self.task.monitor, (1 if self.task.monitor_mode == "min" else -1)
        if self.task.monitor_mode not in ("min", "max"):
            raise ValueError(f"task {self.task.name}: monitor_mode must be 'min' or 'max'")
        ranked = sorted(self.best + [{"step": self.step, monitor: score, "path": name}],
                        key=lambda b: (sign * b[monitor], b["step"]))      # a tie keeps the earlier
        return ranked[: self.cfg.train.keep_best], ranked[self.cfg.train.keep_best:]

    def checkpoint(self) -> dict:
        """Validate, write ``last`` and, if among the best by the monitor, ``step_N``; prune the rest."""
        val = {}
        if self.dist.main:
            val = self.task.validate(self.model, self.val_loader())
            for k, v in val.items():
                if isinstance(v, float):
                    self.writer.add_scalar(f"val/{k}", v, self.step)
                elif isinstance(v, dict):                       # per language, per group, ...
                    for sub, x in v.items():
                        self.writer.add_scalar(f"val/{k}/{sub or 'unknown'}", x, self.step)
            monitor = self.task.monitor
            bad = math.inf if self.task.monitor_mode == "min" else -math.inf
            score = val[monitor] if math.isfinite(val[monitor]) else bad
            name = f"step_{self.step:07d}.safetensors"
            keep, drop = self._ranked(score, name)
            self.best = keep
            header = dict(task=self.cfg.task, run_config=to_dict(self.cfg), step=self.step, best=self.best,
                          val=val, world_size=self.dist.world, task_state=self._hook("checkpoint_state") or {})
            path = save_training_state(self.out / LAST, self.model, self.critic, self.optimizers,
                                       self.scaler, **header)
            if any(b["step"] == self.step for b in keep):
                with atomic_path(self.out / name) as tmp:
                    shutil.copyfile(path, tmp)
            for b in drop:
                (self.out / b["path"]).unlink(missing_ok=True)
            size = f"  ({val['utterances']} utterances)" if "utterances" in val else ""
            print(f"step {self.step:>7d}  validation {monitor} {val[monitor]:.5f}{size}", flush=True)
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
        self._hook("on_fit_start", self)
        while self.step < t.max_steps:
            epoch, pos = divmod(self.step, self.steps_per_epoch)
            if pos == 0:
                for k, v in (self._hook("on_epoch_start", self, epoch) or {}).items():
                    if self.writer is not None:
                        self.writer.add_scalar(k, v, self.step)
            if loader_epoch != epoch:
                loader, loader_epoch = iter(self.train_loader(epoch, pos)), epoch
            window.append(self.train_step(next(loader)))
            self.step += 1
            self._hook("on_step_end", self)
            if self.step % t.log_every == 0 or self.step == t.max_steps:
                self._log(window)
                window = []
            if self.step % t.ckpt_every == 0 or self.step == t.max_steps:
                val = self.checkpoint()
        checksums = self._rank_checksums()
        result = TrainResult(str(self.out), self.step, str(self.out / LAST), list(self.best), val,
                             self.task.monitor)
        if self.dist.main:
            summary = {**vars(result), "task": self.cfg.task, "world_size": self.dist.world,
                       "rank_checksums": checksums, **peak_memory(self.device)}
            atomic_write_text(self.out / SUMMARY, json.dumps(summary, indent=2))
            self.writer.close()
        if max(checksums) - min(checksums) > 1e-6 * max(1.0, abs(checksums[0])):
            raise RuntimeError(f"ranks disagree on the weights after training: {checksums}")
        distributed.cleanup(self.dist)
        return result


class OnDevice:
    """A loader whose batches come moved to ``device`` (validation; the training loop moves its own)."""

    def __init__(self, loader: DataLoader, device: torch.device):
        self.loader, self.device = loader, device

    def __iter__(self):
        return (to_device(batch, self.device) for batch in self.loader)

    def __len__(self) -> int:
        return len(self.loader)


def peak_memory(device: torch.device) -> dict:
    """Peak memory of this process: resident set (MiB, CPU side) and, on CUDA, allocated tensors."""
    import resource
    out = {"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}   # Linux: KiB
    if device.type == "cuda":
        out["peak_cuda_mib"] = torch.cuda.max_memory_allocated(device) / 2 ** 20
    return out


def train(cfg, resume: bool = False) -> TrainResult:
    """Train (or resume) the run described by ``cfg``; see :class:`Trainer`."""
    return Trainer(cfg, resume=resume).fit()


def export_best(cfg, result: TrainResult, dest: str | Path) -> Path:
    """The run's best checkpoint by the task's monitor (else ``last``) as the shipped inference
    file: the task's ``export(model, dest, **header)`` when it has one, else ``save_pretrained``."""
    task = make_task(cfg.task)
    best = [Path(result.out_dir) / b["path"] for b in result.best if (Path(result.out_dir) / b["path"]).is_file()]
    src = best[0] if best else Path(result.last)
    model = type(task.build_model(cfg)).from_pretrained(src)
    header = {"task": cfg.task, "step": model.checkpoint_meta.get("step"),
              "val": model.checkpoint_meta.get("val", {}), "source": src.name}
    export = getattr(task, "export", None)
    return export(model, dest, **header) if export is not None else model.save_pretrained(dest, **header)
