"""Building blocks of the language model: RMSNorm, RoPE, the linear-layer hook, SwiGLU, GQA attention."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from sciforge.model.config import ModelConfig

log = logging.getLogger(__name__)

LinearFactory = Callable[..., nn.Module]


def make_linear_cls(fp8: bool) -> LinearFactory:
    """The hook every large projection is built through: `linear_cls(in_features, out_features, bias=...)`.

    With `fp8=True` it returns `sciforge.kernels.fp8.Fp8Linear` (imported lazily, only then); when that module
    is not importable the model falls back to `nn.Linear` with a warning instead of failing.
    """
    if not fp8:
        return nn.Linear
    try:
        from sciforge.kernels.fp8 import Fp8Linear  # noqa: PLC0415 - optional, heavy, only when asked for
    except ImportError as exc:  # pragma: no cover - depends on the kernels package being present
        warnings.warn(f"fp8=True but sciforge.kernels.fp8 is not importable ({exc}); using nn.Linear", stacklevel=2)
        return nn.Linear
    return Fp8Linear


class RMSNorm(nn.Module):
    """Root-mean-square norm (Zhang & Sennrich 2019), computed in float32 like Qwen3/Llama."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.to(torch.promote_types(dtype, torch.float32))
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


class RotaryEmbedding(nn.Module):
    """RoPE (Su et al. 2021), rotate-half layout as in GPT-NeoX / Llama / Qwen."""

    inv_freq: torch.Tensor  # a registered (non-persistent) buffer

    def __init__(self, head_dim: int, theta: float) -> None:
        super().__init__()
        # Computed on the CPU then moved to the ambient default device (cheap on "meta", where
        # arithmetic would first import torch's reference implementations).
        steps = torch.arange(0, head_dim, 2, dtype=torch.float32, device="cpu") / head_dim
        inv_freq = (1.0 / theta**steps).to(torch.empty(0).device)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    @torch.no_grad()
    def forward(self, position_ids: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        freqs = position_ids[..., None].float() * self.inv_freq  # (B, T, D/2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: (B, H, T, D); cos/sin: (B, T, D)."""
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    return x * cos + rotate_half(x) * sin


class SwiGLU(nn.Module):
    """down(silu(gate(x)) * up(x)) (Shazeer 2020): the dense MLP and the shared expert."""

    def __init__(self, dim: int, hidden: int, linear_cls: LinearFactory = nn.Linear) -> None:
        super().__init__()
        self.gate_proj = linear_cls(dim, hidden, bias=False)
        self.up_proj = linear_cls(dim, hidden, bias=False)
        self.down_proj = linear_cls(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


@dataclass
class KVCache:
    """Preallocated keys/values for every layer plus which key slots hold real tokens.

    `keys[i]`: (B, n_kv_heads, max_len, head_dim). `valid`: (B, max_len) bool, False for left padding
    and for slots not yet written. `length` is the number of slots written so far (same for the batch).
    """

    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    valid: torch.Tensor
    length: int = 0

    @classmethod
    def empty(
        cls, cfg: ModelConfig, batch: int, max_len: int, device: torch.device, dtype: torch.dtype
    ) -> KVCache:
        shape = (batch, cfg.num_key_value_heads, max_len, cfg.head_dim)
        n = cfg.num_hidden_layers
        return cls(
            keys=[torch.zeros(shape, device=device, dtype=dtype) for _ in range(n)],
            values=[torch.zeros(shape, device=device, dtype=dtype) for _ in range(n)],
            valid=torch.zeros(batch, max_len, dtype=torch.bool, device=device),
        )

    @property
    def max_len(self) -> int:
        return self.valid.shape[1]

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Write this step's k/v at [length, length + T) and return the keys/values written so far."""
        t = k.shape[2]
        end = self.length + t
        if end > self.max_len:
            raise ValueError(f"KV cache overflow: {end} > max_len {self.max_len}")
        self.keys[layer][:, :, self.length : end] = k
        self.values[layer][:, :, self.length : end] = v
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]


class Attention(nn.Module):
    """Grouped-query attention with per-head QK RMSNorm (Qwen3) and RoPE, through PyTorch SDPA.

    With no mask and no cache SDPA gets `is_causal=True`, which lets it pick the flash / memory-
    efficient kernels; packed documents, padding and cached decoding pass an explicit boolean mask.
    """

    def __init__(self, cfg: ModelConfig, layer_idx: int, linear_cls: LinearFactory = nn.Linear) -> None:
        super().__init__()
        self.layer_idx = layer_idx
        self.n_heads = cfg.num_attention_heads
        self.n_kv = cfg.num_key_value_heads
        self.head_dim = cfg.head_dim
        self.q_proj = linear_cls(cfg.hidden_size, self.n_heads * self.head_dim, bias=False)
        self.k_proj = linear_cls(cfg.hidden_size, self.n_kv * self.head_dim, bias=False)
        self.v_proj = linear_cls(cfg.hidden_size, self.n_kv * self.head_dim, bias=False)
        self.o_proj = linear_cls(self.n_heads * self.head_dim, cfg.hidden_size, bias=False)
        self.q_norm = RMSNorm(self.head_dim, cfg.rms_norm_eps)
        self.k_norm = RMSNorm(self.head_dim, cfg.rms_norm_eps)

    def forward(
        self,
        x: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
        mask: torch.Tensor | None,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        b, t, _ = x.shape
        q = self.q_norm(self.q_proj(x).view(b, t, self.n_heads, self.head_dim)).transpose(1, 2)
        k = self.k_norm(self.k_proj(x).view(b, t, self.n_kv, self.head_dim)).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        cos, sin = rope
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None:
            k, v = cache.update(self.layer_idx, k, v)
        gqa = self.n_kv != self.n_heads
        if gqa and mask is not None and q.is_cuda:
            # CUDA's memory-efficient kernel takes a mask but not enable_gqa: repeat the KV heads so a
            # masked call does not fall back to the O(T^2)-memory math kernel.
            k = k.repeat_interleave(self.n_heads // self.n_kv, dim=1)
            v = v.repeat_interleave(self.n_heads // self.n_kv, dim=1)
            gqa = False
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None, enable_gqa=gqa)
        return self.o_proj(y.transpose(1, 2).reshape(b, t, self.n_heads * self.head_dim))


def positions_from_doc_ids(doc_ids: torch.Tensor) -> torch.Tensor:
    """Position of each token inside its own document (RoPE restarts at every packed document)."""
    b, t = doc_ids.shape
    idx = torch.arange(t, device=doc_ids.device).expand(b, t)
    start = torch.ones_like(doc_ids, dtype=torch.bool)
    start[:, 1:] = doc_ids[:, 1:] != doc_ids[:, :-1]
    first = torch.where(start, idx, torch.zeros_like(idx)).cummax(dim=1).values
    return idx - first


def doc_ids_from_separators(input_ids: torch.Tensor, sep_id: int) -> torch.Tensor:
    """Document index of each token in a packed row whose documents each END with `sep_id` (EOD):
    the separator belongs to the document it closes, the next token starts a new one."""
    ends = (input_ids == sep_id).long()
    return ends.cumsum(dim=-1) - ends


def build_attention_mask(
    q_len: int,
    k_len: int,
    offset: int,
    device: torch.device,
    key_valid: torch.Tensor | None = None,
    doc_ids: torch.Tensor | None = None,
) -> torch.Tensor:
    """Boolean (B|1, 1, q_len, k_len) mask, True = may attend.

    Query i sits at absolute slot `offset + i`; it sees keys at slots <= its own (causal), only valid
    keys (padding excluded) and only keys of its own document. Each query always sees itself so a row
    is never empty (padding queries then give finite, ignored outputs instead of NaN).
    """
    q_pos = torch.arange(q_len, device=device)[:, None] + offset
    k_pos = torch.arange(k_len, device=device)[None, :]
    mask = (k_pos <= q_pos)[None, None]  # (1, 1, q, k)
    if key_valid is not None:
        mask = mask & key_valid[:, None, None, :k_len]
    if doc_ids is not None:
        if offset != 0 or q_len != k_len:
            raise ValueError("doc_ids (packed documents) are not supported together with a KV cache")
        mask = mask & (doc_ids[:, None, :, None] == doc_ids[:, None, None, :])
    return mask | (k_pos == q_pos)[None, None]
