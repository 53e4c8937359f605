"""Error metric used by DeepGEMM's tests (deep_gemm/testing/numeric.py: calc_diff)."""

from __future__ import annotations

import torch


def calc_diff(x: torch.Tensor, y: torch.Tensor) -> float:
    """``1 - 2*sum(x*y) / (sum(x*x) + sum(y*y))``: 0 for equal tensors, scale-free, computed in float64.

    A result below ``sciforge.kernels.constants.CALC_DIFF_TOLERANCE`` (1e-3) against the BF16 reference passes.
    """
    if x.shape != y.shape:
        raise ValueError(f"shape mismatch: {tuple(x.shape)} vs {tuple(y.shape)}")
    x, y = x.detach().double(), y.detach().double()
    denominator = (x * x + y * y).sum()
    if denominator == 0:
        return 0.0
    return float(1 - 2 * (x * y).sum() / denominator)
