"""`sciforge train rl --config model/train/configs/rl_tiny.yaml` on CPU: the mean reward rises (slow: a few
minutes on 2 cores). The starting policy's pass rate is measured by the offline filter (k=8 on the prompt
pool, after the format warm-up); the trained policy is evaluated on the same prompts with k=16."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.mark.slow
def test_reward_rises_on_easy_families(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sciforge.model.checkpoint import load_pretrained
    from sciforge.model.rl.evaluate import evaluate_families
    from sciforge.model.train.cli import app
    from sciforge.model.train.stages import load_tokenizer

    cfg = Path(__file__).resolve().parents[2] / "model/train/configs/rl_tiny.yaml"
    res = CliRunner().invoke(app, ["rl", "--config", str(cfg), "--run", "trend", "--set", f"out_dir={tmp_path}",
                                   "--set", "steps=30", "--set", "progress=false", "--set", "tensorboard=false"])
    assert res.exit_code == 0, res.output
    run = tmp_path / "rl" / "trend"
    before = json.loads((run / "offline_filter.json").read_text())
    start = sum(v["mean_pass_rate"] * v["kept"] for v in before.values()) / sum(v["kept"] for v in before.values())
    seeds = json.loads((run / "prompt_pool.json").read_text())
    model, tok = load_pretrained(run / "export"), load_tokenizer("default")
    rates = []
    for key, fam_seeds in sorted(seeds.items()):
        out = evaluate_families(model, tok, [key], fam_seeds, k=16, max_new_tokens=12)
        rates.append((out[key]["pass@1"], len(fam_seeds)))
    end = sum(r * n for r, n in rates) / sum(n for _, n in rates)
    rows = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    first = sum(r["reward_mean"] for r in rows[:10]) / 10
    last = sum(r["reward_mean"] for r in rows[-10:]) / 10
    print(f"pass rate {start:.3f} -> {end:.3f}; reward first10 {first:.3f} last10 {last:.3f}")
    assert end > start + 0.1
    assert last > first
