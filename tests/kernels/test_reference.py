"""Numerics of the plain-torch quantizers and reference GEMMs (CPU)."""

from __future__ import annotations

import pytest
import torch

from sciforge.kernels import (
    CALC_DIFF_TOLERANCE,
    FP8_E4M3_MAX,
    calc_diff,
    contiguous_layout,
    dequantize_per_block,
    dequantize_per_token,
    fp8_gemm_reference,
    fp8_grouped_gemm_reference,
    quantize_per_block,
    quantize_per_token,
    quantize_per_token_transposed,
)
from sciforge.kernels.quant import ceil_pow2


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g)


@pytest.mark.parametrize("shape", [(4, 128), (7, 300), (130, 257)])
@pytest.mark.parametrize("pow2", [False, True])
def test_per_token_roundtrip_and_layout(shape: tuple[int, int], pow2: bool) -> None:
    x = _randn(*shape) * 5
    q, s = quantize_per_token(x, pow2_scales=pow2)
    assert q.dtype == torch.float8_e4m3fn and q.shape == x.shape
    assert s.shape == (shape[0], -(-shape[1] // 128)) and s.dtype == torch.float32
    # each tile's largest element maps to (close to) the fp8 maximum; never beyond it
    assert q.float().abs().max() <= FP8_E4M3_MAX
    if not pow2:
        assert q.float().abs().amax(dim=1).min() >= 416  # 448 rounded down to the e4m3 grid at worst
    back = dequantize_per_token(q, s)
    # e4m3 has 3 mantissa bits: relative rounding error <= 2^-4 per element
    assert torch.all((back - x).abs() <= x.abs() * 2**-4 + s.max() * 2**-9)
    assert calc_diff(back, x) < 2e-3


def test_pow2_scales_are_powers_of_two_and_cover_amax() -> None:
    x = _randn(3, 256) * 7
    _, s = quantize_per_token(x, pow2_scales=True)
    assert torch.equal(torch.log2(s), torch.round(torch.log2(s)))
    amax = x.abs().view(3, 2, 128).amax(dim=2)
    assert torch.all(s * FP8_E4M3_MAX >= amax)
    exact = torch.tensor([0.25, 1.0, 3.0, 2.0**-20])
    assert torch.equal(ceil_pow2(exact), torch.tensor([0.25, 1.0, 4.0, 2.0**-20]))


def test_all_zero_tile_has_finite_scale() -> None:
    x = torch.zeros(2, 256)
    x[1, 200] = 1.0
    q, s = quantize_per_token(x)
    assert torch.isfinite(s).all() and s.min() > 0
    assert torch.equal(dequantize_per_token(q, s), x)


@pytest.mark.parametrize("shape", [(128, 128), (200, 300)])
def test_per_block_roundtrip(shape: tuple[int, int]) -> None:
    x = _randn(*shape, seed=1)
    q, s = quantize_per_block(x)
    assert s.shape == (-(-shape[0] // 128), -(-shape[1] // 128))
    assert calc_diff(dequantize_per_block(q, s), x) < 2e-3


def test_transposed_block_quantization_is_transpose_of_quantization() -> None:
    # Dgrad reuses the forward weight quantization transposed: exact for 128x128 blocks.
    w = _randn(256, 384, seed=2)
    q, s = quantize_per_block(w)
    qt, st = quantize_per_block(w.t().contiguous())
    assert torch.equal(q.t().float(), qt.float()) and torch.equal(s.t(), st)
    q2, s2 = quantize_per_token_transposed(w)
    q3, s3 = quantize_per_token(w.t().contiguous())
    assert torch.equal(q2.float(), q3.float()) and torch.equal(s2, s3)


@pytest.mark.parametrize("mnk", [(64, 128, 256), (33, 200, 300), (128, 256, 1024)])
def test_reference_gemm_modes_agree_and_match_bf16(mnk: tuple[int, int, int]) -> None:
    m, n, k = mnk
    a, b = _randn(m, k, seed=3), _randn(n, k, seed=4)
    aq, a_s = quantize_per_token(a)
    bq, b_s = quantize_per_block(b)
    kblock = fp8_gemm_reference(aq, a_s, bq, b_s, torch.float32, accumulate="kblock")
    dequant = fp8_gemm_reference(aq, a_s, bq, b_s, torch.float32, accumulate="dequant")
    assert torch.allclose(kblock, dequant, rtol=1e-4, atol=1e-4)
    bf16_ref = (a.bfloat16() @ b.bfloat16().t()).float()
    assert calc_diff(kblock, bf16_ref) < CALC_DIFF_TOLERANCE
    out = fp8_gemm_reference(aq, a_s, bq, b_s)
    assert out.dtype == torch.bfloat16 and out.shape == (m, n)


def test_reference_row_scaled_b() -> None:
    a, b = _randn(16, 256, seed=5), _randn(40, 256, seed=6)
    aq, a_s = quantize_per_token(a)
    bq, b_s = quantize_per_token(b)  # [N, Kb]: the weight-gradient layout
    out = fp8_gemm_reference(aq, a_s, bq, b_s, torch.float32)
    assert calc_diff(out, a @ b.t()) < CALC_DIFF_TOLERANCE


def test_bad_operands_are_rejected() -> None:
    a, b = _randn(8, 256), _randn(16, 256)
    aq, a_s = quantize_per_token(a)
    bq, b_s = quantize_per_block(b)
    with pytest.raises(TypeError):
        fp8_gemm_reference(a, a_s, bq, b_s)
    with pytest.raises(ValueError, match="a_scale"):
        fp8_gemm_reference(aq, a_s[:, :1], bq, b_s)
    with pytest.raises(ValueError, match="b_scale"):
        fp8_gemm_reference(aq, a_s, bq, torch.ones(3, 2))
    with pytest.raises(ValueError, match="K mismatch"):
        fp8_gemm_reference(aq, a_s, bq[:, :128], b_s[:, :1])


def test_grouped_reference_and_layout() -> None:
    m_idx, rows = contiguous_layout([3, 0, 130])
    assert m_idx.shape == (128 + 256,) and rows.tolist() == [0, 1, 2, *range(128, 258)]
    assert (m_idx[:3] == 0).all() and (m_idx[3:128] == -1).all() and (m_idx[128:258] == 2).all()
    k, n = 256, 64
    a = torch.zeros(m_idx.numel(), k)
    a[rows] = _randn(rows.numel(), k, seed=7)
    w = _randn(3, n, k, seed=8)
    aq, a_s = quantize_per_token(a)
    wq = torch.stack([quantize_per_block(w[g])[0] for g in range(3)])
    ws = torch.stack([quantize_per_block(w[g])[1] for g in range(3)])
    out = fp8_grouped_gemm_reference(aq, a_s, wq, ws, m_idx, torch.float32)
    expected = torch.zeros_like(out)
    for g in range(3):
        sel = m_idx == g
        expected[sel] = a[sel] @ w[g].t()
    assert calc_diff(out, expected) < CALC_DIFF_TOLERANCE
    assert (out[m_idx < 0] == 0).all()
    with pytest.raises(ValueError):
        contiguous_layout([-1])


def test_calc_diff_properties() -> None:
    x = _randn(10, 10)
    assert calc_diff(x, x) == pytest.approx(0.0, abs=1e-12)
    assert calc_diff(x, -x) == pytest.approx(2.0)
    assert calc_diff(x, x * 1.01) < 1e-4
    assert calc_diff(torch.zeros(3), torch.zeros(3)) == 0.0
