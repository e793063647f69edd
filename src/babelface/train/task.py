"""What a model brings to the one trainer (issue 12, part 2): a *task*.

The trainer (``babelface.train.loop``) owns everything common to every learned model: the config
file, seeding and exact resumption, DDP, the optimizers' schedule and clipping, AMP, TensorBoard,
checkpoints (safetensors through ``babelface.models.checkpoint``), best-k by a validation metric
and the run summary. A task owns only what is the model's own. ``babelface train --config X.yaml``
reads ``task: NAME`` from the YAML (default ``muex``) and looks the task up in :data:`TASKS`.

Contract (required members):

- ``name``: the task's name (the ``task:`` key), also written into every checkpoint header;
- ``build_model(cfg) -> nn.Module``: the model, from the YAML's ``model`` section;
- ``datasets(cfg) -> (train, val)``: map-style datasets of dict items, batched by
  ``babelface.train.data.collate``;
- ``training_step(model, batch, step) -> dict[str, Tensor]``: the losses of one micro-batch;
  ``"loss"`` is back-propagated, every other entry is logged;
- ``validate(model, val_loader) -> dict[str, float]``: validation metrics, holding ``monitor``;
- ``monitor``: the metric that ranks checkpoints for best-k, and ``monitor_mode``: "min" or "max".

``cfg`` is the whole run config: an instance of the task's ``config_class`` (optional class
attribute; default :class:`babelface.train.config.RunConfig`, MuEx's), a dataclass with at least
the sections ``model``, ``optim`` (:class:`~babelface.train.config.OptimConfig`), ``train``
(:class:`~babelface.train.config.TrainConfig`), ``data`` (with ``num_workers``) and ``task``.
The model should inherit :class:`babelface.models.checkpoint.CheckpointMixin` (its checkpoints
name it and carry its config; ``train.init_weights`` and ``export`` use ``from_pretrained``).

Optional hooks (the trainer calls them when present): ``critic(model) -> nn.Module`` and
``critic_step(model, critic, batch, step) -> dict[str, Tensor]`` (an adversary / MI estimator
with its own optimizer, stepped before the model), ``on_fit_start(trainer)`` (e.g. measuring the
motion scale), ``on_epoch_start(trainer, epoch)`` (e.g. re-clustering prototypes),
``export(model, path)`` (the shipped inference checkpoint).

Optional members added by the kit (issue 12): ``config_class`` (above); ``setup(trainer)``, called
once the model, critic and optimizers exist (before ``--resume`` restores them: build auxiliary
modules such as a frozen loss network there, on ``trainer.device``); ``on_step_end(trainer)`` after
every optimizer step (``trainer.step`` already counts it); ``log_stats(mean) -> str`` (may add
derived entries to the logged window means and returns the console line); ``collate(items)``
(default :func:`babelface.train.data.collate`); ``critic_log_name`` (default ``"critic"``: the
critic's time is logged as ``<name>_time`` and ``<name>_share``); ``checkpoint_state() -> dict``
(JSON: what the task itself holds between steps, written into every checkpoint's header) and
``restore_state(state)`` (called by ``--resume`` once the checkpoint is read, before
``on_fit_start``), so that a resumed run continues as the uninterrupted one would.
``on_epoch_start`` returns a
dict of TensorBoard scalars (tag → value) or None. The trainer runs ``critic_step`` and
``training_step`` under ``trainer.autocast()`` (FP16 on CUDA with ``optim.amp``); a critic
step's ``"loss"`` is logged as ``critic_loss``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Protocol, runtime_checkable

from babelface.errors import InputError


@runtime_checkable
class Task(Protocol):
    name: str
    monitor: str
    monitor_mode: str            # "min" or "max"

    def build_model(self, cfg: Any): ...

    def datasets(self, cfg: Any): ...

    def training_step(self, model, batch: dict, step: int) -> dict: ...

    def validate(self, model, val_loader) -> dict[str, float]: ...


# task name → "module:attribute" of the task class, imported only when that task is trained
TASKS: dict[str, str] = {
    "muex": "babelface.train.muex_task:MuExTask",
    "sync_expert": "babelface.train.sync:SyncExpertTask",
    "kmtalk": "babelface.train.kmtalk_task:KMTalkTask",
    "vqtalker_tokenizer": "babelface.train.vqtalker:TokenizerTask",
    "vqtalker": "babelface.train.vqtalker:GeneratorTask",
}
DEFAULT_TASK = "muex"


def task_class(name: str) -> type:
    """The task class registered as ``name`` (imported now)."""
    if not isinstance(name, str) or name not in TASKS:
        raise InputError(f"unknown task {name!r}: the config's task must be one of {', '.join(sorted(TASKS))}")
    module, attr = TASKS[name].split(":")
    return getattr(import_module(module), attr)


def make_task(name: str) -> Task:
    """A fresh instance of the task registered as ``name``."""
    return task_class(name)()


def config_class(name: str) -> type:
    """The run-config dataclass of the task ``name``."""
    from babelface.train.config import RunConfig
    return getattr(task_class(name), "config_class", RunConfig)
