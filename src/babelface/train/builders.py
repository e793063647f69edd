"""The one place where YAML becomes objects: run configs, datasets, models, optimizers.

A config file is a YAML mapping: ``task: NAME`` (default ``muex``, a key of
:data:`babelface.train.task.TASKS`) and the sections of that task's run config (MuEx's:
:class:`~babelface.train.config.RunConfig`: ``model``, ``optim``, ``train``, ``data``); anything
left out keeps the default. A file may
start from another with ``inherit: other.yaml`` (a path relative to it, or a config shipped in
``babelface/configs``). Several files merge left to right, then ``--set a.b=value`` overrides apply.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch
import yaml
from torch import nn

from babelface.config_io import from_dict, merge
from babelface.errors import InputError
from babelface.train.config import OptimConfig, RunConfig

MAX_INHERIT_DEPTH = 8


def shipped_configs() -> Path:
    return Path(str(resources.files("babelface").joinpath("configs")))


def resolve_config(name: str | Path, relative_to: Path | None = None) -> Path:
    """A config path: as given, relative to ``relative_to``, or a shipped name (``default``, ``tiny.yaml``)."""
    p = Path(name)
    candidates = [p]
    if relative_to is not None and not p.is_absolute():
        candidates.append(relative_to / p)
    candidates += [shipped_configs() / p.name, shipped_configs() / f"{p.name}.yaml"]
    for c in candidates:
        if c.is_file():
            return c
    names = sorted(q.stem for q in shipped_configs().glob("*.yaml"))
    raise InputError(f"no config file {name}: give a YAML path or one of the shipped configs "
                     f"({', '.join(names)})")


def read_yaml(path: str | Path, depth: int = 0) -> dict:
    """A config file as a dict, with its ``inherit`` chain resolved."""
    path = resolve_config(path)
    if depth > MAX_INHERIT_DEPTH:
        raise InputError(f"{path}: inherit chain deeper than {MAX_INHERIT_DEPTH}: is it circular?")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as e:
        raise InputError(f"{path} is not a text file (not UTF-8 at byte {e.start}): give a YAML config") from e
    except yaml.YAMLError as e:
        raise InputError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from e
    except RecursionError as e:          # PyYAML's composer recurses once per nesting level
        raise InputError(f"{path} nests too deeply to be a config (thousands of levels)") from e
    if not isinstance(data, dict):
        raise InputError(f"{path} must hold a mapping of config sections (model, optim, train, data)")
    parent = data.pop("inherit", None)
    if parent:
        data = merge(read_yaml(resolve_config(parent, path.parent), depth + 1), data)
    return data


def parse_override(text: str) -> dict:
    """``a.b.c=value`` (value read as YAML) → ``{"a": {"b": {"c": value}}}``."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise InputError(f"--set {text!r}: write it as section.field=value, e.g. train.max_steps=1000")
    out: dict = {}
    node = out
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    try:
        node[parts[-1]] = yaml.safe_load(value)
    except (yaml.YAMLError, RecursionError) as e:
        raise InputError(f"--set {text[:80]!r}: the value is not valid YAML") from e
    return out


def load_config(paths: list[str | Path] | str | Path, overrides: list[str] = ()) -> RunConfig:
    """Merge the config files (left to right) and ``--set`` overrides into the run config of the
    task they name (``task:``, default muex)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    data: dict = {}
    for p in paths:
        data = merge(data, read_yaml(p))
    for o in overrides:
        data = merge(data, parse_override(o))
    from babelface.train.task import DEFAULT_TASK, config_class
    return from_dict(config_class(data.setdefault("task", DEFAULT_TASK)), data)


def needs_waveform(cfg: RunConfig) -> bool:
    """Whether the model reads the raw waveform (a wav2vec 2.0 front-end: ``model.audio.features``)."""
    return getattr(getattr(getattr(cfg, "model", None), "audio", None), "features", "mel") == "wav2vec"


MIX_PAUSES = ("keep", "skip", "rest")


def build_dataset(cfg: RunConfig, train: bool):
    """The training (random crops, augmentation) or validation (whole utterances) dataset."""
    data = cfg.data
    seq_len = cfg.train.seq_len if train else None
    augment = data.audio_augment
    if not (isinstance(augment, (int, float)) and 0 <= augment <= 10):
        raise InputError(f"data.audio_augment must be a strength in [0, 10] (0: off, 1: the sync expert's own), got {augment}")
    from babelface.train.sync import read_offsets
    offsets = read_offsets(data.offsets)          # a wrong path fails here, whatever the data
    if data.kind == "toy":
        from babelface.train.toy import ToyDataset
        return ToyDataset(data.toy, "train" if train else "val", seq_len)
    if data.kind == "manifest":
        try:
            from babelface.data.datasets import ManifestDataset, TimeMasking
        except ImportError as e:
            raise InputError("data.kind manifest needs the benchmark datasets (babelface.data.datasets), "
                             "which this installation lacks: use data.kind: toy") from e
        with_audio = needs_waveform(cfg)
        mel_augment = None
        if train and augment > 0:       # the sync expert's disturbances; E.5's time masking stays its own
            from functools import partial
            from babelface.train.sync_augment import AugmentConfig, augment_mel
            mel_augment = partial(augment_mel, cfg=AugmentConfig(strength=augment, p_specaug=0.0))

        def corpus(root, languages, speech_margin=None):
            return ManifestDataset(root, split=data.train_split if train else data.val_split,
                                   languages=languages, crop_frames=seq_len, random_crop=train,
                                   time_masking=TimeMasking() if train and data.spec_augment else None,
                                   with_audio=with_audio, speech_margin=speech_margin, mel_augment=mel_augment,
                                   offsets=offsets)
        if data.mix_pauses not in MIX_PAUSES:
            raise InputError(f"data.mix_pauses must be one of {', '.join(MIX_PAUSES)}, got {data.mix_pauses!r}")
        if not (isinstance(data.mix_pause_margin, int) and 0 <= data.mix_pause_margin <= 100):
            raise InputError(f"data.mix_pause_margin must be a whole number of frames in [0, 100], got {data.mix_pause_margin}")
        main = corpus(data.root, tuple(data.languages) or None)
        if not (train and data.mix_root):
            return main
        from babelface.train.mix import MixedDataset
        margin = data.mix_pause_margin if data.mix_pauses != "keep" else None
        return MixedDataset(main, corpus(data.mix_root, None, margin), data.mix_share, data.mix_speaker_norm,
                            rest_pauses=data.mix_pauses == "rest")
    raise InputError(f"unknown data.kind {data.kind!r}: use manifest or toy")


def parameter_groups(module: nn.Module, weight_decay: float) -> list[dict]:
    """E.1: weight decay on every weight matrix; none on biases and normalisation parameters (1-D)."""
    params = [p for p in module.parameters() if p.requires_grad]
    return [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]


OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def build_optimizer(module: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """``optim.name``: Adam (MuEx E.1, the paper's β and ε; weight decay is Adam's L2 term: E.1
    names Adam, not AdamW) or AdamW (decoupled weight decay: the sync expert's)."""
    if cfg.name not in OPTIMIZERS:
        raise InputError(f"unknown optim.name {cfg.name!r}: use {' or '.join(OPTIMIZERS)}")
    return OPTIMIZERS[cfg.name](parameter_groups(module, cfg.weight_decay), lr=cfg.lr,
                                betas=tuple(cfg.betas), eps=cfg.eps)
