"""Mixture-of-Experts feed-forward layer: top-k softmax router, grouped SwiGLU experts, router losses."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from model.config import ModelConfig
from model.layers import LinearFactory, SwiGLU


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
            return x_sorted.new_zeros(x_sorted.shape)
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
