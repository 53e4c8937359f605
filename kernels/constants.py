"""Named constants of the FP8 recipe (DeepSeek-V3 tech report, Sec. 3.3; DeepGEMM)."""

from __future__ import annotations

import torch

FP8_DTYPE = torch.float8_e4m3fn
# Largest finite float8_e4m3fn value (torch.finfo(torch.float8_e4m3fn).max): amax maps onto it.
FP8_E4M3_MAX: float = 448.0
# Quantization granularity: activations per 1x128 tile, weights per 128x128 block
# (DeepSeek-V3 tech report Sec. 3.3.2 "fine-grained quantization"; DeepGEMM's scale layout).
QUANT_BLOCK: int = 128
# Lower clamp of a tile's amax so that all-zero tiles get a finite scale (DeepGEMM's per_token_cast_to_fp8).
AMAX_EPS: float = 1e-4
# DeepGEMM's test_core acceptance threshold on calc_diff against the BF16 reference.
CALC_DIFF_TOLERANCE: float = 1e-3
# Row alignment of each expert's segment in the contiguous grouped (MoE) layout (DeepGEMM's
# get_m_alignment_for_contiguous_layout() == 128): a GEMM tile never straddles two experts.
GROUPED_M_ALIGNMENT: int = 128
# TMA requires every non-innermost global stride to be a multiple of 16 bytes (CUDA driver API,
# cuTensorMapEncodeTiled): for 1-byte FP8 operands K must be a multiple of 16.
TMA_STRIDE_ALIGN_BYTES: int = 16
