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

Optional hooks (the trainer calls them when present): ``critic(model) -> nn.Module`` and
``critic_step(model, critic, batch, step) -> dict[str, Tensor]`` (an adversary / MI estimator
with its own optimizer, stepped before the model), ``on_fit_start(trainer)`` (e.g. measuring the
motion scale), ``on_epoch_start(trainer, epoch)`` (e.g. re-clustering prototypes),
``export(model, path)`` (the shipped inference checkpoint).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


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
    "vqtalker_tokenizer": "babelface.train.vqtalker:TokenizerTask",
    "vqtalker": "babelface.train.vqtalker:GeneratorTask",
}
