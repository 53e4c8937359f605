"""A plain-torch stand-in for the DeepSpeed engine, with the two methods `CheckpointManager` calls.

Why not DeepSpeed here: the RL update needs per-sample backward passes (gradient-norm-based sample
dropping) and direct access to the summed gradients before the optimizer step; DeepSpeed's engine owns the
backward/step cycle (and its ZeRO gradient partitioning) which makes both awkward. The policy is
replicated per rank and gradients are averaged with `torch.distributed.all_reduce` (gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

STATE_FILE = "policy_and_optimizer.pt"


class TorchEngine:
    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, rank: int = 0) -> None:
        self.module, self.optimizer, self.rank = model, optimizer, rank

    def save_checkpoint(self, save_dir: str, tag: str, save_latest: bool = False) -> None:
        path = Path(save_dir) / tag
        path.mkdir(parents=True, exist_ok=True)
        if self.rank == 0:  # replicas are identical
            torch.save({"model": self.module.state_dict(), "optimizer": self.optimizer.state_dict()},
                       path / STATE_FILE)

    def load_checkpoint(self, load_dir: str, tag: str, load_optimizer_states: bool = True,
                        load_lr_scheduler_states: bool = False) -> tuple[str | None, dict[str, Any]]:
        path = Path(load_dir) / tag / STATE_FILE
        if not path.is_file():
            return None, {}
        state = torch.load(path, map_location="cpu", weights_only=False)
        self.module.load_state_dict(state["model"])
        if load_optimizer_states:
            self.optimizer.load_state_dict(state["optimizer"])
        return str(path.parent), {}


def all_reduce_grads(model: torch.nn.Module, world: int) -> None:
    if world <= 1:
        return
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad.div_(world)


def init_process_group() -> tuple[int, int]:
    """(rank, world): gloo/nccl under torchrun; a plain single process otherwise."""
    import os

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1
