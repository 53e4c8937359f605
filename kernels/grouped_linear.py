"""FP8 grouped linear for MoE experts with stacked weights (``weight [E, out, in]``, ``nn.Linear`` orientation).

Tokens arrive sorted by expert with per-expert ``counts`` (as ``sciforge.model.moe.GroupedExperts`` holds them). They
are scattered into the contiguous grouped layout (each expert's rows padded to a 128-row boundary, DeepGEMM's
m-grouped contiguous layout) and multiplied by one grouped GEMM per pass:

Forward  y_e  = x_e W_e^T   grouped GEMM, x per 1x128 tile, W_e per 128x128 block
Dgrad    dx_e = dy_e W_e    grouped GEMM, dy per 1x128 tile, W_e^T blocks = W_e's blocks transposed
Wgrad    dW_e = dy_e^T x_e  one GEMM per expert with tokens (K = that expert's token count), both operands
                            quantized per 1x128 tile along the token dim
"""

from __future__ import annotations

from typing import Any

import torch

from sciforge.kernels import ops
from sciforge.kernels.constants import QUANT_BLOCK
from sciforge.kernels.ops import Backend
from sciforge.kernels.reference import contiguous_layout


def quantize_stacked_weight(
    weight: torch.Tensor, pow2_scales: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-expert 128x128 block quantization of ``[E, out, in]``: ``(q [E, out, in], s [E, out/128, in/128])``."""
    e, n, k = weight.shape
    if n % QUANT_BLOCK == 0:
        # Blocks never straddle two experts, so the stacked 2-D matrix quantizes in one launch.
        q, s = ops.quantize_weight(weight.reshape(e * n, k), pow2_scales)
        return q.view(e, n, k), s.view(e, n // QUANT_BLOCK, s.shape[-1])
    parts = [ops.quantize_weight(weight[i], pow2_scales) for i in range(e)]
    return torch.stack([p[0] for p in parts]), torch.stack([p[1] for p in parts])


class _Fp8GroupedLinearFunction(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: torch.Tensor,
        weight: torch.Tensor,
        counts: tuple[int, ...],
        pow2_scales: bool,
        backend: Backend | None,
    ) -> torch.Tensor:
        e, n, k = weight.shape
        out_dtype = x.dtype if x.dtype in (torch.bfloat16, torch.float32) else torch.float32
        m_indices, rows = contiguous_layout(list(counts), device=x.device)
        x_pad = x.new_zeros(m_indices.numel(), k)
        x_pad[rows] = x
        xq, xs = ops.quantize_activation(x_pad, pow2_scales)
        wq, ws = quantize_stacked_weight(weight, pow2_scales)
        y = ops.fp8_grouped_gemm(xq, xs, wq, ws, m_indices, out_dtype, backend)[rows]
        ctx.save_for_backward(x, wq, ws, m_indices, rows)
        ctx.meta = (counts, weight.dtype, pow2_scales, backend)
        return y.to(x.dtype)

    @staticmethod
    def backward(ctx: Any, dy: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        x, wq, ws, m_indices, rows = ctx.saved_tensors
        counts, w_dtype, pow2_scales, backend = ctx.meta
        e, n, k = wq.shape
        dx = dw = None
        if ctx.needs_input_grad[0]:
            out_dtype = x.dtype if x.dtype in (torch.bfloat16, torch.float32) else torch.float32
            dy_pad = dy.new_zeros(m_indices.numel(), n)
            dy_pad[rows] = dy
            dyq, dys = ops.quantize_activation(dy_pad, pow2_scales)
            wtq, wts = wq.transpose(1, 2).contiguous(), ws.transpose(1, 2).contiguous()
            dx = ops.fp8_grouped_gemm(dyq, dys, wtq, wts, m_indices, out_dtype, backend)[rows].to(x.dtype)
        if ctx.needs_input_grad[1]:
            dw = torch.zeros(e, n, k, dtype=torch.float32, device=x.device)
            start = 0
            for expert, count in enumerate(counts):
                if count:
                    seg = slice(start, start + count)
                    dytq, dyts = ops.quantize_activation_transposed(dy[seg], pow2_scales)
                    xtq, xts = ops.quantize_activation_transposed(x[seg], pow2_scales)
                    dw[expert] = ops.fp8_gemm(dytq, dyts, xtq, xts, torch.float32, backend)
                start += count
            dw = dw.to(w_dtype)
        return dx, dw, None, None, None


def fp8_grouped_linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    counts: list[int] | tuple[int, ...],
    pow2_scales: bool = False,
    backend: Backend | None = None,
) -> torch.Tensor:
    """``y[t] = x[t] @ weight[e(t)]^T`` for tokens sorted by expert (``counts[e]`` tokens of expert e).

    ``x [sum(counts), in]``, ``weight [E, out, in]``; differentiable in ``x`` and ``weight``. Always the FP8
    numerics (the reference GEMM off-GPU): callers choose it where ``sciforge.kernels.linear.fp8_supported`` holds.
    """
    if weight.dim() != 3 or x.dim() != 2 or x.shape[1] != weight.shape[2]:
        raise ValueError(
            f"expected x [T, in] and weight [E, out, in], got {tuple(x.shape)}, {tuple(weight.shape)}"
        )
    if len(counts) != weight.shape[0] or sum(counts) != x.shape[0]:
        raise ValueError(
            f"counts must have {weight.shape[0]} entries summing to {x.shape[0]}, got {list(counts)}"
        )
    return _Fp8GroupedLinearFunction.apply(  # type: ignore[no-any-return]
        x, weight, tuple(int(c) for c in counts), pow2_scales, backend
    )
