"""Distributed set-up and the DeepSpeed engine (ZeRO 0-3, fp32/bf16, accumulation, clipping).

Works under the `deepspeed` launcher, `torchrun`, or as a plain single process (the environment a
launcher would set is filled in). On CPU the backend is gloo; on GPUs the accelerator's (nccl), with
the same code.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import torch

from model.train.config import TrainConfig

DIST_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
SHM_COMM_OP = "deepspeed_shm_comm"  # DeepSpeed's op-builder name for the CPU shared-memory allreduce


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def init_distributed(shm_comm: bool = False) -> tuple[int, int]:
    """Initialise torch.distributed through DeepSpeed; returns (rank, world_size)."""
    import deepspeed
    import deepspeed.ops
    from deepspeed.accelerator import get_accelerator

    if "RANK" not in os.environ:  # a plain `python` run: one process (DeepSpeed would ask for mpi4py)
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(_free_port()))
    if not shm_comm:
        # DeepSpeed keeps one dict of compatible ops per process; marking the shared-memory comm op as
        # unavailable makes its torch backend fall back to plain gloo instead of JIT-building it.
        deepspeed.ops.__compatible_ops__[SHM_COMM_OP] = False
    if not torch.distributed.is_initialized():
        deepspeed.init_distributed(dist_backend=get_accelerator().communication_backend_name())
    return torch.distributed.get_rank(), torch.distributed.get_world_size()


def device() -> torch.device:
    from deepspeed.accelerator import get_accelerator

    name = get_accelerator().device_name()
    if name == "cpu":
        return torch.device("cpu")
    return torch.device(name, int(os.environ.get("LOCAL_RANK", "0")))


def deepspeed_config(cfg: TrainConfig, world_size: int, first_batch_sequences: int) -> dict[str, Any]:
    """The DeepSpeed JSON: a base file (optional) with batch, precision, ZeRO and clipping set from `cfg`.

    No optimizer or scheduler is named here: the optimizer is a torch.optim.AdamW passed in (a named one
    JIT-builds fused_adam, ~160 s on CPU) and the LR is set per step by our schedule.
    """
    base: dict[str, Any] = {}
    if cfg.deepspeed_config:
        base = json.loads(Path(cfg.deepspeed_config).read_text())
        for key in ("optimizer", "scheduler"):
            if key in base:
                raise ValueError(f"{cfg.deepspeed_config}: do not name an {key} in the DeepSpeed config")
    gas = first_batch_sequences // (cfg.micro_batch_size * world_size)
    out = dict(base)
    out.update(
        {
            "train_micro_batch_size_per_gpu": cfg.micro_batch_size,
            "gradient_accumulation_steps": gas,
            "train_batch_size": cfg.micro_batch_size * gas * world_size,
            "gradient_clipping": cfg.optim.grad_clip,
            "steps_per_print": 10**9,  # our metrics logger prints
            "wall_clock_breakdown": False,
        }
    )
    zero = dict(base.get("zero_optimization", {}))
    zero["stage"] = cfg.zero_stage or 0
    out["zero_optimization"] = zero
    out["bf16"] = {"enabled": cfg.precision == "bf16"}
    out.pop("fp16", None)
    if cfg.zero_stage:
        # torch.optim.AdamW is supported by ZeRO; this only silences the check for other torch optimizers.
        out.setdefault("zero_allow_untested_optimizer", True)
    return out


def build_engine(
    model: torch.nn.Module, cfg: TrainConfig, world_size: int, first_batch_sequences: int
) -> Any:
    import deepspeed

    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        # No weight decay on norms, biases and embeddings' 1-D params (GPT-3 / Llama practice).
        (no_decay if p.ndim < 2 or name.endswith(".bias") else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": cfg.optim.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=cfg.schedule.lr, betas=cfg.optim.betas, eps=cfg.optim.eps)
    ds_cfg = deepspeed_config(cfg, world_size, first_batch_sequences)
    engine, _, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, config=ds_cfg)
    return engine
