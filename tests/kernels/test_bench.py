"""bench/fp8_gemm.py runs on a machine without a GPU: it says the GPU table was not measured and runs
the CPU reference-vs-matmul check (tiny shape here)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fp8_gemm.py"


def _bench_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("fp8_gemm_bench", BENCH)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(torch.cuda.is_available(), reason="the GPU path is the real benchmark, not a unit test")
def test_bench_cpu_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = _bench_module()
    out_json = tmp_path / "r.json"
    rc = mod.main(["--cpu-shape", "64x256x384", "--repeats", "1", "--json", str(out_json)])
    text = capsys.readouterr().out
    assert rc == 0
    assert "NOT measured" in text and "fp8-ref-kblock" in text and "torch-bf16" in text
    data = json.loads(out_json.read_text())
    assert data["rows"]["fp8-ref-kblock"]["calc_diff"] < 1e-3
    with pytest.raises(SystemExit):
        mod.main(["--cpu-shape", "64x0x1"])
    # --check: the GPU goals cannot be measured on a CPU, which is not a pass
    assert mod.main(["--cpu-shape", "64x256x384", "--repeats", "1", "--check"]) == 2
    assert "not measured" in capsys.readouterr().out


def test_cublas_timed_call_is_one_gemm_on_prepared_scales(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cuBLAS baseline's scales are laid out once by `cublas_scales`; the timed `cublas_gemm` runs no
    other kernel (no transpose, copy, pad or reciprocal), like ours."""
    from torch.utils._python_dispatch import TorchDispatchMode

    mod = _bench_module()
    m, n, k = 64, 256, 384
    a_s, b_s = torch.rand(m, k // 128) + 0.5, torch.rand(n // 128, k // 128) + 0.5
    sa, sb = mod.cublas_scales(a_s, b_s, reciprocal=True)
    assert sa.shape == (m, 3) and sa.stride() == (1, m)  # M-major
    torch.testing.assert_close(sa, a_s.reciprocal())
    assert sb.shape == (4, n // 128) and torch.equal(sb[:3], b_s.reciprocal().t()) and not sb[3].any()
    aq, bq_t = torch.zeros(m, k), torch.zeros(k, n)
    out = torch.zeros(m, n)
    calls = []

    def fake_scaled_mm(a, b, scale_a, scale_b, out_dtype):  # type: ignore[no-untyped-def]
        calls.append((a, b, scale_a, scale_b))
        return out

    class Record(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.ops: list[str] = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            self.ops.append(str(func))
            return func(*args, **(kwargs or {}))

    monkeypatch.setattr(torch, "_scaled_mm", fake_scaled_mm)
    with Record() as rec:
        got = mod.cublas_gemm(aq, sa, bq_t, sb)
    assert got is out and rec.ops == []
    assert len(calls) == 1 and calls[0][2] is sa and calls[0][3] is sb and calls[0][1] is bq_t


def test_goals_check_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """bench/_goals.py: `--check` exits 1 on a missed goal, 2 when one could not be measured, else 0."""
    import argparse
    import sys

    sys.path.insert(0, str(BENCH.parents[1]))
    from bench._goals import EXIT_MISSED, EXIT_NOT_MEASURED, Goals, add_check_flag

    parser = argparse.ArgumentParser()
    add_check_flag(parser)
    assert parser.parse_args(["--check"]).check and not parser.parse_args([]).check
    met = Goals("b")
    assert met.at_least("ratio", 1.2, 1.0) and met.at_most("overhead", 0.05, 0.15)
    assert met.finish(check=True) == 0
    missed = Goals("b")
    missed.at_least("ratio", 0.9, 1.0)
    missed.not_measured("gpu", "no CUDA device")
    assert missed.finish(check=False) == 0  # without --check the summary is informative only
    assert missed.finish(check=True) == EXIT_MISSED
    unmeasured = Goals("b")
    unmeasured.at_least("ratio", None, 1.0)
    assert unmeasured.finish(check=True) == EXIT_NOT_MEASURED
    out = capsys.readouterr().out
    assert "missed" in out and "not measured" in out and "0.9 (goal >= 1)" in out


def test_train_engine_summary_is_the_median_of_per_round_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    """The two columns' medians (100 and 95 tokens/s) come from different rounds and would give 0.95; the
    summary is the median of the per-round ratios."""
    import sys

    sys.path.insert(0, str(BENCH.parents[1]))
    from bench.train_engine import per_round

    pairs = [(100.0, 50.0), (200.0, 95.0), (90.0, 99.0)]  # column medians 100 / 95 -> 0.95
    got = per_round("plain", "engine", pairs)
    assert got == pytest.approx(0.5)  # per-round ratios 0.5, 0.475, 1.1 -> median 0.5
    out = capsys.readouterr().out
    assert "round 1" in out and "0.475" in out and "median of 3 per-round ratios 0.500" in out
