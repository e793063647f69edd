"""DistributedDataParallel switched on by the environment ``torchrun`` sets (nanoGPT's habit).

``torchrun --nproc_per_node N -m babelface.cli train --config X`` runs N ranks; a plain
``babelface train`` runs one. NCCL on CUDA, gloo on CPU (multi-node: ``--nnodes``/``--rdzv-*``
as usual; nothing here is node-specific).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class Dist:
    rank: int = 0
    local_rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def _pick_device(preference: str, local_rank: int) -> torch.device:
    if preference == "cpu" or (preference == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        from babelface.errors import InputError
        raise InputError("train.device is cuda but no CUDA device is visible: use device: cpu or auto")
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)


def setup(device: str = "auto") -> Dist:
    """Join the process group when launched by torchrun (``WORLD_SIZE`` > 1); pick the device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    dev = _pick_device(device, local_rank)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return Dist(rank, local_rank, world, dev)


def cleanup(d: Dist) -> None:
    """Leave the process group after a finished run. The ranks meet first: a rank that tore gloo
    down while another still wrote its summary aborted in C++ ('terminate called without an active
    exception', exit −6; seen once in the full suite, not reproduced in 12 runs alone)."""
    if d.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def barrier(d: Dist) -> None:
    if d.enabled:
        dist.barrier()


def broadcast_(d: Dist, tensor: torch.Tensor, src: int = 0) -> torch.Tensor:
    if d.enabled:
        dist.broadcast(tensor, src)
    return tensor


def all_mean(d: Dist, value: torch.Tensor) -> torch.Tensor:
    if d.enabled:
        value = value.clone()
        dist.all_reduce(value)
        value /= d.world
    return value


def all_gather_rows(d: Dist, x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``(n_r, ...)`` from every rank (each rank cut to the smallest ``n_r``)."""
    if not d.enabled:
        return x
    n = torch.tensor([len(x)], device=x.device)
    dist.all_reduce(n, op=dist.ReduceOp.MIN)
    x = x[: int(n)].contiguous()
    parts = [torch.empty_like(x) for _ in range(d.world)]
    dist.all_gather(parts, x)
    return torch.cat(parts)
