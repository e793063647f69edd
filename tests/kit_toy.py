"""A test-only motion generator on the kit (issue 12): a model file, a task, a config, two lines of
registration. Log-mel → one conv → motion; trained by the one trainer on the in-memory toy corpus.

    TASKS["kit_toy"] = "kit_toy:ToyTask";  GENERATORS["toy"] = "kit_toy:generator"
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from babelface.face.indices import N_MOTION
from babelface.models.audio_encoder import mel_features
from babelface.models.checkpoint import CheckpointMixin
from babelface.train.builders import build_dataset
from babelface.train.config import RunConfig


@dataclass
class ToyConfig:
    width: int = 16


@dataclass
class ToyRunConfig(RunConfig):
    task: str = "kit_toy"
    model: ToyConfig = field(default_factory=ToyConfig)


class Toy(CheckpointMixin, nn.Module):
    name = model_name = "toy"
    needs_text = False
    config_class = ToyConfig

    def __init__(self, cfg: ToyConfig):
        super().__init__()
        self.cfg = cfg
        self.conv = nn.Conv1d(80, cfg.width, 4, stride=4)                 # 4 mel frames → 1 video frame
        self.out = nn.Linear(cfg.width, N_MOTION * 3)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:                  # (b, 4t, 80) → (b, t, L, 3)
        h = torch.tanh(self.conv(mel.transpose(1, 2))).transpose(1, 2)       # (b, t, width)
        return self.out(h).unflatten(-1, (N_MOTION, 3))

    @torch.inference_mode()
    def predict_motion(self, audio16k, *, text=None, language=None) -> np.ndarray:
        t = -(-len(audio16k) // 640)
        return self(torch.from_numpy(mel_features(np.asarray(audio16k, np.float32), t))[None])[0].numpy()


def generator(weights=None) -> Toy:
    return Toy.from_pretrained(weights)


class Killed(Exception):
    """The stand-in for a SIGKILL: the run stops between two steps, after a checkpoint."""


class ToyTask:
    name, monitor, monitor_mode, config_class = "kit_toy", "l1", "min", ToyRunConfig
    die_at: int | None = None               # the test's stand-in for a SIGKILL after this step

    def build_model(self, cfg):
        return Toy(cfg.model)

    def datasets(self, cfg):
        return build_dataset(cfg, train=True), build_dataset(cfg, train=False)

    def training_step(self, model, batch, step):
        err = (model(batch["mel"]) - batch["motion"]).abs().mean(dim=(2, 3))   # (b, t)
        loss = err[batch["mask"]].mean()
        return {"loss": loss}

    @torch.no_grad()
    def validate(self, model, loader):
        errs = [self.training_step(model, b, 0)["loss"].item() for b in loader]
        return {"l1": float(np.mean(errs))}

    def on_step_end(self, trainer):
        if trainer.step == self.die_at:
            raise Killed(f"killed after step {trainer.step}")

    def export(self, model, path, **header):
        return model.save_pretrained(path, **header)
