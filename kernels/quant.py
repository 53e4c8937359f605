"""Reference FP8 quantizers in plain torch (CPU and GPU).

Layouts follow DeepGEMM: for an ``[M, K]`` activation, ``quantize_per_token`` returns the FP8 tensor and
FP32 scales of shape ``[M, ceil(K/128)]`` (one per 1x128 tile); for an ``[N, K]`` weight,
``quantize_per_block`` returns scales of shape ``[ceil(N/128), ceil(K/128)]`` (one per 128x128 block).
The dequantized value is ``q.float() * scale`` (scale = amax / 448, optionally rounded up to a power of two
as DeepSeek-V3 / DeepGEMM's UE8M0 recipe does).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sciforge.kernels.constants import AMAX_EPS, FP8_DTYPE, FP8_E4M3_MAX, QUANT_BLOCK


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _check_2d(x: torch.Tensor, name: str) -> None:
    if x.dim() != 2:
        raise ValueError(f"{name} must be 2-D, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor, got {x.dtype}")


def scales_from_amax(amax: torch.Tensor, pow2_scales: bool = False) -> torch.Tensor:
    """FP32 dequantization scale for a tile whose absolute maximum is ``amax``."""
    scale = amax.float().clamp(min=AMAX_EPS) / FP8_E4M3_MAX
    if pow2_scales:
        scale = ceil_pow2(scale)
    return scale


def ceil_pow2(scale: torch.Tensor) -> torch.Tensor:
    """Round positive FP32 scales up to a power of two (DeepGEMM's ceil_to_ue8m0; DeepSeek-V3's UE8M0).

    Done on the bit pattern (bump the exponent when the mantissa is non-zero), so it is exact and
    identical in torch and in the Triton kernels; ``exp2(ceil(log2(s)))`` can round down near 2^k.
    """
    bits = scale.float().contiguous().view(torch.int32)
    exponent = ((bits >> 23) & 0xFF) + ((bits & 0x7FFFFF) != 0).to(torch.int32)
    return (exponent << 23).view(torch.float32)


def _cast(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    # Multiply by the reciprocal (one division per tile), exactly as the Triton quantizers do.
    return (x.float() * (1.0 / scale)).clamp(-FP8_E4M3_MAX, FP8_E4M3_MAX).to(FP8_DTYPE)


def quantize_per_token(
    x: torch.Tensor, pow2_scales: bool = False, block: int = QUANT_BLOCK
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cast ``x [M, K]`` to FP8 with one scale per 1 x ``block`` tile: returns ``(q [M, K], s [M, Kb])``."""
    _check_2d(x, "x")
    m, k = x.shape
    kb = ceil_div(k, block)
    xp = F.pad(x.float(), (0, kb * block - k)).view(m, kb, block)
    scale = scales_from_amax(xp.abs().amax(dim=2), pow2_scales)
    q = _cast(xp, scale.unsqueeze(2)).view(m, kb * block)[:, :k].contiguous()
    return q, scale.contiguous()


def quantize_per_block(
    x: torch.Tensor, pow2_scales: bool = False, block: int = QUANT_BLOCK
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cast ``x [N, K]`` to FP8 with one scale per ``block`` x ``block`` block: ``(q [N, K], s [Nb, Kb])``."""
    _check_2d(x, "x")
    n, k = x.shape
    nb, kb = ceil_div(n, block), ceil_div(k, block)
    xp = F.pad(x.float(), (0, kb * block - k, 0, nb * block - n)).view(nb, block, kb, block)
    scale = scales_from_amax(xp.abs().amax(dim=(1, 3)), pow2_scales)
    q = _cast(xp, scale.view(nb, 1, kb, 1)).view(nb * block, kb * block)[:n, :k].contiguous()
    return q, scale.contiguous()


def quantize_per_token_transposed(
    x: torch.Tensor, pow2_scales: bool = False, block: int = QUANT_BLOCK
) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantize ``x.T`` per 1 x ``block`` tile (i.e. ``x`` per ``block`` x 1 tile along its rows).

    Returns ``(q [K, M], s [K, ceil(M/block)])``: the operand layout the weight-gradient GEMM needs
    (DeepSeek-V3 quantizes the cached activations in 128x1 tiles for Wgrad).
    """
    _check_2d(x, "x")
    return quantize_per_token(x.t(), pow2_scales, block)


def dequantize_per_token(q: torch.Tensor, scale: torch.Tensor, block: int = QUANT_BLOCK) -> torch.Tensor:
    """Inverse of :func:`quantize_per_token` (FP32 result)."""
    k = q.shape[1]
    return q.float() * scale.float().repeat_interleave(block, dim=1)[:, :k]


def dequantize_per_block(q: torch.Tensor, scale: torch.Tensor, block: int = QUANT_BLOCK) -> torch.Tensor:
    """Inverse of :func:`quantize_per_block` (FP32 result)."""
    n, k = q.shape
    s = scale.float().repeat_interleave(block, dim=0)[:n].repeat_interleave(block, dim=1)[:, :k]
    return q.float() * s


def expand_b_scale(b_scale: torch.Tensor, n: int, k: int, block: int = QUANT_BLOCK) -> torch.Tensor:
    """Per-row view ``[N, Kb]`` of a B-operand scale given per 128x128 block or per 1x128 row tile."""
    kb = ceil_div(k, block)
    if b_scale.dim() != 2 or b_scale.shape[1] != kb:
        raise ValueError(f"b_scale must have {kb} columns for K={k}, got shape {tuple(b_scale.shape)}")
    if is_row_scaled(b_scale, n, block):
        return b_scale.float()
    if b_scale.shape[0] != ceil_div(n, block):
        raise ValueError(
            f"b_scale rows must be N={n} (1x{block} tiles) or ceil(N/{block})={ceil_div(n, block)} "
            f"({block}x{block} blocks), got {b_scale.shape[0]}"
        )
    return b_scale.float().repeat_interleave(block, dim=0)[:n]


def is_row_scaled(b_scale: torch.Tensor, n: int, block: int = QUANT_BLOCK) -> bool:
    """True when ``b_scale`` holds one scale per row tile (1x128) rather than per 128x128 block.

    The two layouts coincide (and the answer does not matter) only when ``N == 1``.
    """
    return b_scale.shape[0] == n and n != ceil_div(n, block)
