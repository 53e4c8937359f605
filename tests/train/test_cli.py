from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from model.train.cli import app
from model.train.config import TrainConfig

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


def test_shipped_configs_validate() -> None:
    for path in sorted(p for p in (REPO / "model/train/configs").glob("*.yaml") if not p.name.startswith("rl_")):
        cfg = TrainConfig.load(path, deepspeed_config=None) if "cpt" not in path.name else TrainConfig.load(
            path, deepspeed_config=str(REPO / "infra/deepspeed/zero1_fp32.json"))
        assert cfg.stage in path.name and cfg.zero_stage is not None
    from model.rl.config import RLConfig

    for path in sorted((REPO / "model/train/configs").glob("rl_*.yaml")):  # online RL has its own config
        assert RLConfig.load(path).steps > 0
