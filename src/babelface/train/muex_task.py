"""MuEx as a task of the one trainer (``task: muex``, the default; ``papers/000`` App. C.6, E).

Each optimizer step (C.6):

1. forward the model on the batch: ``h, z^p, v``, routing, motion, and (with PV-Align) ``z^v, q^p, q^v``;
2. **MI step** (:meth:`MuExTask.critic_step`): the discriminators ψ take one Adam step on the
   detached features, maximising the JS estimator (eq. 13) with label smoothing (C.5);
3. **model step** (:meth:`MuExTask.training_step`): ψ frozen,
   ``L = L_align + L_router + λ_var L_var + λ_task L_gen`` (eq. 5, 11), plus the sync expert's loss
   when ``train.sync_loss_weight`` > 0 (issue 6).

The forward of step 1 is shared by steps 2 and 3 (kept between the two calls). Prototypes are
re-clustered (K-means++, B.1–B.2) before the first step and every ``refresh_every_epochs`` epochs
(:meth:`on_epoch_start`); the motion RMS is measured before a fresh run (:meth:`on_fit_start`);
checkpoints are ranked by validation LSE-D (eq. 7, :mod:`babelface.train.evaluate`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import torch

from babelface.errors import InputError
from babelface.models.mi import PVAlign, frozen, sample_pairs
from babelface.models.muex import MuEx
from babelface.train import distributed
from babelface.train.builders import build_dataset
from babelface.train.config import RunConfig
from babelface.train.data import mix_seed, to_device
from babelface.train.evaluate import evaluate

REFRESH_SEED, SCALE_SEED = 0x5EED, 0x5CA1E      # streams derived from train.seed


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """The module inside a DistributedDataParallel wrapper (or the module itself)."""
    return getattr(module, "module", module)


class MuExTask:
    name = "muex"
    monitor = "lse_d"
    monitor_mode = "min"
    config_class = RunConfig
    critic_log_name = "mi"

    def __init__(self):
        self.trainer = None
        self.sync_loss = None
        self._pending = None           # (output, pairs, critic) of the forward the critic step made

    # --- building -------------------------------------------------------------------------------
    def build_model(self, cfg: RunConfig) -> MuEx:
        return MuEx(cfg.model)

    def critic(self, model: MuEx) -> PVAlign | None:
        cfg = model.cfg
        return PVAlign(cfg.prototypes.k, cfg.d_z, cfg.mi) if cfg.use_pv_align else None

    def datasets(self, cfg: RunConfig):
        return build_dataset(cfg, train=True), build_dataset(cfg, train=False)

    def setup(self, trainer) -> None:
        self.trainer = trainer
        t = trainer.cfg.train
        for name in ("lambda_shape", "lambda_viseme"):             # our extra terms: weights, not signs
            w = getattr(trainer.cfg.model, name)
            if not (math.isfinite(w) and w >= 0):
                raise InputError(f"model.{name} must be a finite weight ≥ 0 (0: off), got {w}")
        q = trainer.cfg.model.shape_quantile
        if not 0 < q < 1:
            raise InputError(f"model.shape_quantile must be a quantile in (0, 1) (0.5: the L1), got {q}")
        if t.sync_loss_weight > 0:
            if trainer.cfg.model.audio.features != "mel":
                raise InputError("train.sync_loss_weight needs log-mel features (model.audio.features: mel): "
                                 "the sync expert's audio branch reads the batch's log-mel")
            from babelface.models.sync_loss import SyncLoss
            self.sync_loss = SyncLoss(weights=t.sync_expert, mode=t.sync_loss_mode).to(trainer.device)

    # --- hooks ----------------------------------------------------------------------------------
    def on_fit_start(self, trainer) -> None:
        if trainer.step == 0 and not trainer.cfg.train.init_weights:   # fine-tuning keeps its scale
            self._measure_motion_scale(trainer)

    def on_epoch_start(self, trainer, epoch: int) -> dict | None:
        every = trainer.cfg.model.prototypes.refresh_every_epochs
        if not (trainer.model.prototypes() and every > 0 and epoch % every == 0):
            return None
        return {f"prototypes/{k}": v for k, v in self.refresh_prototypes(trainer, epoch).items()}

    def on_step_end(self, trainer) -> None:
        trainer.model.step.fill_(trainer.step)

    @torch.no_grad()
    def _measure_motion_scale(self, trainer) -> None:
        """RMS of the training motion (real frames), so that the networks work at unit scale."""
        total = torch.zeros(2, dtype=torch.float64, device=trainer.device)
        loader = trainer.train_loader(0, seed=mix_seed(trainer.cfg.train.seed, SCALE_SEED))
        for i, batch in enumerate(loader):
            if i >= trainer.cfg.train.motion_scale_batches:
                break
            motion, mask = batch["motion"].to(trainer.device), batch["mask"].to(trainer.device)
            total += torch.stack([(motion[mask].double() ** 2).sum(), mask.sum().double() * motion[0, 0].numel()])
        total = distributed.all_mean(trainer.dist, total)
        rms = math.sqrt(float(total[0] / total[1].clamp_min(1)))
        if not rms > 0:
            raise InputError("the training motion is all zeros: check the corpus' motion files")
        trainer.model.set_motion_scale(rms)

    @torch.no_grad()
    def refresh_prototypes(self, trainer, epoch: int) -> dict:
        """K-means++ (B.1) + balancing (B.2) on features of the current model, identical on all ranks."""
        cfg, model, seed = trainer.cfg.model, trainer.model, trainer.cfg.train.seed
        want = math.ceil(cfg.prototypes.refresh_frames / trainer.dist.world)
        feats: dict[str, list] = defaultdict(list)
        n = 0
        model.eval()
        for batch in trainer.train_loader(epoch, seed=mix_seed(seed, REFRESH_SEED)):
            batch = to_device(batch, trainer.device)
            with trainer.autocast():
                out = model(model.features_from_batch(batch), batch["mask"],
                            batch["motion"] if cfg.use_pv_align else None, step=trainer.step)
            feats["p"].append(out.z_p[batch["mask"]].float())
            if cfg.use_pv_align:
                feats["v"].append(out.z_v[batch["mask"]].float())
            n += int(batch["mask"].sum())
            if n >= want:
                break
        model.train()
        g = torch.Generator(device=trainer.device).manual_seed(mix_seed(seed, REFRESH_SEED, epoch))
        stats = {}
        for name, proto in zip(("p", "v"), model.prototypes()):
            x = distributed.all_gather_rows(trainer.dist, torch.cat(feats[name])[:want])
            if len(x) < proto.k:
                raise InputError(f"only {len(x)} frames to place {proto.k} prototypes: add data or "
                                 "lower model.prototypes.k")
            result = proto.refresh(x, g)
            distributed.broadcast_(trainer.dist, proto.centroids.data)
            trainer.optimizers["model"].state.pop(proto.centroids, None)    # stale Adam moments
            stats[f"distortion_{name}"] = result.distortion
        return stats

    # --- steps ----------------------------------------------------------------------------------
    def _forward(self, model, batch: dict, step: int):
        return model(unwrap(model).features_from_batch(batch), batch["mask"], batch["motion"], step=step)

    def critic_step(self, model, critic, batch: dict, step: int) -> dict:
        """The MI step's loss (eq. 13) on the detached features of this batch's forward."""
        cfg = unwrap(model).cfg
        out = self._forward(model, batch, step)
        pairs = sample_pairs(batch["mask"], batch["speaker"], cfg.mi.negatives, cfg.mi.max_pairs)
        loss, _, _ = critic(out.q_p, out.q_v, out.z_p, out.z_v, pairs)
        self._pending = (out, pairs, unwrap(critic))
        return {"loss": loss}

    def training_step(self, model, batch: dict, step: int) -> dict:
        """Eq. 5 (+ the sync loss) on the forward the MI step made (or a fresh one without PV-Align)."""
        pending, self._pending = self._pending, None
        out = pending[0] if pending else self._forward(model, batch, step)
        align, stats = None, {}
        if pending:
            _, pairs, critic = pending
            with frozen(critic):       # the MI estimates logged are those of the stepped critic
                align, stats["mi_q"], stats["mi_z"] = critic.align_loss(out.q_p, out.q_v, out.z_p, out.z_v, pairs)
        m = unwrap(model)
        losses = m.loss(out, batch["motion"], batch.get("loss_mask", batch["mask"]), align)   # loss_mask: data.mix_pauses
        stats.update({f"loss_{k}": v for k, v in losses.scalars().items()})
        total = losses.total
        if m.cfg.lambda_viseme:                              # ours: a viseme head on h (MuEx.viseme_loss)
            l_vis = m.viseme_loss(out, batch["viseme"], batch["mask"])
            total = total + m.cfg.lambda_viseme * l_vis
            stats["loss_viseme"] = l_vis.detach()
        if self.sync_loss is not None:                       # issue 6: the sync expert as a loss
            l_sync = self.sync_loss(batch["mel"], out.motion.float(), batch["mask"])
            total = total + self.trainer.cfg.train.sync_loss_weight * l_sync
            stats["loss_sync"] = l_sync.detach()
        if out.router is not None:
            stats.update({f"usage_{i}": u for i, u in enumerate(out.router.usage.tolist())})
        stats["tau_r"], stats["tau_s"] = m.temperatures(step)
        return {"loss": total, **stats}

    def log_stats(self, mean: dict) -> str:
        usage = [v for k, v in sorted(mean.items()) if k.startswith("usage_")]
        if usage:
            mean["usage_min"] = min(usage)
        line = f"step {self.trainer.step:>7d}  loss {mean['loss_total']:.4f}  gen {mean['loss_gen']:.4f}"
        if "mi_q" in mean:
            line += f"  I(q) {mean['mi_q']:.3f}  I(z) {mean['mi_z']:.3f}"
        if usage:
            line += "  usage " + " ".join(f"{u:.2f}" for u in usage)
        return line

    # --- validation, export ---------------------------------------------------------------------
    def validate(self, model: MuEx, val_loader) -> dict:
        device = model.motion_scale.device
        return evaluate(model, val_loader, device, self.trainer.cfg.train.eval_batches if self.trainer else 0)

    def export(self, model: MuEx, path: str | Path, **header) -> Path:
        """The shipped inference file: training-only parts dropped."""
        return model.save_pretrained(path, inference_only=True, **header)
