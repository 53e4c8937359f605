"""``Fp8Linear``: a drop-in ``nn.Linear`` whose forward and both backward GEMMs run in FP8.

Forward   y  = x W^T      : x per 1x128 tile (along in_features), W per 128x128 block.
Dgrad     dx = dy W       : dy per 1x128 tile (along out_features), W^T per 128x128 block -- the forward's
                            block quantization transposed (exact: the blocks are square).
Wgrad     dW = dy^T x     : both operands quantized along the token dim, dy^T and x^T per 1x128 tile
                            (DeepSeek-V3 Sec. 3.3: cached activations in 128x1 tiles for the Wgrad).
The FP8 copy of x^T is what the forward saves for backward (the BF16 activation is not kept).

With ``fp8="auto"`` (default) the FP8 path runs only on a Hopper GPU (sm_90); elsewhere the layer runs its GEMM
in BF16 (``fallback_dtype``; the precision the rest of training uses, as the issue asks), returns the input's
dtype, and says so once per process in the log. ``fp8="on"`` forces the FP8
numerics anywhere (CPU uses the reference GEMM: slow, for tests and numerics studies); ``"off"`` never.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from sciforge.kernels import ops
from sciforge.kernels.ops import Backend

log = logging.getLogger(__name__)

Fp8Mode = Literal["auto", "on", "off"]
_HOPPER_CAPABILITY = (9, 0)
_fallback_logged = False


def fp8_supported(device: torch.device) -> tuple[bool, str]:
    """Whether ``fp8="auto"`` takes the FP8 path on ``device``, and why not."""
    if device.type != "cuda":
        return False, f"input on {device.type}, not a CUDA GPU"
    cap = torch.cuda.get_device_capability(device)
    if cap != _HOPPER_CAPABILITY:
        return False, f"GPU compute capability {cap[0]}.{cap[1]} is not Hopper (9.0)"
    return True, ""


def _log_fallback_once(reason: str, dtype: torch.dtype) -> None:
    global _fallback_logged
    if not _fallback_logged:
        _fallback_logged = True
        log.warning("Fp8Linear: FP8 GEMMs disabled (%s); running the linear layers in %s instead", reason,
                    str(dtype).removeprefix("torch."))


class _Fp8LinearFunction(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        pow2_scales: bool,
        backend: Backend | None,
    ) -> torch.Tensor:
        in_features = weight.shape[1]
        x2 = x.reshape(-1, in_features)
        out_dtype = x.dtype if x.dtype in (torch.bfloat16, torch.float32) else torch.float32
        xq, xs = ops.quantize_activation(x2, pow2_scales)
        wq, ws = ops.quantize_weight(weight, pow2_scales)
        y = ops.fp8_gemm(xq, xs, wq, ws, out_dtype=out_dtype, backend=backend)
        if bias is not None:
            y = y + bias.to(out_dtype)
        need_dx, need_dw = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        xtq, xts = ops.quantize_activation_transposed(x2, pow2_scales) if need_dw else (None, None)
        ctx.save_for_backward(xtq, xts, wq if need_dx else None, ws if need_dx else None)
        ctx.meta = (x.shape, x.dtype, weight.dtype, bias is not None, pow2_scales, backend)
        return y.reshape(*x.shape[:-1], weight.shape[0]).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, dy: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        xtq, xts, wq, ws = ctx.saved_tensors
        x_shape, x_dtype, w_dtype, has_bias, pow2_scales, backend = ctx.meta
        out_features = dy.shape[-1]
        dy2 = dy.reshape(-1, out_features)
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dyq, dys = ops.quantize_activation(dy2, pow2_scales)
            out_dtype = x_dtype if x_dtype in (torch.bfloat16, torch.float32) else torch.float32
            # W^T's 128x128 block quantization is W's, transposed.
            dx = ops.fp8_gemm(dyq, dys, wq.t().contiguous(), ws.t().contiguous(), out_dtype, backend)
            dx = dx.reshape(x_shape).to(x_dtype)
        if ctx.needs_input_grad[1]:
            dytq, dyts = ops.quantize_activation_transposed(dy2, pow2_scales)
            # FP32 output: the weight gradient feeds the optimizer's FP32 master weights.
            dw = ops.fp8_gemm(dytq, dyts, xtq, xts, torch.float32, backend).to(w_dtype)
        if has_bias and ctx.needs_input_grad[2]:
            db = dy2.float().sum(0).to(w_dtype)
        return dx, dw, db, None, None


def fp8_linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    pow2_scales: bool = False,
    backend: Backend | None = None,
) -> torch.Tensor:
    """Functional FP8 linear (always the FP8 path) with autograd."""
    return _Fp8LinearFunction.apply(x, weight, bias, pow2_scales, backend)  # type: ignore[no-any-return]


class Fp8Linear(nn.Linear):
    """``nn.Linear`` with FP8 GEMMs (same constructor, parameters and state dict as ``nn.Linear``)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        fp8: Fp8Mode = "auto",
        pow2_scales: bool = False,
        backend: Backend | None = None,
        fallback_dtype: torch.dtype | None = torch.bfloat16,
    ) -> None:
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        # GEMM dtype when ``fp8="auto"`` finds no Hopper GPU; None keeps the input's dtype (exactly nn.Linear).
        self.fallback_dtype = fallback_dtype
        if fp8 not in ("auto", "on", "off"):
            raise ValueError(f"fp8 must be 'auto', 'on' or 'off', got {fp8!r}")
        self.fp8: Fp8Mode = fp8
        self.pow2_scales = pow2_scales
        self.backend = backend

    def uses_fp8(self, x: torch.Tensor) -> bool:
        if self.fp8 == "off":
            return False
        if self.fp8 == "on":
            return True
        ok, reason = fp8_supported(x.device)
        if not ok:
            _log_fallback_once(reason, self.fallback_dtype or x.dtype)
        return ok

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.uses_fp8(x):
            return fp8_linear(x, self.weight, self.bias, self.pow2_scales, self.backend)
        if self.fp8 == "off" or self.fallback_dtype is None or x.dtype == self.fallback_dtype:
            return F.linear(x, self.weight, self.bias)
        dt = self.fallback_dtype
        bias = None if self.bias is None else self.bias.to(dt)
        return F.linear(x.to(dt), self.weight.to(dt), bias).to(x.dtype)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, fp8={self.fp8}, pow2_scales={self.pow2_scales}"
