"""Fused Triton FP8 quantizers (1x128 tiles, 128x128 blocks, and 1x128 tiles of the transpose).

Same numerics as :mod:`sciforge.kernels.quant` (scale = max(amax, 1e-4) / 448, optionally rounded up to a power of
two on the bit pattern; q = sat(x * (1 / scale))). They also run under ``TRITON_INTERPRET=1`` on CPU tensors.
Only long-standing Triton APIs are used (works on Triton 3.6 as on the H200 machine, and 3.8).
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

from sciforge.kernels.constants import AMAX_EPS, FP8_DTYPE, FP8_E4M3_MAX, QUANT_BLOCK
from sciforge.kernels.quant import ceil_div

# Rows of the input one program quantizes per 1x128 tile column (a 32x128 fp32 tile: 16 KB of registers).
_TOKEN_ROWS_PER_PROGRAM = 32


@triton.jit
def _scale_from_amax(amax, POW2: tl.constexpr):
    # IEEE division (div.rn), as torch does: the default fp32 "/" lowers to the approximate div.full.f32.
    scale = tl.math.div_rn(tl.maximum(amax, AMAX_EPS_C), FP8_MAX_C)
    if POW2:
        bits = scale.to(tl.int32, bitcast=True)
        exponent = ((bits >> 23) & 0xFF) + ((bits & 0x7FFFFF) != 0).to(tl.int32)
        scale = (exponent << 23).to(tl.float32, bitcast=True)
    return scale


AMAX_EPS_C = tl.constexpr(AMAX_EPS)
FP8_MAX_C = tl.constexpr(FP8_E4M3_MAX)


def interpreter_active() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


@triton.jit
def _round_to_e4m3_grid(q):
    """Round |q| <= 448 to the nearest float8_e4m3fn value (ties to even), staying in fp32.

    Only used under TRITON_INTERPRET=1: the interpreter's fp32 -> fp8 cast (Triton 3.8) drops the mantissa
    carry into the exponent (124.3 -> 64 instead of 128), so values are rounded here first and the cast
    becomes exact. Compiled kernels use the hardware cvt.rn.satfinite and never take this path.
    """
    bits = q.to(tl.int32, bitcast=True)
    # Normal range (|q| >= 2^-6): round-to-nearest-even to 3 mantissa bits on the bit pattern.
    bits = (bits + 0x7FFFF + ((bits >> 20) & 1)) & -1048576  # -1048576 == ~0xFFFFF
    normal = bits.to(tl.float32, bitcast=True)
    # Subnormal range: multiples of 2^-9; adding 2^14 puts the fp32 ulp at 2^-9 (rounding in the add).
    mag = tl.abs(q)
    sub = (mag + 16384.0) - 16384.0
    sub = tl.where(q < 0, -sub, sub)
    return tl.where(mag < 0.015625, sub, normal)


@triton.jit
def _quant_tile_kernel(
    x_ptr, q_ptr, s_ptr,
    R, C, stride_xr, stride_xc,
    CB,
    BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr, PER_BLOCK: tl.constexpr, POW2: tl.constexpr,
    INTERPRET_RTNE: tl.constexpr,
):  # fmt: skip
    """Quantize a (possibly strided) [R, C] view into contiguous q [R, C].

    PER_BLOCK=False: one scale per row per BLOCK_C columns, s [R, CB]; a program covers BLOCK_R rows.
    PER_BLOCK=True: one scale per BLOCK_R x BLOCK_C block, s [ceil(R/BLOCK_R), CB].
    """
    pid_r = tl.program_id(0)
    pid_c = tl.program_id(1)
    rows = pid_r * BLOCK_R + tl.arange(0, BLOCK_R)
    cols = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)
    mask = (rows[:, None] < R) & (cols[None, :] < C)
    x = tl.load(
        x_ptr + rows[:, None].to(tl.int64) * stride_xr + cols[None, :] * stride_xc, mask=mask, other=0.0
    )
    x = x.to(tl.float32)
    if PER_BLOCK:
        scale = _scale_from_amax(tl.max(tl.max(tl.abs(x), axis=1), axis=0), POW2)
        inv = tl.math.div_rn(1.0, scale)
        q = tl.clamp(x * inv, -FP8_MAX_C, FP8_MAX_C)
        tl.store(s_ptr + pid_r * CB + pid_c, scale)
    else:
        scale = _scale_from_amax(tl.max(tl.abs(x), axis=1), POW2)
        inv = tl.math.div_rn(1.0, scale)
        q = tl.clamp(x * inv[:, None], -FP8_MAX_C, FP8_MAX_C)
        tl.store(s_ptr + rows * CB + pid_c, scale, mask=rows < R)
    if INTERPRET_RTNE:
        q = _round_to_e4m3_grid(q)
    tl.store(q_ptr + rows[:, None].to(tl.int64) * C + cols[None, :], q.to(q_ptr.dtype.element_ty), mask=mask)


def _quantize(x: torch.Tensor, per_block: bool, pow2_scales: bool) -> tuple[torch.Tensor, torch.Tensor]:
    if x.dim() != 2:
        raise ValueError(f"expected a 2-D tensor, got shape {tuple(x.shape)}")
    r, c = x.shape
    cb = ceil_div(c, QUANT_BLOCK)
    block_r = QUANT_BLOCK if per_block else _TOKEN_ROWS_PER_PROGRAM
    q = torch.empty(r, c, dtype=FP8_DTYPE, device=x.device)
    s_rows = ceil_div(r, QUANT_BLOCK) if per_block else r
    s = torch.empty(s_rows, cb, dtype=torch.float32, device=x.device)
    if r and c:
        grid = (ceil_div(r, block_r), cb)
        _quant_tile_kernel[grid](
            x, q, s, r, c, x.stride(0), x.stride(1), cb,
            BLOCK_R=block_r, BLOCK_C=QUANT_BLOCK, PER_BLOCK=per_block, POW2=pow2_scales,
            INTERPRET_RTNE=interpreter_active(),
            num_warps=8 if per_block else 4,
        )  # fmt: skip
    return q, s


def quantize_per_token_triton(
    x: torch.Tensor, pow2_scales: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Triton twin of :func:`sciforge.kernels.quant.quantize_per_token`: ``(q [M, K], s [M, ceil(K/128)])``."""
    return _quantize(x, per_block=False, pow2_scales=pow2_scales)


def quantize_per_block_triton(
    x: torch.Tensor, pow2_scales: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Triton twin of :func:`sciforge.kernels.quant.quantize_per_block`: ``(q [N, K], s [Nb, Kb])``."""
    return _quantize(x, per_block=True, pow2_scales=pow2_scales)


def quantize_per_token_transposed_triton(
    x: torch.Tensor, pow2_scales: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantize ``x.T`` per 1x128 tile without materializing the transpose: ``(q [K, M], s [K, Mb])``."""
    return _quantize(x.t(), per_block=False, pow2_scales=pow2_scales)


def compile_for_sm90(per_block: bool = False, pow2_scales: bool = False) -> triton.compiler.CompiledKernel:
    """Compile the quantizer for sm_90a without a GPU (bf16 input); ``.asm["ptx"]`` for inspection."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    constexprs = {
        "BLOCK_R": QUANT_BLOCK if per_block else _TOKEN_ROWS_PER_PROGRAM, "BLOCK_C": QUANT_BLOCK,
        "PER_BLOCK": per_block, "POW2": pow2_scales, "INTERPRET_RTNE": False,
    }  # fmt: skip
    signature = {
        "x_ptr": "*bf16", "q_ptr": "*fp8e4nv", "s_ptr": "*fp32", "R": "i32", "C": "i32",
        "stride_xr": "i32", "stride_xc": "i32", "CB": "i32",
    }  # fmt: skip
    signature.update({name: "constexpr" for name in constexprs})
    src = ASTSource(fn=_quant_tile_kernel, signature=signature, constexprs=constexprs)
    return triton.compile(src, target=GPUTarget("cuda", 90, 32), options={"num_warps": 8 if per_block else 4})
