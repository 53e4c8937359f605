"""Slow: ZeRO stages / bf16 and 2-process data parallel train the same curve as ZeRO-1 fp32, 1 process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sciforge.model.train import TrainConfig, train
from sciforge.model.train.metrics import read_metrics
from tests.train.conftest import cpt_config
from tests.train.test_cpt_resume import REPO, _child_env

STEPS = 6


def _losses(run_dir: str | Path) -> list[float]:
    return [r["loss"] for r in read_metrics(Path(run_dir) / "metrics.jsonl")]


@pytest.mark.slow
@pytest.mark.parametrize(("zero", "precision", "tol"), [(2, "fp32", 1e-4), (3, "fp32", 1e-4), (1, "bf16", 2e-2)])
def test_zero_stages_and_bf16_match_zero1(snapshot: tuple[str, str], tmp_path: Path, threads_1: None,
                                          zero: int, precision: str, tol: float) -> None:
    root, ref = snapshot
    base = train(TrainConfig.model_validate(cpt_config(root, ref, tmp_path / "a", max_steps=STEPS, export=False)))
    other = train(TrainConfig.model_validate(cpt_config(root, ref, tmp_path / "b", max_steps=STEPS,
                                                        zero_stage=zero, precision=precision)))
    assert _losses(other["run_dir"]) == pytest.approx(_losses(base["run_dir"]), abs=tol)
    assert (Path(other["export"]) / "model.safetensors").is_file()


@pytest.mark.slow
def test_two_processes_match_one(snapshot: tuple[str, str], tmp_path: Path) -> None:
    root, ref = snapshot
    runs = {}
    for nproc in (1, 2):
        cfg = cpt_config(root, ref, tmp_path / f"w{nproc}", max_steps=STEPS, export=False, micro_batch_size=1)
        path = tmp_path / f"w{nproc}.json"
        path.write_text(json.dumps(cfg))
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "sciforge.model.train.cli", "cpt", "--config", str(path)]
        subprocess.run(cmd, cwd=REPO, env=_child_env(), check=True, capture_output=True, timeout=600)
        runs[nproc] = read_metrics(tmp_path / f"w{nproc}" / "cpt" / "t" / "metrics.jsonl")
    # the same global batch split over 2 ranks: equal up to the order of the gradient reduction
    assert [r["loss"] for r in runs[2]] == pytest.approx([r["loss"] for r in runs[1]], abs=1e-4)
    assert [r["batch_tokens"] for r in runs[2]] == [r["batch_tokens"] for r in runs[1]]
