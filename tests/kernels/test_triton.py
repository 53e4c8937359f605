"""Triton kernels: numerics under TRITON_INTERPRET=1 (CPU, tiny shapes) and sm_90a compilation (no GPU).

The interpreter flag must be set before the kernels are first launched, so the numerics tests run in a
subprocess with TRITON_INTERPRET=1; the compile checks run in-process (they never launch).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

triton = pytest.importorskip("triton")

REPO = Path(__file__).resolve().parents[2]


def _run_interpreted(code: str) -> str:
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_triton_quantizers_match_torch_bit_for_bit() -> None:
    out = _run_interpreted(
        """
        import torch
        from sciforge.kernels import quant, triton_quant as tq
        g = torch.Generator().manual_seed(0)
        pairs = [(quant.quantize_per_token, tq.quantize_per_token_triton),
                 (quant.quantize_per_block, tq.quantize_per_block_triton),
                 (quant.quantize_per_token_transposed, tq.quantize_per_token_transposed_triton)]
        for shape in [(70, 300), (5, 129), (130, 128)]:
            x = torch.randn(*shape, generator=g) * 3
            x[0, :50] = 0.0
            x[1, :128] *= 1e-3  # drives values into the e4m3 subnormal range
            for pow2 in (False, True):
                for ref_fn, tri_fn in pairs:
                    q1, s1 = ref_fn(x, pow2)
                    q2, s2 = tri_fn(x, pow2)
                    assert q1.shape == q2.shape and s1.shape == s2.shape, (shape, ref_fn.__name__)
                    assert torch.equal(q1.view(torch.uint8), q2.view(torch.uint8)), (shape, pow2, ref_fn.__name__)
                    assert torch.equal(s1, s2), (shape, pow2, ref_fn.__name__)
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_triton_gemm_dense_grouped_and_row_scaled_match_reference() -> None:
    out = _run_interpreted(
        """
        import torch
        from sciforge.kernels import quant, reference as R, triton_gemm as TG
        from sciforge.kernels.metrics import calc_diff
        g = torch.Generator().manual_seed(0)
        # (M, N, K): tails in M and N, K not a multiple of 128 nor 16 (padded for TMA), M < 64
        for m, n, k in [(64, 128, 256), (100, 200, 300), (33, 257, 520), (130, 64, 128)]:
            a = torch.randn(m, k, generator=g); b = torch.randn(n, k, generator=g)
            aq, a_s = quant.quantize_per_token(a)
            for bq, b_s in (quant.quantize_per_block(b), quant.quantize_per_token(b)):
                out = TG.fp8_gemm_triton(aq, a_s, bq, b_s, torch.float32)
                ref = R.fp8_gemm_reference(aq, a_s, bq, b_s, torch.float32)
                assert torch.allclose(out, ref, rtol=1e-5, atol=1e-4), (m, n, k, (out - ref).abs().max())
                assert calc_diff(out, a @ b.t()) < 1e-3
            bf = TG.fp8_gemm_triton(aq, a_s, *quant.quantize_per_block(b))
            assert bf.dtype == torch.bfloat16
        # an explicit small config exercises BLOCK_M=64/BLOCK_N=64 and a persistent loop over 8 tiles
        a = torch.randn(256, 256, generator=g); b = torch.randn(128, 256, generator=g)
        aq, a_s = quant.quantize_per_token(a); bq, b_s = quant.quantize_per_block(b)
        cfg = TG.GemmConfig(64, 64, 128, num_warps=4, num_stages=2)
        out = TG.fp8_gemm_triton(aq, a_s, bq, b_s, torch.float32, config=cfg)
        assert torch.allclose(out, R.fp8_gemm_reference(aq, a_s, bq, b_s, torch.float32), rtol=1e-5, atol=1e-4)
        # grouped, contiguous layout with an empty expert and padding rows
        m_idx, rows = R.contiguous_layout([100, 0, 130, 5])
        G, n, k = 4, 192, 256
        a = torch.zeros(m_idx.numel(), k); a[rows] = torch.randn(rows.numel(), k, generator=g)
        w = torch.randn(G, n, k, generator=g)
        aq, a_s = quant.quantize_per_token(a)
        wq = torch.stack([quant.quantize_per_block(w[i])[0] for i in range(G)])
        ws = torch.stack([quant.quantize_per_block(w[i])[1] for i in range(G)])
        out = TG.fp8_grouped_gemm_triton(aq, a_s, wq, ws, m_idx, torch.float32)
        ref = R.fp8_grouped_gemm_reference(aq, a_s, wq, ws, m_idx, torch.float32)
        assert torch.allclose(out, ref, rtol=1e-5, atol=1e-4)
        assert (out[m_idx < 0] == 0).all()
        # the dispatcher's entry and its once-per-device self-check take the same kernels
        from sciforge.kernels import ops
        assert torch.equal(ops.fp8_grouped_gemm(aq, a_s, wq, ws, m_idx, torch.float32, backend="triton"), out)
        ok, diff = ops.self_check("triton", torch.device("cpu"))
        assert ok, diff
        print("ok")
        """
    )
    assert out.strip() == "ok"


@pytest.mark.parametrize(("grouped", "row_scaled"), [(False, False), (False, True), (True, False)])
def test_triton_gemm_compiles_to_sm90a_wgmma_and_tma(grouped: bool, row_scaled: bool) -> None:
    from sciforge.kernels.triton_gemm import compile_for_sm90

    compiled = compile_for_sm90(grouped=grouped, b_row_scaled=row_scaled)
    ptx = compiled.asm["ptx"]
    assert ".target sm_90a" in ptx
    assert re.search(r"wgmma\.mma_async\.sync\.aligned\.m64n\d+k32\.f32\.e4m3\.e4m3", ptx), "no fp8 wgmma"
    assert "cp.async.bulk.tensor" in ptx, "operands are not loaded through TMA"
    assert compiled.asm.get("cubin"), "ptxas produced no cubin"


@pytest.mark.parametrize("per_block", [False, True])
def test_triton_quantizer_compiles_with_hardware_rtne_cast_and_exact_division(per_block: bool) -> None:
    from sciforge.kernels.triton_quant import compile_for_sm90

    ptx = compile_for_sm90(per_block=per_block, pow2_scales=True).asm["ptx"]
    assert "cvt.rn.satfinite.e4m3x2.f32" in ptx
    assert "div.full.f32" not in ptx, "approximate division would make scales differ from torch"


def test_triton_gemm_also_compiles_for_ada_sm89() -> None:
    from sciforge.kernels.triton_gemm import compile_for_sm90

    ptx = compile_for_sm90(capability=89).asm["ptx"]
    assert re.search(r"mma\.sync\.aligned\.m16n8k32\.row\.col\.f32\.e4m3\.e4m3", ptx)


def test_select_config_is_deterministic_and_valid() -> None:
    from sciforge.kernels.triton_gemm import select_config

    for m, n in [(64, 2112), (128, 7168), (4096, 4096), (1, 1)]:
        cfg = select_config(m, n, 132)
        assert cfg == select_config(m, n, 132)
        assert 128 % cfg.block_n == 0 and cfg.block_k == 128
        assert (cfg.block_m + cfg.block_n) * 128 * cfg.num_stages <= 227 * 1024
    assert select_config(64, 7168, 132).block_m == 64
