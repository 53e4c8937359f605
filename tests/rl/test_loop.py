"""The RL loop end to end at toy size: one step runs every piece (warm-up, offline filter, rollouts, MoR,
online filter, OREAL + KL-Cov, per-sample gradient-norm dropping, checkpoint, export), and a run resumed
from its checkpoint continues bit for bit. Then `sciforge eval` on the export, and the `train rl` CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file


def tiny_cfg(out: Path, run: str, steps: int, **kw: Any) -> Any:
    from sciforge.model.rl.config import RLConfig

    data: dict[str, Any] = {
        "run": run, "out_dir": str(out), "model": "tiny",
        "tasks": [{"family": "copy", "difficulty": 0}, {"family": "multiple_choice", "difficulty": 0}],
        "rollout": {"prompts_per_step": 2, "group_size": 4, "max_new_tokens": 6},
        "offline_filter": {"enabled": True, "k": 2, "pool_per_family": 4, "drop_at_or_below": None},
        "loss": {"kind": "oreal", "kl_cov": {"enabled": True, "k_percent": 5.0}},
        "online_filter": {"drop_uniform_groups": False, "drop_truncated": False},
        "optim": {"lr": 1e-3, "mini_batches": 2},
        "grad_drop": {"enabled": True, "threshold": 0.3, "max_fraction": 0.2},
        "warmup": {"steps": 2, "batch_size": 4},
        "steps": steps, "save_every": 1, "progress": False, "tensorboard": False, "threads": 1,
    }
    data.update(kw)
    return RLConfig.model_validate(data)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from sciforge.model.rl.trainer import train_rl

    out = tmp_path_factory.mktemp("rl")
    straight = train_rl(tiny_cfg(out, "straight", 2))
    train_rl(tiny_cfg(out, "resumed", 1, export=False))
    resumed = train_rl(tiny_cfg(out, "resumed", 2))  # continues from step 1
    return {"out": out, "straight": straight, "resumed": resumed}


def _rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [json.loads(ln) for ln in (Path(summary["run_dir"]) / "metrics.jsonl").read_text().splitlines()]
    timing = ("rollout_s", "step_s", "samples_per_s", "tokens_per_s")
    return [{k: v for k, v in r.items() if k not in timing} for r in rows]


def test_one_step_logs_everything(runs: dict[str, Any]) -> None:
    rows = _rows(runs["straight"])
    assert [r["step"] for r in rows] == [1, 2]
    r = rows[0]
    assert r["samples"] == 8 and 0.0 <= r["reward_mean"] <= 1.0
    assert "reward/rule" in r and any(k.startswith("reward_family/") for k in r)
    assert r["entropy"] > 0 and r["kl_cov_tokens"] >= 2  # at least one token per mini-batch
    assert "sample_grad_norm_mean" in r and r["grad_dropped"] <= 2
    run_dir = Path(runs["straight"]["run_dir"])
    report = json.loads((run_dir / "offline_filter.json").read_text())
    assert 1 <= report["copy@0"]["input"] <= 4 and report["multiple_choice@0"]["kept"] >= 1
    assert (run_dir / "ds" / "latest").read_text().strip() == "step_00000002"
    assert (run_dir / "export" / "model.safetensors").is_file() and (run_dir / "rl_curves.png").is_file()


def test_resume_is_bit_exact(runs: dict[str, Any]) -> None:
    assert _rows(runs["straight"]) == _rows(runs["resumed"])
    a = load_file(str(Path(runs["straight"]["export"]) / "model.safetensors"))
    b = load_file(str(Path(runs["resumed"]["export"]) / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_eval_cli_on_export(runs: dict[str, Any], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sciforge.model.rl.cli import app

    bench = tmp_path / "bench.jsonl"
    bench.write_text(
        json.dumps({"question": "Symbol of iron?", "choices": ["Fe", "Ir"], "answer": "A", "verifier": "choice"})
        + "\n" + "{not json\n" + json.dumps({"question": "x", "answer": "1", "verifier": "alchemy"}) + "\n"
        + json.dumps({"question": "Water formula?", "answer": "H2O", "verifier": "formula"}) + "\n"
    )
    res = CliRunner().invoke(app, ["eval", runs["straight"]["export"], "--tasks", "copy,multiple_choice@0",
                                   "--k", "2", "--seeds", "1000000:1000003", "--jsonl", str(bench),
                                   "--max-new-tokens", "6", "--out", str(tmp_path / "ev")])
    assert res.exit_code == 0, res.output
    out = json.loads((tmp_path / "ev" / "eval.json").read_text())
    fam = out["families"]["copy@0"]
    assert fam["prompts"] == 3 and 0 <= fam["pass@1"] <= fam["pass@2"] <= 1
    b = out["benchmarks"][str(bench)]
    assert b["prompts"] == 2 and [r["reason"] for r in b["invalid_records"]] == ["not_json", "unknown_verifier:alchemy"]
    bad = CliRunner().invoke(app, ["eval", runs["straight"]["export"], "--tasks", "alchemy"])
    assert bad.exit_code != 0 and "unknown family" in bad.output


def test_jsonl_verifiers() -> None:
    from sciforge.model.rl.evaluate import _check_jsonl
    from sciforge.model.rl.tasks import Task

    def t(kind: str, ans: str, choices: tuple[str, ...] = ()) -> Task:
        return Task(f"jsonl:{kind}", 0, 0, "q", ans, choices, {"verifier": kind})

    assert _check_jsonl(t("choice", "B", ("x", "y")), "Answer: (b)").score == 1.0
    assert _check_jsonl(t("choice", "y", ("x", "y")), "Answer: B").score == 1.0
    assert _check_jsonl(t("choice", "B", ("x", "y")), "Answer: Q").reason == "not_a_choice"
    assert _check_jsonl(t("number", "3.14"), "Answer: 3.15").score == 1.0
    assert _check_jsonl(t("smiles", "OCC"), "Answer: CCO").score == 1.0
    assert _check_jsonl(t("smiles", "OCC"), "Answer: C1CC").reason == "invalid_smiles"
    assert _check_jsonl(t("math", "x**2 + 2*x + 1"), "Answer: (x+1)^2").score == 1.0
    assert _check_jsonl(t("math", "1"), "Answer: 9**9**9**9").reason == "exponent_too_large"
    assert _check_jsonl(t("exact", "Blue"), "").reason == "no_answer"


def test_train_rl_cli_rejects_bad_config(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sciforge.model.train.cli import app

    cfg = tmp_path / "rl.yaml"
    cfg.write_text("tasks: [{family: alchemy}]\n")
    res = CliRunner().invoke(app, ["rl", "--config", str(cfg)])
    assert res.exit_code != 0 and "unknown task family" in res.output


def test_model_judge_from_a_checkpoint(runs: dict[str, Any]) -> None:
    from sciforge.model.checkpoint import load_pretrained
    from sciforge.model.rl.rewards import GenerativeVerifierReward, model_judge
    from sciforge.model.rl.tasks import get_family
    from sciforge.model.train.stages import load_tokenizer

    judge = model_judge(load_pretrained(runs["straight"]["export"]), load_tokenizer("default"), max_new_tokens=3)
    label = judge("Repeat exactly: A", "A", "Answer: A")
    assert label in ("correct", "incorrect", "invalid", "unparseable")
    task = get_family("copy").generate(0, 0)
    got = GenerativeVerifierReward(judge)([task], ["Answer: A"], [True])[0]
    assert got.score in (0.0, 1.0) and got.reason.startswith("judge_")
