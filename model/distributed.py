"""The process group of a ``torchrun`` launch, and the few collective checks training needs.

One process per device: ``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; the
group uses NCCL on GPUs and gloo on CPU. Without ``WORLD_SIZE`` (or with 1) training runs
in a single process and every collective here is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from . import checkpoint as ckpt


@dataclass
class Dist:
    """Where this process stands: ``rank`` of ``world`` processes, on ``device``."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        """Rank 0: the process that validates, logs and writes checkpoints."""
        return self.rank == 0


def setup_distributed() -> Dist:
    """Join the torchrun process group when its environment says ``WORLD_SIZE`` > 1.

    Returns:
        The rank, world size and device (``cuda:LOCAL_RANK`` when CUDA is available,
        else the CPU) of this process.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(device=torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return Dist(rank, world, torch.device(f"cuda:{local}" if cuda else "cpu"))


def close_distributed(d: Dist) -> None:
    """Leave the process group joined by :func:`setup_distributed`, if any."""
    if d.world > 1 and dist.is_initialized():
        dist.destroy_process_group()


def gather_rng(d: Dist) -> list[dict]:
    """Every rank's RNG states (:func:`model.checkpoint.rng_state`), in rank order."""
    state = ckpt.rng_state()
    if d.world == 1:
        return [state]
    out = [None] * d.world
    dist.all_gather_object(out, state)
    return out


def weights_agree(model: torch.nn.Module, d: Dist) -> bool:
    """After a DDP step every rank must hold the same weights: compare float64 checksums.

    The checksum lives on ``d.device``: NCCL only moves CUDA tensors, gloo CPU ones.
    """
    if d.world == 1:
        return True
    with torch.no_grad():
        s = torch.stack([p.double().sum() for p in model.parameters()]).sum().reshape(1)
    out = [torch.zeros(1, dtype=torch.float64, device=s.device) for _ in range(d.world)]
    dist.all_gather(out, s)
    return all(torch.equal(out[0], x) for x in out)


def any_rank(flag: bool, d: Dist) -> bool:
    """True on every rank when ``flag`` is true on at least one (all ranks decide alike)."""
    if d.world == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=d.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def barrier(d: Dist) -> None:
    """Wait for every rank (no-op in a single process)."""
    if d.world > 1:
        dist.barrier()
