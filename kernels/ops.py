"""Backend dispatch: one entry per operation, the fastest usable backend chosen per device.

Order: the CUDA C++ sm_90a extension, then Triton (sm_89+), then the plain-torch reference (any device).
A GPU backend is used only after it reproduced the reference on a probe problem on that device once per
process (a kernel that builds but computes wrong on a new driver/toolkit falls back loudly rather than
corrupting a training run). ``SCIFORGE_FP8_BACKEND=cuda|triton|reference`` forces one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Literal

import torch

from sciforge.kernels import quant
from sciforge.kernels.metrics import calc_diff
from sciforge.kernels.reference import (
    check_gemm_operands,
    contiguous_layout,
    fp8_gemm_reference,
    fp8_grouped_gemm_reference,
)

log = logging.getLogger(__name__)

Backend = Literal["cuda", "triton", "reference"]
BACKENDS: tuple[Backend, ...] = ("cuda", "triton", "reference")
ENV_BACKEND = "SCIFORGE_FP8_BACKEND"
# Self-check bound: kernel and reference see identical FP8 inputs and differ only in FP32 summation order,
# so they agree far below DeepGEMM's 1e-3 acceptance bound against BF16.
SELF_CHECK_TOLERANCE = 1e-6
# With BF16 output a one-ulp rounding difference (2^-8 relative) is legitimate; layout, scale or pipeline
# bugs give calc_diff of order 1e-2..1, so this still separates broken from correct by orders of magnitude.
SELF_CHECK_TOLERANCE_BF16 = 1e-4
# Probe problems of the self-check: M and N tails, several K blocks; a decode-sized M for the 64-row tiles.
_PROBE_MNK = (200, 320, 512)
_PROBE_SMALL_M = 48
# Triton's FP8 tl.dot needs sm_89+ (Ada/Hopper); TMA descriptors are lowered natively on sm_90.
_TRITON_MIN_CAPABILITY = (8, 9)

_verified: dict[tuple[str, str], bool] = {}
_usable_cache: dict[tuple[str, str], tuple[bool, str]] = {}


def _device_key(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{device.index if device.index is not None else torch.cuda.current_device()}"
    return str(device)


def _triton_usable(device: torch.device) -> tuple[bool, str]:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False, "triton is not installed"
    if device.type != "cuda":
        return False, "not a CUDA tensor (use backend='triton' with TRITON_INTERPRET=1 to interpret on CPU)"
    if torch.cuda.get_device_capability(device) < _TRITON_MIN_CAPABILITY:
        return False, f"needs compute capability >= {_TRITON_MIN_CAPABILITY}"
    return True, ""


def _usable(backend: Backend, device: torch.device) -> tuple[bool, str]:
    """Cached per (backend, device) and process: a failed extension build is not retried on every GEMM."""
    if backend == "reference":
        return True, ""
    key = (backend, _device_key(device))
    if key not in _usable_cache:
        if backend == "triton":
            _usable_cache[key] = _triton_usable(device)
        else:
            from sciforge.kernels import cuda_ext

            _usable_cache[key] = cuda_ext.cuda_ext_usable(device)
    return _usable_cache[key]


def _dense_impl(backend: Backend) -> Callable[..., torch.Tensor]:
    if backend == "cuda":
        from sciforge.kernels.cuda_ext import fp8_gemm_cuda

        return fp8_gemm_cuda
    if backend == "triton":
        from sciforge.kernels.triton_gemm import fp8_gemm_triton

        return fp8_gemm_triton
    return fp8_gemm_reference


def _grouped_impl(backend: Backend) -> Callable[..., torch.Tensor]:
    if backend == "cuda":
        from sciforge.kernels.cuda_ext import fp8_grouped_gemm_cuda

        return fp8_grouped_gemm_cuda
    if backend == "triton":
        from sciforge.kernels.triton_gemm import fp8_grouped_gemm_triton

        return fp8_grouped_gemm_triton
    return fp8_grouped_gemm_reference


def self_check(backend: Backend, device: torch.device) -> tuple[bool, float]:
    """Run ``backend`` on probe problems against the reference: (passed, worst calc_diff / its bound).

    Probes cover both CUDA/Triton tile heights (M > 64 and M <= 64), both output dtypes (FP32, and BF16
    against the FP32 reference rounded to BF16) and the grouped kernel with an empty expert and padding.
    """
    m, n, k = _PROBE_MNK
    g = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(m, k, generator=g).to(device)
    b = torch.randn(n, k, generator=g).to(device)
    bq, b_s = quant.quantize_per_block(b)
    worst = 0.0  # in units of the tolerance of each probe
    for rows, out_dtype, tol in (
        (m, torch.float32, SELF_CHECK_TOLERANCE),
        (_PROBE_SMALL_M, torch.bfloat16, SELF_CHECK_TOLERANCE_BF16),
    ):
        aq, a_s = quant.quantize_per_token(a[:rows])
        want = fp8_gemm_reference(aq, a_s, bq, b_s, torch.float32).to(out_dtype)
        got = _dense_impl(backend)(aq, a_s, bq, b_s, out_dtype)
        worst = max(worst, calc_diff(got, want) / tol)
    m_idx, rows_idx = contiguous_layout([m // 2, 0, m - m // 2], device=device)
    ag = torch.zeros(m_idx.numel(), k, device=device)
    ag[rows_idx] = a
    agq, ag_s = quant.quantize_per_token(ag)
    bg = torch.stack([b, b.flip(0), -b]).to(device)
    bgq = torch.stack([quant.quantize_per_block(x)[0] for x in bg])
    bg_s = torch.stack([quant.quantize_per_block(x)[1] for x in bg])
    got = _grouped_impl(backend)(agq, ag_s, bgq, bg_s, m_idx, torch.float32)
    want = fp8_grouped_gemm_reference(agq, ag_s, bgq, bg_s, m_idx, torch.float32)
    worst = max(worst, calc_diff(got, want) / SELF_CHECK_TOLERANCE)
    return worst < 1.0, worst


def _verified_ok(backend: Backend, device: torch.device) -> bool:
    key = (backend, _device_key(device))
    if key not in _verified:
        if backend == "reference":
            _verified[key] = True
        else:
            try:
                ok, diff = self_check(backend, device)
                reason = f"calc_diff {diff:.2f}x its bound vs the reference"
            except Exception as exc:  # a kernel that fails to compile or launch is skipped, loudly
                ok, reason = False, f"{type(exc).__name__}: {exc}"
            if not ok:
                log.warning(
                    "FP8 GEMM backend %r disabled on %s: self-check failed (%s)", backend, key[1], reason
                )
            _verified[key] = ok
    return _verified[key]


def _shape_supported(
    backend: Backend, a: torch.Tensor, b: torch.Tensor, b_scale: torch.Tensor, grouped: bool
) -> bool:
    if backend != "cuda":
        return True  # Triton pads K for TMA and handles per-row B scales; the reference takes anything
    from sciforge.kernels import cuda_ext

    return cuda_ext.supports(a, b, b_scale, grouped)[0]


def select_backend(
    device: torch.device,
    requested: Backend | None = None,
    operands: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    grouped: bool = False,
) -> Backend:
    """The backend for ``device``: ``requested`` (or $SCIFORGE_FP8_BACKEND) if given, else the fastest one
    that is usable, passed its self-check and supports ``operands`` (a, b, b_scale) when given."""
    forced = requested or os.environ.get(ENV_BACKEND) or None
    if forced is not None:
        if forced not in BACKENDS:
            raise ValueError(f"unknown FP8 backend {forced!r}; choose one of {BACKENDS}")
        if forced == "triton" and device.type == "cpu":
            return "triton"  # the caller is running the Triton interpreter on purpose
        ok, why = _usable(forced, device)  # type: ignore[arg-type]
        if not ok:
            raise RuntimeError(f"FP8 backend {forced!r} is not usable on {device}: {why}")
        return forced  # type: ignore[return-value]
    for backend in BACKENDS:
        if operands is not None and not _shape_supported(backend, *operands, grouped):
            continue
        if _usable(backend, device)[0] and _verified_ok(backend, device):
            return backend
    return "reference"


def fp8_gemm(
    a: torch.Tensor,
    a_scale: torch.Tensor,
    b: torch.Tensor,
    b_scale: torch.Tensor,
    out_dtype: torch.dtype = torch.bfloat16,
    backend: Backend | None = None,
) -> torch.Tensor:
    """``a [M, K] @ b [N, K]^T`` with 1x128 ``a_scale`` and 128x128 (or 1x128 row) ``b_scale``."""
    check_gemm_operands(a, a_scale, b, b_scale)
    chosen = select_backend(a.device, backend, (a, b, b_scale))
    return _dense_impl(chosen)(a, a_scale, b, b_scale, out_dtype)


def fp8_grouped_gemm(
    a: torch.Tensor,
    a_scale: torch.Tensor,
    b: torch.Tensor,
    b_scale: torch.Tensor,
    m_indices: torch.Tensor,
    out_dtype: torch.dtype = torch.bfloat16,
    backend: Backend | None = None,
) -> torch.Tensor:
    """Grouped (MoE, contiguous layout) GEMM: row i of ``a`` times expert ``m_indices[i]`` of ``b [G, N, K]``."""
    chosen = select_backend(a.device, backend, (a, b, b_scale), grouped=True)
    return _grouped_impl(chosen)(a, a_scale, b, b_scale, m_indices.to(torch.int32), out_dtype)


def _fused_quantizers(device: torch.device) -> bool:
    return (
        device.type == "cuda" and _usable("triton", device)[0] and os.environ.get(ENV_BACKEND) != "reference"
    )


def quantize_activation(x: torch.Tensor, pow2_scales: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """1x128 tiles (fused Triton kernel on GPU, torch elsewhere)."""
    if _fused_quantizers(x.device):
        from sciforge.kernels.triton_quant import quantize_per_token_triton

        return quantize_per_token_triton(x, pow2_scales)
    return quant.quantize_per_token(x, pow2_scales)


def quantize_activation_transposed(
    x: torch.Tensor, pow2_scales: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """1x128 tiles of ``x.T`` (the Wgrad operand layout) without materializing the transpose on GPU."""
    if _fused_quantizers(x.device):
        from sciforge.kernels.triton_quant import quantize_per_token_transposed_triton

        return quantize_per_token_transposed_triton(x, pow2_scales)
    return quant.quantize_per_token_transposed(x, pow2_scales)


def quantize_weight(w: torch.Tensor, pow2_scales: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """128x128 blocks (fused Triton kernel on GPU, torch elsewhere)."""
    if _fused_quantizers(w.device):
        from sciforge.kernels.triton_quant import quantize_per_block_triton

        return quantize_per_block_triton(w, pow2_scales)
    return quant.quantize_per_block(w, pow2_scales)
