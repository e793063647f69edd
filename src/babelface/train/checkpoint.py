"""Training checkpoints: one safetensors file per save, everything needed to resume exactly.

The file is a :mod:`babelface.models.checkpoint` file (header ``kind: "training"``) with more in it.
Tensors: ``model.*`` (the model's state, so its ``from_pretrained`` reads a training checkpoint
directly), ``critic.*`` (the task's critic, e.g. MuEx's PV-Align discriminators), ``optim.<name>.<i>.<key>`` (Adam moments and
steps per parameter), ``rng.*`` (torch CPU/CUDA, NumPy and Python generator states). A small JSON
header (safetensors metadata) carries the model config, the run config, the step, the best
checkpoints so far, the optimizers' hyper-parameters and the AMP loss-scaler state. No pickle
anywhere; writes are atomic (temporary file + rename).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
from torch import nn

from babelface.errors import WeightsError
from babelface.models.checkpoint import MODEL_PREFIX, read_checkpoint, write_checkpoint

CRITIC_PREFIX = "critic."


def _rng_state() -> tuple[dict[str, torch.Tensor], dict]:
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, state, gauss_next = random.getstate()
    tensors["rng.numpy"] = torch.from_numpy(keys.astype(np.int64))
    tensors["rng.python"] = torch.tensor(state, dtype=torch.int64)
    meta = {"numpy": [kind, int(pos), int(has_gauss), float(gauss)], "python": [version, gauss_next]}
    return tensors, meta


def _set_rng_state(tensors: dict[str, torch.Tensor], meta: dict) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    cuda = sorted(k for k in tensors if k.startswith("rng.cuda."))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[k] for k in cuda][: torch.cuda.device_count()])
    kind, pos, has_gauss, gauss = meta["numpy"]
    np.random.set_state((kind, tensors["rng.numpy"].numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, gauss_next = meta["python"]
    random.setstate((version, tuple(int(x) for x in tensors["rng.python"].tolist()), gauss_next))


def _optimizer_state(name: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim.{name}.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _load_optimizer(name: str, opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    state: dict[int, dict] = {}
    prefix = f"optim.{name}."
    for key, value in tensors.items():
        if key.startswith(prefix):
            idx, field = key[len(prefix):].split(".", 1)
            state.setdefault(int(idx), {})[field] = value
    for idx, values in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(values)
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save_training_state(path: str | Path, model: nn.Module, critic: nn.Module | None,
                        optimizers: dict[str, torch.optim.Optimizer], scaler: torch.amp.GradScaler,
                        **header) -> Path:
    """Write model, critic, optimizers, loss scaler, RNG states and ``header`` to ``path``; ``model``
    has :class:`~babelface.models.checkpoint.CheckpointMixin` (its header names it)."""
    tensors = {MODEL_PREFIX + k: v for k, v in model.state_dict().items()}
    if critic is not None:
        tensors.update({CRITIC_PREFIX + k: v for k, v in critic.state_dict().items()})
    optim_meta = {}
    for name, opt in optimizers.items():
        t, m = _optimizer_state(name, opt)
        tensors.update(t)
        optim_meta[name] = m
    rng_tensors, rng_meta = _rng_state()
    tensors.update(rng_tensors)
    meta = model.checkpoint_header(kind="training", optim=optim_meta, rng=rng_meta,
                                   scaler=scaler.state_dict() if scaler.is_enabled() else {}, **header)
    return write_checkpoint(path, tensors, meta)


def load_training_state(path: str | Path, model: nn.Module, critic: nn.Module | None,
                        optimizers: dict[str, torch.optim.Optimizer], scaler: torch.amp.GradScaler) -> dict:
    """Restore everything :func:`save_training_state` wrote; returns the JSON header."""
    header, tensors = read_checkpoint(path, getattr(model, "model_name", None), getattr(model, "label", None))
    if header.get("kind") != "training":
        raise WeightsError(f"{path} is an exported model, not a training checkpoint: it cannot be resumed")

    def part(prefix):
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    model.load_state_dict(part(MODEL_PREFIX))
    if critic is not None:
        critic.load_state_dict(part(CRITIC_PREFIX))
    for name, opt in optimizers.items():
        _load_optimizer(name, opt, tensors, header["optim"][name])
    if scaler.is_enabled() and header.get("scaler"):
        scaler.load_state_dict(header["scaler"])
    _set_rng_state(tensors, header["rng"])
    return header
