"""Distributed set-up and the DeepSpeed engine (ZeRO 0-3, fp32/bf16, accumulation, clipping).

Works under the `deepspeed` launcher, `torchrun`, or as a plain single process (the environment a
launcher would set is filled in). On CPU the backend is gloo; on GPUs the accelerator's (nccl), with
the same code.
"""

from __future__ import annotations

import functools
import json
import math
import os
import socket
from pathlib import Path
from typing import Any

import torch

from sciforge.model.moe import ExpertParallel, MoEFeedForward, expert_parallel_layers
from sciforge.model.train.config import TrainConfig

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


def num_experts(model: torch.nn.Module) -> int:
    """Experts per MoE layer of `model` (0 for a dense model)."""
    return max((m.num_experts for m in model.modules() if isinstance(m, MoEFeedForward)), default=0)


def resolve_expert_parallel_size(requested: int | str, world_size: int, experts: int) -> int:
    """The expert-parallel size for a run: `requested` must divide both the world size and the number of
    experts; "auto" takes the largest size that does (gcd), i.e. EP whenever the world size allows."""
    if requested == "auto":
        return math.gcd(world_size, experts) if experts else 1
    ep = int(requested)
    if ep < 1:
        raise ValueError(f"expert_parallel_size must be >= 1 or 'auto', got {requested!r}")
    if ep == 1:
        return 1
    if experts == 0:
        raise ValueError(f"expert_parallel_size={ep} but the model has no MoE layers")
    if world_size % ep:
        raise ValueError(f"expert_parallel_size={ep} does not divide the world size {world_size}")
    if experts % ep:
        raise ValueError(f"expert_parallel_size={ep} does not divide num_experts={experts}")
    return ep


def expert_group_name(ep_size: int) -> str:
    return f"ep_size_{ep_size}"  # DeepSpeed's name for the EP / expert-data-parallel group pair


@functools.cache
def _moe_marker_class() -> type[torch.nn.Module]:
    from deepspeed.moe.layer import MoE

    class ExpertParallelMarker(MoE):  # type: ignore[misc]
        """A parameter-less `deepspeed.moe.layer.MoE`: its presence sets `engine.has_moe_layers`, which
        switches DeepSpeed to its MoE gradient path (expert grads reduced over the expert-data-parallel
        group, expert optimizer groups partitioned over it, the global grad norm counting every expert
        once). The experts themselves stay in our `MoEFeedForward` layers. It owns no state, and its
        `num_local_experts = 0` makes DeepSpeed's own per-expert checkpoint files empty: the
        CheckpointManager saves the expert shards."""

        def __init__(self, experts: int, ep_size: int) -> None:
            torch.nn.Module.__init__(self)
            self.num_experts = experts
            self.ep_size = ep_size
            self.expert_group_name = expert_group_name(ep_size)
            self.num_local_experts = 0
            self.use_residual = False
            self.enable_expert_tensor_parallelism = False

        def set_deepspeed_parallelism(self, use_data_before_expert_parallel_: bool = False) -> None:
            return None  # the groups exist already (setup_expert_parallel)

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("ExpertParallelMarker is a marker module and is never called")

    return ExpertParallelMarker


MARKER_NAME = "expert_parallel"  # child module name of the marker (no state: adds no checkpoint keys)


def setup_expert_parallel(model: torch.nn.Module, ep_size: int) -> ExpertParallel | None:
    """Shard every MoE layer's experts over DeepSpeed's expert-parallel groups of `ep_size` ranks, tag
    the expert weights as MoE params (`allreduce=False`, `group_name`) and add the marker module.

    Call after `init_distributed`, before `build_engine`/optimizer creation. Returns None for ep_size 1.
    """
    if ep_size <= 1:
        return None
    if expert_parallel_layers(model):
        raise RuntimeError("expert parallelism is already set up on this model")
    import torch.distributed as dist
    from deepspeed.utils import groups

    name = expert_group_name(ep_size)
    if name not in groups._get_expert_parallel_group_dict():
        groups._create_expert_and_data_parallel(ep_size)
    group = groups._get_expert_parallel_group(name)
    ep = ExpertParallel(group=group, size=ep_size, rank=dist.get_rank(group=group),
                        data_rank=groups._get_expert_data_parallel_rank(name))
    for m in model.modules():
        if isinstance(m, MoEFeedForward):
            m.enable_expert_parallel(ep)
            for p in m.experts.parameters():
                p.allreduce = False  # type: ignore[attr-defined]
                p.group_name = name  # type: ignore[attr-defined]
    model.add_module(MARKER_NAME, _moe_marker_class()(num_experts(model), ep_size))
    return ep


def _clip_fp32_with_experts(engine: Any, ep: ExpertParallel) -> None:
    """ZeRO-0 fp32: DeepSpeed's clip averages per-rank norms, which is wrong once ranks hold different
    experts. Replace it with the true global norm: dense grads (equal on all ranks after the all-reduce)
    plus the squared expert grads summed over the EP group (each expert counted once)."""
    import torch.distributed as dist
    from deepspeed.moe.utils import is_moe_param

    def clip() -> torch.Tensor:
        params = [p for p in engine.module.parameters() if p.grad is not None]
        zero = torch.zeros((), dtype=torch.float32, device=params[0].device)
        dense = sum((p.grad.float().pow(2).sum() for p in params if not is_moe_param(p)), zero)
        expert = sum((p.grad.float().pow(2).sum() for p in params if is_moe_param(p)), zero.clone())
        dist.all_reduce(expert, group=ep.group)
        total = (dense + expert).sqrt()
        coef = torch.clamp(engine.gradient_clipping() / (total + 1e-6), max=1.0)  # DeepSpeed's formula
        for p in params:
            p.grad.mul_(coef.to(p.grad.dtype))
        engine._global_grad_norm = float(total)
        return total

    engine.clip_fp32_gradients = clip


def _optimizer_groups(
    model: torch.nn.Module, weight_decay: float, expert_parallel: bool
) -> list[dict[str, Any]]:
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        # No weight decay on norms, biases and embeddings' 1-D params (GPT-3 / Llama practice).
        (no_decay if p.ndim < 2 or name.endswith(".bias") else decay).append(p)
    groups: list[dict[str, Any]] = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if not expert_parallel:
        return groups
    from deepspeed.moe.utils import split_params_into_different_moe_groups_for_optimizer

    # ZeRO-1/2 partition a group marked {'moe': True, 'name': 'ep_size_<n>'} over the expert-data-parallel
    # group instead of all ranks; this moves the expert weights into such groups.
    groups[0]["name"], groups[1]["name"] = "decay", "no_decay"
    return [g for g in split_params_into_different_moe_groups_for_optimizer(groups) if g["params"]]


def build_engine(
    model: torch.nn.Module, cfg: TrainConfig, world_size: int, first_batch_sequences: int
) -> Any:
    """The DeepSpeed engine over `model` with a torch AdamW; sets up expert parallelism first when
    `cfg.expert_parallel_size` (resolved against the world size and the model's experts) is above 1."""
    import deepspeed

    zero3 = (cfg.zero_stage or 0) >= 3
    requested = 1 if cfg.expert_parallel_size == "auto" and zero3 else cfg.expert_parallel_size
    ep_size = resolve_expert_parallel_size(requested, world_size, num_experts(model))
    if ep_size > 1 and zero3:
        raise ValueError(
            "expert_parallel_size > 1 needs ZeRO stage 0, 1 or 2: DeepSpeed's MoE gradient path does not "
            "support ZeRO-3 (partitioned parameters)"
        )
    ep = setup_expert_parallel(model, ep_size)
    groups = _optimizer_groups(model, cfg.optim.weight_decay, ep is not None)
    optimizer = torch.optim.AdamW(groups, lr=cfg.schedule.lr, betas=cfg.optim.betas, eps=cfg.optim.eps)
    ds_cfg = deepspeed_config(cfg, world_size, first_batch_sequences)
    engine, _, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, config=ds_cfg)
    if ep is not None and not cfg.zero_stage and cfg.precision != "bf16":
        _clip_fp32_with_experts(engine, ep)
    return engine
