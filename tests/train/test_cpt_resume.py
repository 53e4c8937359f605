"""Continued pre-training end to end: batch-size warm-up + WSD, kill -9 mid-run, exact resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sciforge.model.train import TrainConfig, train
from sciforge.model.train.checkpointing import LATEST
from sciforge.model.train.engine import DIST_ENV
from sciforge.model.train.metrics import read_metrics
from tests.train.conftest import SEQ_LEN, cpt_config

REPO = Path(__file__).resolve().parents[2]
KILL_AFTER_STEP = 7  # the run has saved at step 6 (save_every=3) and is between checkpoints


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DIST_ENV}  # not the pytest process' group
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = str(REPO)
    return env


def _kill_mid_run(cfg: dict[str, Any], tmp: Path) -> None:
    path = tmp / "cfg.json"
    path.write_text(json.dumps(cfg))
    metrics = Path(cfg["out_dir"]) / "cpt" / cfg["run"] / "metrics.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "sciforge.model.train.cli", "cpt", "--config", str(path)],
                            cwd=REPO, env=_child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if metrics.exists() and len(metrics.read_text().splitlines()) >= KILL_AFTER_STEP:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read()[-2000:]!r}"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()


def test_cpt_kill_resume_is_bitwise(snapshot: tuple[str, str], tmp_path: Path, threads_1: None) -> None:
    root, ref = snapshot
    ref_cfg = TrainConfig.model_validate(cpt_config(root, ref, tmp_path / "ref"))
    summary = train(ref_cfg)
    reference = read_metrics(Path(summary["run_dir"]) / "metrics.jsonl")
    assert [r["step"] for r in reference] == list(range(1, 13))
    # batch-size warm-up: 2 rows per step, then 4 rows, with the LR scaled by sqrt(2) at the switch
    assert [r["batch_tokens"] for r in reference] == [2 * SEQ_LEN] * 4 + [4 * SEQ_LEN] * 8
    lrs = [r["lr"] for r in reference]
    assert lrs[:4] == sorted(lrs[:4]) and lrs[4] == pytest.approx(2e-3 * 2**0.5)
    assert lrs[-1] < lrs[-3] < lrs[5]  # WSD decay over the last quarter
    assert reference[-1]["loss"] < reference[0]["loss"] - 1.0  # it learns
    assert all(r["grad_norm"] > 0 and 0 < r["expert_utilization"] <= 1 for r in reference)

    killed = cpt_config(root, ref, tmp_path / "killed")
    _kill_mid_run(killed, tmp_path)
    ds = tmp_path / "killed" / "cpt" / "t" / "ds"
    assert (ds / LATEST).read_text().strip() in ("step_00000006", "step_00000009")
    resumed = train(TrainConfig.model_validate(killed))
    got = read_metrics(Path(resumed["run_dir"]) / "metrics.jsonl")
    assert [r["step"] for r in got] == list(range(1, 13))
    for a, b in zip(reference, got, strict=True):
        assert (a["step"], a["loss"], a["lr"], a["batch_tokens"], a["grad_norm"]) == (
            b["step"], b["loss"], b["lr"], b["batch_tokens"], b["grad_norm"]), a["step"]

    # the stage ends with a safetensors export that loads back, and the curves are drawn
    from sciforge.model.checkpoint import load_pretrained

    export = Path(resumed["export"])
    assert (export / "model.safetensors").is_file() and (export / "sciforge_tokenizer.json").is_file()
    model = load_pretrained(export)
    assert model.config.vision is None and model.config.vocab_size >= 16_000
    assert (Path(resumed["run_dir"]) / "curves.png").stat().st_size > 10_000
