"""launch/train.py without Airflow: a stage from settings and params to a finished, resumable run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sciforge.launch.train import StageSkipped, run_training
from sciforge.pipelines.config import load_settings


def _settings(root: str, ckpt: Path, **train: Any) -> Any:
    return load_settings(storage={"data_root": root}, train={"checkpoint_root": str(ckpt), **train})


@pytest.mark.slow  # three tiny CPT runs (2 steps each, DeepSpeed on CPU): 1-4 min on 2 shared cores
def test_cpt_runs_in_process_then_resumes_and_fresh_starts_over(snapshot: tuple[str, str], tmp_path: Path,
                                                                threads_1: Any) -> None:
    root, ref = snapshot
    s = _settings(root, tmp_path / "ckpt", max_steps=2)
    out = run_training(s, "cpt", ref)
    run_dir = Path(out["run_dir"])
    assert run_dir == tmp_path / "ckpt" / "cpt" / ref.split("/")[-1]  # named after the snapshot version
    assert out["export"] == str(run_dir / "export") and (run_dir / "export").is_dir()
    assert out["summary"]["steps"] == 2 == json.loads((run_dir / "summary.json").read_text())["steps"]
    marker = run_dir / "launch-marker"
    marker.write_text("kept unless fresh")
    run_training(s, "cpt", ref)  # the same run: resumed in place
    assert marker.exists()
    run_training(s, "cpt", ref, params={"fresh": True})
    assert not marker.exists() and (run_dir / "summary.json").exists()


def test_sft_without_data_is_skipped_and_unknown_stages_refused(tmp_path: Path) -> None:
    s = _settings(str(tmp_path / "data"), tmp_path / "ckpt")
    with pytest.raises(StageSkipped, match="no SFT data"):
        run_training(s, "sft", "corpus/snapshot/2026-01-01_0123456789ab", str(tmp_path / "mmpt_export"))
    with pytest.raises(ValueError, match="unknown training stage"):
        run_training(s, "pretrain", "corpus/snapshot/2026-01-01_0123456789ab")
