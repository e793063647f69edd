"""One checkpoint format for every learned model (issue 12, part 2).

A checkpoint is one safetensors file (never a pickle). Its metadata entry ``"babelface"`` holds a
JSON header::

    {"format": "babelface-model", "version": 2, "model": "muex", "task": "muex",
     "config": {... the model's config dataclass ...}, "kind": "inference" | "training", ...}

and its tensors are the model's state dict under ``model.`` (a training checkpoint adds the
trainer's ``critic.*``, ``optim.*``, ``rng.*``: :mod:`babelface.train.checkpoint`). A model is
rebuilt from the header alone: :meth:`CheckpointMixin.from_pretrained`.

Every model uses it by inheriting :class:`CheckpointMixin` next to ``nn.Module`` and naming its
``model_name`` and ``config_class`` (and ``self.cfg`` holding that dataclass)::

    class Toy(CheckpointMixin, nn.Module):
        model_name, config_class = "toy", ToyConfig

    Toy(ToyConfig()).save_pretrained("toy.safetensors", step=100)
    Toy.from_pretrained("toy.safetensors")

Files written before this module still read (:func:`read_checkpoint`): MuEx's format
``babelface-muex`` version 1 (the same layout, no ``model`` key) and the sync expert's
``babelface.sync_expert`` (flat metadata strings, tensors without a prefix).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import torch

from babelface.config_io import from_dict, to_dict
from babelface.errors import InputError, WeightsError

METADATA_KEY = "babelface"          # safetensors metadata entry holding the JSON header
FORMAT = "babelface-model"
FORMAT_VERSION = 2
MODEL_PREFIX = "model."             # tensor names: model.<state_dict key>
LEGACY_MUEX = "babelface-muex"      # MuEx files before the kit (version 1)
LEGACY_SYNC = "babelface.sync_expert"


def make_header(model_name: str, config: Any, **extra) -> dict:
    """The JSON header of a checkpoint of ``model_name`` with ``config`` (a dataclass or a dict)."""
    cfg = config if isinstance(config, dict) else to_dict(config)
    return {"format": FORMAT, "version": FORMAT_VERSION, "model": model_name, "config": cfg, **extra}


def write_checkpoint(path: str | Path, tensors: dict[str, torch.Tensor], header: dict) -> Path:
    """``tensors`` and ``header`` as one safetensors file, written atomically."""
    from safetensors.torch import save_file

    from babelface.media._atomic import atomic_path
    path = Path(path)
    with atomic_path(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp),
                  metadata={METADATA_KEY: json.dumps(header)})
    return path


def _legacy_sync(meta: dict, tensors: dict) -> tuple[dict, dict]:
    header = {k: v for k, v in meta.items() if k not in ("format", "version", "config")}
    header.update(format=FORMAT, version=int(meta.get("version", 1)), model="sync_expert",
                  config=json.loads(meta["config"]), legacy=LEGACY_SYNC)
    return header, {MODEL_PREFIX + k: v for k, v in tensors.items()}


def read_checkpoint(path: str | Path, model: str | None = None, label: str | None = None,
                    map_location: str = "cpu") -> tuple[dict, dict[str, torch.Tensor]]:
    """(JSON header, tensors) of a babelface checkpoint, old formats read into the current one;
    ``model``: the model name the file must hold (``label``: its name in messages). One-line
    :class:`WeightsError` otherwise."""
    from safetensors import SafetensorError, safe_open
    path = Path(path)
    label = label or model or "babelface"
    if not path.is_file():
        raise WeightsError(f"no {label} checkpoint at {path} (not found): give a .safetensors file "
                           "written by babelface train")
    try:
        with safe_open(str(path), framework="pt", device=map_location) as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise WeightsError(f"{path} is not a readable safetensors file, cannot read it ({e}): retrain "
                           "or re-export it") from e
    if meta.get("format") == LEGACY_SYNC:
        header, tensors = _legacy_sync(meta, tensors)
    else:
        try:
            header = json.loads(meta[METADATA_KEY])
        except (KeyError, json.JSONDecodeError) as e:
            raise WeightsError(f"{path} is not a babelface {label} checkpoint: it carries no babelface "
                               "header") from e
        if not isinstance(header, dict):
            raise WeightsError(f"{path} carries a malformed babelface header")
        if header.get("format") == LEGACY_MUEX:
            header = {**header, "model": "muex", "legacy": LEGACY_MUEX}
        elif header.get("format") != FORMAT:
            raise WeightsError(f"{path} holds a {header.get('format')!r} file, not a babelface model")
        elif header.get("version", 0) > FORMAT_VERSION:
            raise WeightsError(f"{path} was written by a newer babelface (format {header['version']}): upgrade")
    if model is not None and header.get("model") != model:
        raise WeightsError(f"{path} is not a babelface {label} checkpoint: it holds a "
                           f"{header.get('model')!r} model")
    return header, tensors


def model_state(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The model's state dict from a checkpoint's tensors (the ``model.`` entries)."""
    return {k[len(MODEL_PREFIX):]: v for k, v in tensors.items() if k.startswith(MODEL_PREFIX)}


class CheckpointMixin:
    """``save_pretrained`` / ``from_pretrained`` for an ``nn.Module`` with ``self.cfg``.

    Class attributes: ``model_name`` (the header's ``model``), ``config_class`` (the dataclass
    ``cfg`` is rebuilt as), ``training_only`` (state-dict prefixes an inference file drops and a
    load may lack)."""

    model_name: ClassVar[str]
    label: ClassVar[str | None] = None
    config_class: ClassVar[type]
    training_only: ClassVar[tuple[str, ...]] = ()

    def checkpoint_header(self, **extra) -> dict:
        return make_header(self.model_name, self.cfg, **extra)

    def save_pretrained(self, path: str | Path, inference_only: bool = True, **extra) -> Path:
        """Weights and config as one safetensors file (atomically); ``extra`` goes into the header."""
        state = {MODEL_PREFIX + k: v for k, v in self.state_dict().items()
                 if not (inference_only and self.training_only and k.startswith(self.training_only))}
        kind = extra.pop("kind", "inference" if inference_only else "weights")
        return write_checkpoint(path, state, self.checkpoint_header(kind=kind, **extra))

    @classmethod
    def from_header(cls, header: dict):
        """A fresh model built from a checkpoint header's config."""
        return cls(from_dict(cls.config_class, header["config"], "model"))

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str | torch.device = "cpu"):
        """Rebuild a model from a checkpoint (exported or training); nothing else is needed."""
        header, tensors = read_checkpoint(path, cls.model_name, cls.label)
        try:
            model = cls.from_header(header)
        except (TypeError, ValueError, InputError) as e:
            raise WeightsError(f"{path}: its {cls.model_name} config does not build a model ({e}): "
                               "is it from a newer babelface?") from e
        try:
            missing, unexpected = model.load_state_dict(model_state(tensors), strict=False)
        except RuntimeError as e:                                  # a tensor of another shape
            raise WeightsError(f"{path} does not match its own config: {str(e).splitlines()[0]}") from e
        missing = [k for k in missing if not (cls.training_only and k.startswith(cls.training_only))]
        if missing or unexpected:
            raise WeightsError(f"{path} does not match its {cls.model_name} config ({len(missing)} missing, "
                               f"{len(unexpected)} unexpected tensors, e.g. {(missing + unexpected)[0]}): "
                               "use a checkpoint written by babelface train")
        model.checkpoint_meta = header
        return model.to(device).eval()
