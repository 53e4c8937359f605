"""Triton block-scaled FP8 GEMM (dense and grouped/MoE) for Hopper: TMA descriptors, wgmma, persistent grid.

``C[M, N] = A[M, K] @ B[N, K]^T``; A is scaled per 1x128 tile, B per 128x128 block or per 1x128 row tile.
Each 128-wide K step runs one tensor-core product into a fresh FP32 accumulator that is then scaled and
added to the FP32 result in registers (DeepSeek-V3's "promotion to CUDA cores", DeepGEMM's scheme).

Portability: only ``tl.make_tensor_descriptor`` (Triton >= 3.4), ``tl.dot``, ``tl.range`` and
``triton.set_allocator`` are used, all present in Triton 3.6 (the H200 machine) and 3.8 (CI). The kernels
run under ``TRITON_INTERPRET=1`` on CPU tensors and compile to sm_90a without a GPU (see
:func:`compile_for_sm90`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
import triton
import triton.language as tl

from sciforge.kernels.constants import QUANT_BLOCK, TMA_STRIDE_ALIGN_BYTES
from sciforge.kernels.quant import ceil_div, is_row_scaled
from sciforge.kernels.reference import check_gemm_operands

# Programs of the persistent grid when no GPU is there to ask (interpreter runs): small, so that the
# persistent loop really iterates on tiny test shapes.
_INTERPRETER_NUM_PROGRAMS = 4
# Tiles grouped along M before moving along N, for L2 reuse of B (Triton matmul tutorial's GROUP_SIZE_M).
_GROUP_M = 8


@dataclass(frozen=True)
class GemmConfig:
    block_m: int
    block_n: int
    block_k: int
    num_warps: int
    num_stages: int
    group_m: int = _GROUP_M


def select_config(m: int, n: int, num_sms: int) -> GemmConfig:
    """Deterministic block-shape heuristic (DeepGEMM-style: fill the SMs, prefer large tiles).

    BLOCK_K is the scale granularity (128). BLOCK_N divides 128 so that a tile sees one B block scale.
    BLOCK_M is 64 for decode-sized M (one wgmma row group), else 128. Among BLOCK_N in (128, 64) pick the
    one with the best last-wave SM utilisation, ties going to the larger tile.
    Shared memory per stage is (BLOCK_M + BLOCK_N) * 128 bytes: 4 stages of 128x128 fit Hopper's 227 KB.
    """
    block_m = 64 if m <= 64 else 128
    best: tuple[float, int] | None = None
    for block_n in (128, 64):
        tiles = ceil_div(m, block_m) * ceil_div(n, block_n)
        waves = ceil_div(tiles, num_sms)
        utilisation = tiles / (waves * num_sms)
        if best is None or utilisation > best[0] + 1e-9:
            best = (utilisation, block_n)
    block_n = best[1] if best else 128
    num_warps = 8 if block_m == 128 else 4
    stage_bytes = (block_m + block_n) * QUANT_BLOCK
    num_stages = max(2, min(5, (200 * 1024) // stage_bytes))
    return GemmConfig(block_m, block_n, QUANT_BLOCK, num_warps, num_stages)


@triton.jit
def _tile_coords(tile_id, num_pid_m, num_pid_n, GROUP_M: tl.constexpr):
    group_size = GROUP_M * num_pid_n
    group_id = tile_id // group_size
    first_m = group_id * GROUP_M
    rows_in_group = tl.minimum(num_pid_m - first_m, GROUP_M)
    pid_m = first_m + (tile_id % group_size) % rows_in_group
    pid_n = (tile_id % group_size) // rows_in_group
    return pid_m, pid_n


@triton.jit
def _k_loop(
    a_desc, b_desc, a_s_ptr, b_s_base,
    rows, cols, row_ok, col_ok, off_m, off_n, b_row, k_tiles,
    stride_as_m, stride_as_k, stride_bs_n, stride_bs_k,
    B_ROW_SCALED: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):  # fmt: skip
    """Main loop over 128-wide K blocks of one output tile; returns the promoted FP32 accumulator."""
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for ki in range(k_tiles):
        off_k = ki * BLOCK_K
        a = a_desc.load([off_m, off_k])
        b = b_desc.load([b_row, off_k])
        a_s = tl.load(a_s_ptr + rows * stride_as_m + ki * stride_as_k, mask=row_ok, other=0.0)
        if B_ROW_SCALED:
            b_s = tl.load(b_s_base + cols * stride_bs_n + ki * stride_bs_k, mask=col_ok, other=0.0)
            scale = a_s[:, None] * b_s[None, :]
        else:
            b_s = tl.load(b_s_base + (off_n // BLOCK_K) * stride_bs_n + ki * stride_bs_k)
            scale = a_s[:, None] * b_s
        # Fresh accumulator per 128-wide K block, promoted with its scales (DeepGEMM's scheme).
        acc += tl.dot(a, b.T) * scale
    return acc


@triton.jit
def _fp8_gemm_kernel(
    a_ptr, a_s_ptr, b_ptr, b_s_ptr, c_ptr, m_idx_ptr,
    M, N, K, G,
    stride_as_m, stride_as_k, stride_bs_n, stride_bs_k, stride_bs_g,
    num_programs,
    B_ROW_SCALED: tl.constexpr, GROUPED: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
):  # fmt: skip
    """Persistent NT GEMM. GROUPED: B is [G*N, K] (experts stacked) and row m uses expert m_idx[m]."""
    a_desc = tl.make_tensor_descriptor(a_ptr, shape=[M, K], strides=[K, 1], block_shape=[BLOCK_M, BLOCK_K])
    if GROUPED:
        b_desc = tl.make_tensor_descriptor(
            b_ptr, shape=[G * N, K], strides=[K, 1], block_shape=[BLOCK_N, BLOCK_K]
        )
    else:
        b_desc = tl.make_tensor_descriptor(
            b_ptr, shape=[N, K], strides=[K, 1], block_shape=[BLOCK_N, BLOCK_K]
        )
    num_pid_m = tl.cdiv(M, BLOCK_M)
    num_pid_n = tl.cdiv(N, BLOCK_N)
    k_tiles = tl.cdiv(K, BLOCK_K)
    num_tiles = num_pid_m * num_pid_n
    for tile_id in tl.range(tl.program_id(0), num_tiles, num_programs):
        pid_m, pid_n = _tile_coords(tile_id, num_pid_m, num_pid_n, GROUP_M)
        off_m = pid_m * BLOCK_M
        off_n = pid_n * BLOCK_N
        rows = off_m + tl.arange(0, BLOCK_M)
        cols = off_n + tl.arange(0, BLOCK_N)
        row_ok = rows < M
        col_ok = cols < N
        if GROUPED:
            # Segments are aligned to 128 rows, so a tile's first row names its expert (-1: padding tile).
            expert = tl.load(m_idx_ptr + off_m)
            row_ok = row_ok & (tl.load(m_idx_ptr + rows, mask=row_ok, other=-1) >= 0)
            acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
            if expert >= 0:
                acc = _k_loop(
                    a_desc, b_desc, a_s_ptr, b_s_ptr + expert.to(tl.int64) * stride_bs_g,
                    rows, cols, row_ok, col_ok, off_m, off_n, expert * N + off_n, k_tiles,
                    stride_as_m, stride_as_k, stride_bs_n, stride_bs_k,
                    B_ROW_SCALED, BLOCK_M, BLOCK_N, BLOCK_K,
                )  # fmt: skip
        else:
            # No branch around the dense main loop: nothing stands between it and software pipelining.
            acc = _k_loop(
                a_desc, b_desc, a_s_ptr, b_s_ptr,
                rows, cols, row_ok, col_ok, off_m, off_n, off_n, k_tiles,
                stride_as_m, stride_as_k, stride_bs_n, stride_bs_k,
                B_ROW_SCALED, BLOCK_M, BLOCK_N, BLOCK_K,
            )  # fmt: skip
        c_ptrs = c_ptr + rows[:, None].to(tl.int64) * N + cols[None, :]
        acc = tl.where(row_ok[:, None], acc, 0.0)
        tl.store(c_ptrs, acc.to(c_ptr.dtype.element_ty), mask=(rows[:, None] < M) & col_ok[None, :])


def _num_programs(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).multi_processor_count
    return _INTERPRETER_NUM_PROGRAMS


def _set_descriptor_allocator(device: torch.device) -> None:
    # Device-side tensor descriptors need a small global scratch buffer per program.
    def alloc(size: int, alignment: int, stream: int | None) -> torch.Tensor:
        return torch.empty(size, dtype=torch.int8, device=device)

    triton.set_allocator(alloc)


def _pad_k(x: torch.Tensor) -> torch.Tensor:
    """Zero-pad the K (last) dim to a multiple of 16 elements: TMA needs 16-byte aligned row strides."""
    k = x.shape[-1]
    pad = -k % TMA_STRIDE_ALIGN_BYTES
    if pad == 0:
        return x.contiguous()
    # F.pad has no float8 kernel: pad the raw bytes (0x00 is +0.0 in e4m3).
    return F.pad(x.contiguous().view(torch.uint8), (0, pad)).view(x.dtype)


def _launch(
    a: torch.Tensor,
    a_scale: torch.Tensor,
    b: torch.Tensor,
    b_scale: torch.Tensor,
    out_dtype: torch.dtype,
    m_indices: torch.Tensor | None,
    config: GemmConfig | None,
) -> torch.Tensor:
    grouped = m_indices is not None
    m, k = a.shape
    n = b.shape[-2]
    out = torch.empty(m, n, dtype=out_dtype, device=a.device)
    if m == 0 or n == 0:
        return out
    if k == 0:
        return out.zero_()
    num_programs_max = _num_programs(a.device)
    cfg = config or select_config(m, n, num_programs_max)
    row_scaled = (not grouped) and is_row_scaled(b_scale, n)
    if not row_scaled and QUANT_BLOCK % cfg.block_n != 0:
        raise ValueError(f"block_n={cfg.block_n} must divide {QUANT_BLOCK} for 128x128 block scales")
    if grouped and QUANT_BLOCK % cfg.block_m != 0:
        raise ValueError(f"block_m={cfg.block_m} must divide the grouped alignment {QUANT_BLOCK}")
    a_p, b_p = _pad_k(a), _pad_k(b)
    k_p = a_p.shape[-1]
    num_tiles = ceil_div(m, cfg.block_m) * ceil_div(n, cfg.block_n)
    num_programs = min(num_programs_max, num_tiles)
    _set_descriptor_allocator(a.device)
    bs = b_scale if grouped else b_scale.unsqueeze(0)
    m_idx = m_indices if grouped else a_scale  # placeholder pointer, never read when not GROUPED
    num_groups = b.shape[0] if grouped else 1
    _fp8_gemm_kernel[(num_programs,)](
        a_p, a_scale, b_p, bs, out, m_idx,
        m, n, k_p, num_groups,
        a_scale.stride(0), a_scale.stride(1), bs.stride(1), bs.stride(2), bs.stride(0),
        num_programs, B_ROW_SCALED=row_scaled, GROUPED=grouped,
        BLOCK_M=cfg.block_m, BLOCK_N=cfg.block_n, BLOCK_K=cfg.block_k, GROUP_M=cfg.group_m,
        num_warps=cfg.num_warps, num_stages=cfg.num_stages,
    )  # fmt: skip
    return out


def fp8_gemm_triton(
    a: torch.Tensor,
    a_scale: torch.Tensor,
    b: torch.Tensor,
    b_scale: torch.Tensor,
    out_dtype: torch.dtype = torch.bfloat16,
    config: GemmConfig | None = None,
) -> torch.Tensor:
    """Block-scaled FP8 GEMM ``a [M, K] @ b [N, K]^T`` (Triton). ``b_scale`` is [Nb, Kb] or [N, Kb]."""
    check_gemm_operands(a, a_scale, b, b_scale)
    return _launch(a, a_scale, b, b_scale, out_dtype, None, config)


def fp8_grouped_gemm_triton(
    a: torch.Tensor,
    a_scale: torch.Tensor,
    b: torch.Tensor,
    b_scale: torch.Tensor,
    m_indices: torch.Tensor,
    out_dtype: torch.dtype = torch.bfloat16,
    config: GemmConfig | None = None,
) -> torch.Tensor:
    """Grouped GEMM over the contiguous layout (DeepGEMM's m_grouped ... _contiguous): see the reference."""
    check_gemm_operands(a, a_scale, b, b_scale, grouped=True)
    if m_indices.shape != (a.shape[0],) or m_indices.dtype != torch.int32:
        raise ValueError(
            f"m_indices must be int32 [{a.shape[0]}], got {m_indices.dtype} {tuple(m_indices.shape)}"
        )
    if a.shape[0] % QUANT_BLOCK != 0:
        raise ValueError(f"grouped M={a.shape[0]} must be a multiple of the {QUANT_BLOCK}-row alignment")
    return _launch(a, a_scale, b.contiguous(), b_scale, out_dtype, m_indices.contiguous(), config)


def compile_for_sm90(
    grouped: bool = False,
    b_row_scaled: bool = False,
    config: GemmConfig | None = None,
    capability: int = 90,
) -> triton.compiler.CompiledKernel:
    """Compile the GEMM kernel for sm_90a without a GPU (``triton.compile`` + ``GPUTarget("cuda", 90, 32)``).

    ``capability=89`` compiles for Ada instead (mma.sync e4m3; descriptors lowered to plain loads).

    Returns the compiled kernel; ``.asm["ptx"]`` should contain ``wgmma.mma_async`` (e4m3) and
    ``cp.async.bulk.tensor`` (TMA).
    """
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    cfg = config or GemmConfig(128, 128, QUANT_BLOCK, num_warps=8, num_stages=4)
    signature = {
        "a_ptr": "*fp8e4nv", "a_s_ptr": "*fp32", "b_ptr": "*fp8e4nv", "b_s_ptr": "*fp32",
        "c_ptr": "*bf16", "m_idx_ptr": "*i32",
        "M": "i32", "N": "i32", "K": "i32", "G": "i32",
        "stride_as_m": "i32", "stride_as_k": "i32", "stride_bs_n": "i32", "stride_bs_k": "i32",
        "stride_bs_g": "i32", "num_programs": "i32",
    }  # fmt: skip
    constexprs = {
        "B_ROW_SCALED": b_row_scaled, "GROUPED": grouped,
        "BLOCK_M": cfg.block_m, "BLOCK_N": cfg.block_n, "BLOCK_K": cfg.block_k, "GROUP_M": cfg.group_m,
    }  # fmt: skip
    signature.update({name: "constexpr" for name in constexprs})
    src = ASTSource(fn=_fp8_gemm_kernel, signature=signature, constexprs=constexprs)
    return triton.compile(
        src,
        target=GPUTarget("cuda", capability, 32),
        options={"num_warps": cfg.num_warps, "num_stages": cfg.num_stages},
    )
