"""fp8_grouped_linear (MoE experts with stacked weights): forward, Dgrad and Wgrad against FP32 per-expert."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sciforge.kernels import CALC_DIFF_TOLERANCE, calc_diff
from sciforge.kernels.fp8 import fp8_grouped_linear, quantize_stacked_weight
from sciforge.kernels.quant import quantize_per_block


def _per_expert(x: torch.Tensor, w: torch.Tensor, counts: list[int]) -> torch.Tensor:
    return torch.cat([F.linear(xe, w[e]) for e, xe in enumerate(torch.split(x, counts))])


@pytest.mark.parametrize(("counts", "out_f"), [([70, 0, 130, 1], 256), ([5, 40], 96)])
def test_grouped_linear_matches_per_expert_linear(counts: list[int], out_f: int) -> None:
    g = torch.Generator().manual_seed(0)
    in_f = 192
    w = torch.randn(len(counts), out_f, in_f, generator=g) / in_f**0.5
    x = torch.randn(sum(counts), in_f, generator=g)
    w8, x8 = w.clone().requires_grad_(True), x.clone().requires_grad_(True)
    w32, x32 = w.clone().requires_grad_(True), x.clone().requires_grad_(True)
    y8, y32 = fp8_grouped_linear(x8, w8, counts), _per_expert(x32, w32, counts)
    dy = torch.randn(y32.shape, generator=g)
    y8.backward(dy)
    y32.backward(dy)
    assert y8.shape == y32.shape
    assert calc_diff(y8, y32) < CALC_DIFF_TOLERANCE
    assert calc_diff(x8.grad, x32.grad) < CALC_DIFF_TOLERANCE
    for e, c in enumerate(counts):
        if c:
            # a single token's outer product is still FP8-accurate; empty experts get exactly zero
            assert calc_diff(w8.grad[e], w32.grad[e]) < CALC_DIFF_TOLERANCE
        else:
            assert (w8.grad[e] == 0).all()


def test_stacked_weight_quantization_equals_per_expert() -> None:
    w = torch.randn(3, 256, 200)
    q, s = quantize_stacked_weight(w)
    for e in range(3):
        qe, se = quantize_per_block(w[e])
        assert torch.equal(q[e].float(), qe.float()) and torch.equal(s[e], se)
    q2, s2 = quantize_stacked_weight(w[:, :100])  # out not a multiple of 128: per-expert path
    assert torch.equal(s2[1], quantize_per_block(w[1, :100])[1])


def test_grouped_linear_rejects_bad_counts() -> None:
    with pytest.raises(ValueError, match="counts"):
        fp8_grouped_linear(torch.randn(5, 128), torch.randn(2, 64, 128), [1, 2])
    with pytest.raises(ValueError, match="expected"):
        fp8_grouped_linear(torch.randn(5, 64), torch.randn(2, 64, 128), [2, 3])
