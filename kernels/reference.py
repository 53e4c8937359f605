"""Plain-torch reference block-scaled FP8 GEMMs (run on CPU and GPU; the numerics oracle of the kernels).

``C[M, N] = A[M, K] @ B[N, K]^T`` ("NT", both operands K-major, as DeepGEMM), with A scaled per 1x128
tile (``a_scale [M, Kb]``) and B per 128x128 block (``b_scale [Nb, Kb]``) or per 1x128 row tile
(``b_scale [N, Kb]``, used by the weight-gradient GEMM).
"""

from __future__ import annotations

from typing import Literal

import torch

from sciforge.kernels.constants import FP8_DTYPE, GROUPED_M_ALIGNMENT, QUANT_BLOCK
from sciforge.kernels.quant import ceil_div, expand_b_scale

AccumulateMode = Literal["kblock", "dequant"]


def check_gemm_operands(
    a: torch.Tensor, a_scale: torch.Tensor, b: torch.Tensor, b_scale: torch.Tensor, grouped: bool = False
) -> None:
    """Validate dtypes and shapes shared by every backend; raises ValueError/TypeError with the reason."""
    if a.dtype != FP8_DTYPE or b.dtype != FP8_DTYPE:
        raise TypeError(f"a and b must be {FP8_DTYPE}, got {a.dtype} and {b.dtype}")
    if a_scale.dtype != torch.float32 or b_scale.dtype != torch.float32:
        raise TypeError(f"scales must be float32, got {a_scale.dtype} and {b_scale.dtype}")
    if a.dim() != 2 or b.dim() != (3 if grouped else 2):
        raise ValueError(f"bad operand ranks: a {tuple(a.shape)}, b {tuple(b.shape)} (grouped={grouped})")
    m, k = a.shape
    if b.shape[-1] != k:
        raise ValueError(f"K mismatch: a has K={k}, b has K={b.shape[-1]}")
    kb = ceil_div(k, QUANT_BLOCK)
    if tuple(a_scale.shape) != (m, kb):
        raise ValueError(f"a_scale must be [{m}, {kb}] (1x{QUANT_BLOCK} tiles), got {tuple(a_scale.shape)}")
    if grouped:
        g, n, _ = b.shape
        want = (g, ceil_div(n, QUANT_BLOCK), kb)
        if tuple(b_scale.shape) != want:
            raise ValueError(f"grouped b_scale must be {list(want)}, got {tuple(b_scale.shape)}")
    else:
        expand_b_scale(b_scale, b.shape[0], k)  # raises on a bad layout


def fp8_gemm_reference(
    a: torch.Tensor,
    a_scale: torch.Tensor,
    b: torch.Tensor,
    b_scale: torch.Tensor,
    out_dtype: torch.dtype = torch.bfloat16,
    accumulate: AccumulateMode = "kblock",
) -> torch.Tensor:
    """Block-scaled FP8 GEMM in FP32 torch ops.

    ``accumulate="kblock"`` multiplies each 128-wide K slice in FP32 and applies the scales to the partial
    sums, as the kernels do when they promote the tensor-core accumulator; ``"dequant"`` dequantizes both
    operands first. The two agree to ~1e-5 relative.
    """
    check_gemm_operands(a, a_scale, b, b_scale)
    m, k = a.shape
    n = b.shape[0]
    sb = expand_b_scale(b_scale, n, k)  # [N, Kb]
    if accumulate == "dequant":
        a_deq = a.float() * a_scale.repeat_interleave(QUANT_BLOCK, dim=1)[:, :k]
        b_deq = b.float() * sb.repeat_interleave(QUANT_BLOCK, dim=1)[:, :k]
        return (a_deq @ b_deq.t()).to(out_dtype)
    if accumulate != "kblock":
        raise ValueError(f"unknown accumulate mode {accumulate!r}")
    out = torch.zeros(m, n, dtype=torch.float32, device=a.device)
    af, bf = a.float(), b.float()
    for kb in range(ceil_div(k, QUANT_BLOCK)):
        ks = slice(kb * QUANT_BLOCK, min(k, (kb + 1) * QUANT_BLOCK))
        partial = af[:, ks] @ bf[:, ks].t()
        out += partial * a_scale[:, kb : kb + 1] * sb[:, kb].unsqueeze(0)
    return out.to(out_dtype)


def fp8_grouped_gemm_reference(
    a: torch.Tensor,
    a_scale: torch.Tensor,
    b: torch.Tensor,
    b_scale: torch.Tensor,
    m_indices: torch.Tensor,
    out_dtype: torch.dtype = torch.bfloat16,
) -> torch.Tensor:
    """Grouped (MoE) GEMM over the contiguous layout: row ``i`` of ``a`` uses expert ``m_indices[i]``.

    ``b [G, N, K]``, ``b_scale [G, Nb, Kb]``; rows whose index is -1 (alignment padding) come out as 0.
    """
    check_gemm_operands(a, a_scale, b, b_scale, grouped=True)
    m, n = a.shape[0], b.shape[1]
    if m_indices.shape != (m,):
        raise ValueError(f"m_indices must be [{m}], got {tuple(m_indices.shape)}")
    out = torch.zeros(m, n, dtype=out_dtype, device=a.device)
    for g in range(b.shape[0]):
        rows = (m_indices == g).nonzero().flatten()
        if rows.numel():
            out[rows] = fp8_gemm_reference(a[rows], a_scale[rows], b[g], b_scale[g], out_dtype)
    return out


def contiguous_layout(
    group_sizes: list[int], alignment: int = GROUPED_M_ALIGNMENT, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Contiguous grouped layout for tokens sorted by expert.

    Each expert's segment is padded to a multiple of ``alignment`` rows. Returns ``(m_indices, rows)``:
    ``m_indices [M_padded]`` holds the expert of each padded row (-1 for padding) and ``rows [sum(sizes)]``
    the padded row of each original (expert-sorted) token, so ``a_padded[rows] = a_sorted``.
    """
    if any(s < 0 for s in group_sizes):
        raise ValueError(f"group sizes must be >= 0, got {group_sizes}")
    m_indices: list[int] = []
    rows: list[int] = []
    for g, size in enumerate(group_sizes):
        start = len(m_indices)
        padded = ceil_div(size, alignment) * alignment
        m_indices.extend([g] * size + [-1] * (padded - size))
        rows.extend(range(start, start + size))
    return (
        torch.tensor(m_indices, dtype=torch.int32, device=device),
        torch.tensor(rows, dtype=torch.int64, device=device),
    )
