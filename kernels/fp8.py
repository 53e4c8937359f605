"""Public FP8 API (what ``model/`` imports): layer, GEMM entries, quantizers, error metric."""

from sciforge.kernels.grouped_linear import fp8_grouped_linear, quantize_stacked_weight
from sciforge.kernels.linear import Fp8Linear, fp8_linear, fp8_supported
from sciforge.kernels.metrics import calc_diff
from sciforge.kernels.ops import (
    fp8_gemm,
    fp8_grouped_gemm,
    quantize_activation,
    quantize_activation_transposed,
    quantize_weight,
    select_backend,
)
from sciforge.kernels.reference import contiguous_layout

__all__ = [
    "Fp8Linear",
    "calc_diff",
    "contiguous_layout",
    "fp8_gemm",
    "fp8_grouped_gemm",
    "fp8_grouped_linear",
    "fp8_linear",
    "fp8_supported",
    "quantize_activation",
    "quantize_activation_transposed",
    "quantize_stacked_weight",
    "quantize_weight",
    "select_backend",
]
