"""Mixture-of-Experts feed-forward layer: top-k softmax router, grouped SwiGLU experts, router losses.

Expert parallelism (EP): `MoEFeedForward.enable_expert_parallel` keeps only this rank's slice of the
stacked expert weights (E/ep experts, a contiguous range); the router stays replicated. The forward then
dispatches each kept (token, expert) assignment to the rank that owns the expert with two all-to-alls
(per-expert counts, then the token rows), runs the local experts, and sends the results back. Routing,
capacity and `RouterStats` are computed on the rank's own tokens exactly as without EP.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from sciforge.model.config import ModelConfig
from sciforge.model.layers import LinearFactory, SwiGLU


def load_balancing_loss(probs: torch.Tensor, expert_idx: torch.Tensor, num_experts: int) -> torch.Tensor:
    """Switch/DeepSeek expert-balance loss: E * sum_e f_e * P_e.

    f_e = share of the N*k routing assignments that went to expert e (not differentiable),
    P_e = mean router probability of expert e over the N tokens. Equals 1.0 for perfectly uniform routing.
    probs: (N, E) softmax output; expert_idx: (N, k) selected experts.
    """
    n, k = expert_idx.shape
    counts = torch.bincount(expert_idx.reshape(-1), minlength=num_experts).to(probs.dtype)
    f = counts / (n * k)
    p = probs.mean(dim=0)
    return num_experts * (f * p).sum()


def router_z_loss(logits: torch.Tensor) -> torch.Tensor:
    """ST-MoE router z-loss: mean over tokens of logsumexp(logits)^2 (keeps router logits small)."""
    return torch.logsumexp(logits, dim=-1).pow(2).mean()


@dataclass
class RouterStats:
    aux_loss: torch.Tensor
    z_loss: torch.Tensor
    tokens_per_expert: torch.Tensor  # (E,) assignments before capacity dropping
    dropped: int  # assignments dropped by the capacity limit


def grouped_mm_supported(x: torch.Tensor) -> bool:
    """torch._grouped_mm runs on CPU in fp32/bf16/fp16 and on Hopper+ GPUs in BF16."""
    if not hasattr(torch, "_grouped_mm"):
        return False
    if x.device.type == "cpu":
        return x.dtype in (torch.float32, torch.bfloat16, torch.float16)
    return x.is_cuda and x.dtype == torch.bfloat16 and torch.cuda.get_device_capability(x.device) >= (9, 0)


class GroupedExperts(nn.Module):
    """E SwiGLU experts with stacked weights (nn.Linear orientation: (E, out, in)).

    Stacked weights keep the module tree small at paper scale (128 experts x 94 layers) and feed a
    grouped GEMM directly: `forward` takes tokens already sorted by expert plus per-expert counts and
    runs one `torch._grouped_mm` per projection (no host sync), or a per-expert loop where the grouped
    GEMM is unavailable (`use_grouped_mm=False` forces the loop; both give the same numbers).
    """

    def __init__(self, num_experts: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.num_experts = num_experts
        self.gate_proj = nn.Parameter(torch.empty(num_experts, hidden, dim))
        self.up_proj = nn.Parameter(torch.empty(num_experts, hidden, dim))
        self.down_proj = nn.Parameter(torch.empty(num_experts, dim, hidden))
        self.use_grouped_mm = True

    def forward(self, x_sorted: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        if x_sorted.shape[0] == 0:
            # keep the weights AND the (empty) input in the graph: under expert parallelism a rank can
            # receive no tokens; its experts must still get (zero) gradients for the collective gradient
            # reduction, and the all-to-all that delivered the empty input must still run its backward,
            # or the other ranks wait in theirs forever (they did: a 2-rank run hung at step 16).
            touch = self.gate_proj.sum() + self.up_proj.sum() + self.down_proj.sum()
            return x_sorted * 0.0 + 0.0 * touch.to(x_sorted.dtype)
        if self.use_grouped_mm and grouped_mm_supported(x_sorted):
            offs = torch.cumsum(counts, 0).to(torch.int32)
            gate = torch._grouped_mm(x_sorted, self.gate_proj.transpose(-2, -1), offs=offs)
            up = torch._grouped_mm(x_sorted, self.up_proj.transpose(-2, -1), offs=offs)
            return torch._grouped_mm(F.silu(gate) * up, self.down_proj.transpose(-2, -1), offs=offs)
        # unbind once: indexing the stacked tensor per expert would make backward materialise a full
        # (E, out, in) gradient per expert.
        gates, ups, downs = self.gate_proj.unbind(0), self.up_proj.unbind(0), self.down_proj.unbind(0)
        outs = []
        for e, xe in enumerate(torch.split(x_sorted, counts.tolist())):
            if xe.shape[0]:
                outs.append(F.linear(F.silu(F.linear(xe, gates[e])) * F.linear(xe, ups[e]), downs[e]))
        return torch.cat(outs, dim=0)


@dataclass(frozen=True)
class ExpertParallel:
    """This rank's place in its expert-parallel group (DeepSpeed's `ep_size_<n>` groups).

    `group` holds the `size` ranks that together own all experts of a layer (rank `rank` owns experts
    [rank * E/size, (rank + 1) * E/size)); `data_rank` is the rank among the replicas of the same expert
    slice (the expert-data-parallel group), 0 for the one that writes the slice to a checkpoint.
    """

    group: Any  # torch.distributed.ProcessGroup
    size: int
    rank: int
    data_rank: int = 0

    def local_range(self, num_experts: int) -> tuple[int, int]:
        n = num_experts // self.size
        return self.rank * n, (self.rank + 1) * n


class _AllToAll(torch.autograd.Function):
    """Differentiable `all_to_all_single` with uneven splits along dim 0 (backward: the reverse exchange).

    torch.distributed.nn.functional.all_to_all_single does the same but is deprecated in torch 2.13; gloo
    (CPU) and nccl both implement the uneven-split all_to_all_single this wraps.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, x: torch.Tensor, out_splits: list[int], in_splits: list[int], group: Any
    ) -> torch.Tensor:
        ctx.splits, ctx.group = (out_splits, in_splits), group
        out = x.new_empty((sum(out_splits), *x.shape[1:]))
        dist.all_to_all_single(out, x.contiguous(), out_splits, in_splits, group=group)
        return out

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: Any, grad: torch.Tensor
    ) -> tuple[torch.Tensor, None, None, None]:
        out_splits, in_splits = ctx.splits
        back = grad.new_empty((sum(in_splits), *grad.shape[1:]))
        dist.all_to_all_single(back, grad.contiguous(), in_splits, out_splits, group=ctx.group)
        return back, None, None, None


def all_to_all(x: torch.Tensor, out_splits: list[int], in_splits: list[int], group: Any) -> torch.Tensor:
    out: torch.Tensor = _AllToAll.apply(x, out_splits, in_splits, group)
    return out


class MoEFeedForward(nn.Module):
    """Qwen3-MoE sparse block (+ optional DeepSeek-style always-on shared expert)."""

    def __init__(self, cfg: ModelConfig, linear_cls: LinearFactory = nn.Linear) -> None:
        super().__init__()
        self.num_experts = cfg.num_experts
        self.top_k = cfg.num_experts_per_tok
        self.norm_topk_prob = cfg.norm_topk_prob
        self.capacity_factor = cfg.capacity_factor
        # The router stays in high precision even with fp8 (DeepSeek-V3 keeps gating in BF16/FP32).
        self.gate = nn.Linear(cfg.hidden_size, cfg.num_experts, bias=False)
        self.experts = GroupedExperts(cfg.num_experts, cfg.hidden_size, cfg.moe_intermediate_size)
        self.shared_expert = (
            SwiGLU(cfg.hidden_size, cfg.shared_expert_intermediate_size, linear_cls)
            if cfg.shared_expert_intermediate_size > 0
            else None
        )
        self.expert_parallel: ExpertParallel | None = None

    def enable_expert_parallel(self, ep: ExpertParallel) -> None:
        """Keep only this rank's experts (a contiguous slice of the stacked weights); call it before the
        optimizer is built, on a model initialised identically on every rank."""
        if self.expert_parallel is not None:
            raise RuntimeError("expert parallelism is already enabled on this layer")
        if self.num_experts % ep.size:
            raise ValueError(f"expert_parallel_size {ep.size} does not divide num_experts {self.num_experts}")
        lo, hi = ep.local_range(self.num_experts)
        ex = self.experts
        for name in ("gate_proj", "up_proj", "down_proj"):
            full: nn.Parameter = getattr(ex, name)
            setattr(ex, name, nn.Parameter(full.detach()[lo:hi].clone(), requires_grad=full.requires_grad))
        ex.num_experts = hi - lo
        self.expert_parallel = ep

    def capacity(self, n_tokens: int) -> int | None:
        """GShard capacity per expert, or None for the drop-free path (always used in eval)."""
        if self.capacity_factor is None or not self.training:
            return None
        return max(1, math.ceil(self.capacity_factor * n_tokens * self.top_k / self.num_experts))

    def route(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Router logits (fp32), probabilities, top-k weights and indices for x: (N, D)."""
        logits = self.gate(x)
        logits = logits.to(torch.promote_types(logits.dtype, torch.float32))  # fp32 at least
        probs = logits.softmax(dim=-1)
        weights, idx = probs.topk(self.top_k, dim=-1)
        if self.norm_topk_prob:
            weights = weights / weights.sum(dim=-1, keepdim=True)
        return logits, probs, weights, idx

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, RouterStats]:
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        n = x.shape[0]
        logits, probs, weights, idx = self.route(x)

        flat_expert = idx.reshape(-1)  # (N*k), token-major: earlier tokens win capacity slots
        flat_token = torch.arange(n, device=x.device).repeat_interleave(self.top_k)
        flat_weight = weights.reshape(-1)
        order = torch.argsort(flat_expert, stable=True)
        sorted_expert = flat_expert[order]
        tokens_per_expert = torch.bincount(flat_expert, minlength=self.num_experts)

        dropped = 0
        cap = self.capacity(n)
        if cap is not None:
            starts = torch.cumsum(tokens_per_expert, 0) - tokens_per_expert
            rank = torch.arange(order.numel(), device=x.device) - starts[sorted_expert]
            keep = rank < cap
            dropped = int((~keep).sum())
            order, sorted_expert = order[keep], sorted_expert[keep]
            counts = torch.clamp(tokens_per_expert, max=cap)
        else:
            counts = tokens_per_expert

        token_sorted = flat_token[order]
        if self.expert_parallel is not None and self.expert_parallel.size > 1:
            y_sorted = self._dispatch_and_combine(x[token_sorted], counts, self.expert_parallel)
        else:
            y_sorted = self.experts(x[token_sorted], counts)
        y_sorted = y_sorted * flat_weight[order].unsqueeze(-1).to(y_sorted.dtype)
        out = torch.zeros_like(x).index_add_(0, token_sorted, y_sorted)
        if self.shared_expert is not None:
            out = out + self.shared_expert(x)

        stats = RouterStats(
            aux_loss=load_balancing_loss(probs, idx, self.num_experts),
            z_loss=router_z_loss(logits),
            tokens_per_expert=tokens_per_expert.detach(),
            dropped=dropped,
        )
        return out.reshape(shape), stats

    def _dispatch_and_combine(
        self, x_sorted: torch.Tensor, counts: torch.Tensor, ep: ExpertParallel
    ) -> torch.Tensor:
        """x_sorted: this rank's kept assignments sorted by global expert, counts: (E,) per global expert.

        Experts are owned in contiguous blocks, so the rows for EP rank r are one contiguous run of
        x_sorted. Returns the expert outputs in the same order as x_sorted.
        """
        local = self.num_experts // ep.size
        send_counts = counts.reshape(ep.size, local).contiguous()  # row r: my rows for rank r's experts
        recv_counts = torch.empty_like(send_counts)  # row s: rank s's rows for each of my experts
        dist.all_to_all_single(recv_counts, send_counts, group=ep.group)
        in_splits = send_counts.sum(1).tolist()  # host sync: the row splits must be known on the host
        out_splits = recv_counts.sum(1).tolist()
        recv = all_to_all(x_sorted, out_splits, in_splits, ep.group)
        # received rows are grouped by source rank, then by local expert: regroup by local expert
        local_ids = torch.arange(local, device=recv.device).repeat(ep.size)
        row_expert = torch.repeat_interleave(local_ids, recv_counts.reshape(-1).to(recv.device))
        perm = torch.argsort(row_expert, stable=True)
        y_local = self.experts(recv[perm], recv_counts.sum(0))
        inverse = torch.empty_like(perm)
        inverse[perm] = torch.arange(perm.numel(), device=perm.device)
        return all_to_all(y_local[inverse], in_splits, out_splits, ep.group)


def expert_parallel_layers(model: nn.Module) -> list[tuple[str, MoEFeedForward]]:
    """The MoE layers of `model` that run with expert parallelism (size > 1), with their module names."""
    return [
        (name, m)
        for name, m in model.named_modules()
        if isinstance(m, MoEFeedForward) and m.expert_parallel is not None and m.expert_parallel.size > 1
    ]


EXPERT_WEIGHTS = ("gate_proj", "up_proj", "down_proj")


def local_expert_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """This rank's expert slices under their module names (`....mlp.experts.gate_proj` -> (E/ep, out, in))."""
    return {
        f"{name}.experts.{w}": getattr(m.experts, w).detach()
        for name, m in expert_parallel_layers(model)
        for w in EXPERT_WEIGHTS
    }


@contextmanager
def gathered_experts(model: nn.Module) -> Iterator[None]:
    """Collective: inside the block every rank's expert-parallel layers hold ALL experts (all-gathered over
    the EP group), so `state_dict()` / `save_pretrained` see the complete model; restored on exit."""
    saved: list[tuple[GroupedExperts, str, torch.Tensor, int]] = []
    try:
        for _, m in expert_parallel_layers(model):
            ep = m.expert_parallel
            assert ep is not None
            for w in EXPERT_WEIGHTS:
                p: nn.Parameter = getattr(m.experts, w)
                part = p.detach().contiguous()
                parts = [torch.empty_like(part) for _ in range(ep.size)]
                dist.all_gather(parts, part, group=ep.group)
                full = torch.cat(parts)
                saved.append((m.experts, w, p.data, m.experts.num_experts))
                p.data = full
            m.experts.num_experts = m.num_experts
        yield
    finally:
        for experts, w, data, n in saved:
            getattr(experts, w).data = data
            experts.num_experts = n
