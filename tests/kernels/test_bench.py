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
