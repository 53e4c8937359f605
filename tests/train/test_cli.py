from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sciforge.model.train.cli import app
from sciforge.model.train.config import TrainConfig

REPO = Path(__file__).resolve().parents[2]


def test_help_lists_stages() -> None:
    out = CliRunner().invoke(app, ["--help"])
    assert out.exit_code == 0
    for stage in ("cpt", "mmpt", "sft"):
        assert stage in out.output


def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text('{"schedule": {"total_tokens": 10}, "micro_batch": 3}')
    out = CliRunner().invoke(app, ["cpt", "--config", str(cfg)])
    assert out.exit_code != 0 and "micro_batch" in out.output


def test_shipped_configs_validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # not the project root: the shipped configs must not depend on the cwd
    for path in sorted(p for p in (REPO / "model/train/configs").glob("*.yaml") if not p.name.startswith("rl_")):
        cfg = TrainConfig.load(path)
        assert cfg.stage in path.name and cfg.zero_stage is not None
        if cfg.deepspeed_config:
            assert Path(cfg.deepspeed_config).is_absolute() and Path(cfg.deepspeed_config).is_file()
    cpt = TrainConfig.load(REPO / "model/train/configs/cpt_tiny.yaml")
    assert cpt.deepspeed_config == str(REPO / "infra/deepspeed/zero1_fp32.json") and cpt.zero_stage == 1
    from sciforge.model.rl.config import RLConfig

    for path in sorted((REPO / "model/train/configs").glob("rl_*.yaml")):  # online RL has its own config
        assert RLConfig.load(path).steps > 0


def test_config_paths_resolve_from_config_file_then_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = tmp_path / "configs"
    here.mkdir()
    (here / "ds.json").write_text('{"zero_optimization": {"stage": 2}, "bf16": {"enabled": true}}')
    (here / "a.yaml").write_text("schedule: {total_tokens: 10}\ndeepspeed_config: ds.json\n")
    (here / "b.yaml").write_text("schedule: {total_tokens: 10}\ndeepspeed_config: infra/deepspeed/zero3_bf16.json\n")
    other = tmp_path / "elsewhere"
    other.mkdir()
    # a file of the same name in the cwd must not be picked up
    (other / "ds.json").write_text('{"zero_optimization": {"stage": 0}}')
    monkeypatch.chdir(other)
    a = TrainConfig.load(here / "a.yaml")
    assert a.deepspeed_config == str(here / "ds.json") and a.zero_stage == 2 and a.precision == "bf16"
    b = TrainConfig.load(here / "b.yaml")
    assert b.deepspeed_config == str(REPO / "infra/deepspeed/zero3_bf16.json") and b.zero_stage == 3
    (here / "c.yaml").write_text("schedule: {total_tokens: 10}\ndeepspeed_config: missing.json\n")
    with pytest.raises(ValueError, match="missing.json"):
        TrainConfig.load(here / "c.yaml")
    # the CLI, from another directory, on the shipped CPT config: validation passes (the run then stops
    # at the missing data root, not at the DeepSpeed file)
    out = CliRunner().invoke(app, ["cpt", "--config", str(REPO / "model/train/configs/cpt_tiny.yaml"),
                                   "--set", "max_steps=1", "--set", "data.ref=nothing/here"])
    assert "deepspeed_config" not in out.output
    assert out.exit_code != 0 and "dataset reference 'nothing/here'" in str(out.exception)
