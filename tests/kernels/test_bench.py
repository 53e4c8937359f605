"""bench/fp8_gemm.py runs on a machine without a GPU: it says the GPU table was not measured and runs
the CPU reference-vs-matmul check (tiny shape here)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fp8_gemm.py"


@pytest.mark.skipif(torch.cuda.is_available(), reason="the GPU path is the real benchmark, not a unit test")
def test_bench_cpu_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("fp8_gemm_bench", BENCH)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out_json = tmp_path / "r.json"
    rc = mod.main(["--cpu-shape", "64x256x384", "--repeats", "1", "--json", str(out_json)])
    text = capsys.readouterr().out
    assert rc == 0
    assert "NOT measured" in text and "fp8-ref-kblock" in text and "torch-bf16" in text
    data = json.loads(out_json.read_text())
    assert data["rows"]["fp8-ref-kblock"]["calc_diff"] < 1e-3
    with pytest.raises(SystemExit):
        mod.main(["--cpu-shape", "64x0x1"])
