"""FP8 block-scaled GEMM kernels (torch reference, Triton, CUDA sm_90a) and the Fp8Linear layer.

Recipe (DeepSeek-V3 / DeepGEMM): activations in float8_e4m3fn per 1x128 tile, weights per 128x128 block,
FP32 scales, FP32 accumulation promoted outside the tensor cores every 128 K-elements.
Importing this package does not import Triton or build the CUDA extension: backends load on first use.
"""

from sciforge.kernels.constants import CALC_DIFF_TOLERANCE, FP8_DTYPE, FP8_E4M3_MAX, QUANT_BLOCK
from sciforge.kernels.metrics import calc_diff
from sciforge.kernels.quant import (
    dequantize_per_block,
    dequantize_per_token,
    quantize_per_block,
    quantize_per_token,
    quantize_per_token_transposed,
)
from sciforge.kernels.reference import contiguous_layout, fp8_gemm_reference, fp8_grouped_gemm_reference

__all__ = [
    "CALC_DIFF_TOLERANCE",
    "FP8_DTYPE",
    "FP8_E4M3_MAX",
    "QUANT_BLOCK",
    "calc_diff",
    "contiguous_layout",
    "dequantize_per_block",
    "dequantize_per_token",
    "fp8_gemm_reference",
    "fp8_grouped_gemm_reference",
    "quantize_per_block",
    "quantize_per_token",
    "quantize_per_token_transposed",
]
