"""Training configuration: dataclasses whose defaults are MuEx App. E's values (YAML overrides them;
the YAML is read in :mod:`babelface.train.builders` only)."""

from __future__ import annotations

from dataclasses import dataclass, field

from babelface.models.muex import MuExConfig
from babelface.train.toy import ToyConfig


@dataclass
class OptimConfig:
    name: str = "adam"                        # "adam" (E.1: L2 weight decay) or "adamw" (decoupled)
    lr: float = 1e-4                          # E.1, C.6: Adam, every module, discriminator too
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 1e-4                # E.1: all parameters but normalisation layers and biases
    grad_clip: float = 5.0                    # E.1, C.5: global norm
    warmup_steps: int = 10_000                # E.2, C.6: linear warm-up
    min_lr_ratio: float = 0.1                 # E.2: cosine decay to 10 % by the final step
    amp: bool = True                          # E.1: FP16 autocast + dynamic loss scaling (CUDA only)


@dataclass
class DataConfig:
    kind: str = "manifest"                    # "manifest" (babelface.data.datasets) or "toy"
    root: str = "data/benchmark"              # corpus folder holding the manifest
    train_split: str = "train"
    val_split: str = "val"
    languages: tuple[str, ...] = ()           # train on these languages only (empty: all)
    spec_augment: bool = True                 # E.5: time masking on mel features
    audio_augment: float = 0.0                # ours: > 0 disturbs the training log-mel (noise, hum, reverb,
                                              # EQ, VTLP, low-pass: train.sync_augment.augment_mel at this strength)
    mix_root: str | None = None               # a second corpus mixed into training (train/mix.py)
    mix_share: float = 0.5                    # its share of the training items
    mix_speaker_norm: bool = True             # scale its speakers to the median speaker's range
    # its pauses: "keep" (in the loss), "skip" (frames more than mix_pause_margin from speech are left out of
    # the loss: real speakers' lips stay parted between phrases, and a model learns it; issue 11) or
    # "rest" (their target is the rest pose, reached over 3 frames: media.features.rest_envelope)
    mix_pauses: str = "keep"
    mix_pause_margin: int = 3                 # frames next to speech that skip/rest leave as they are
    # real clips' own audio-video offsets (a JSON like scripts/real_av_offsets_closure.json, {"offsets":
    # {clip id: frames or null}}, + = the video lags the audio): every clip it lists, in either corpus, is
    # cut to its re-aligned part (null: left out), so that a model does not learn a recording's offset
    offsets: str | None = None
    num_workers: int = 0
    toy: ToyConfig = field(default_factory=ToyConfig)


@dataclass
class TrainConfig:
    out_dir: str = "runs/muex"
    seed: int = 0                             # C.9: fixed seeds
    batch_size: int = 64                      # E.4: sequences per optimizer step (all ranks)
    seq_len: int = 200                        # E.4: frames per random contiguous crop
    grad_accum: int = 1                       # E.4: N_acc micro-batches per step
    max_steps: int = 80_000                   # E.6: 60k–80k
    init_weights: str | None = None           # fine-tune: start from these MuEx weights (same model section)
    freeze: tuple[str, ...] = ()              # fine-tune: the model's sub-modules (by name, e.g. audio_encoder) left as they are
    ckpt_every: int = 2_000                   # E.6: checkpoint (and validate) every 2k steps
    keep_best: int = 3                        # E.6: top-3 by validation LSE-D
    eval_batches: int = 0                     # validation batches per evaluation (0: all)
    log_every: int = 50
    device: str = "auto"                      # "auto" (CUDA when present), "cpu", "cuda"
    motion_scale_batches: int = 20            # batches measuring the motion RMS at the start
    # the sync expert (issue 6) as an extra loss on the predicted motion: L += w · SyncLoss (0: off)
    sync_loss_weight: float = 0.0
    sync_loss_mode: str = "infonce"           # "infonce" (in-clip negatives) or "cosine"
    sync_expert: str | None = None            # its weights (default: the shipped expert)


@dataclass
class RunConfig:
    """MuEx's run config, and the base of every task's (``task`` names it: babelface.train.task)."""

    task: str = "muex"
    model: MuExConfig = field(default_factory=MuExConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)
