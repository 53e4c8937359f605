"""Atomic checkpoints: a crash in the middle of a save leaves the previous checkpoint usable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from sciforge.model.train.checkpointing import LATEST, TMP, CheckpointManager
from sciforge.model.train.config import TrainConfig
from sciforge.model.train.engine import build_engine, deepspeed_config, init_distributed


def _engine() -> Any:
    init_distributed()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    cfg = TrainConfig.model_validate({"schedule": {"total_tokens": 10, "batch_phases": [
        {"global_batch_tokens": 2}]}, "micro_batch_size": 2})
    return build_engine(model, cfg, 1, 2)


def _step(engine: Any) -> None:
    x = torch.randn(2, 8)
    loss = engine(x).pow(2).mean()
    engine.backward(loss)
    engine.step()


def test_crash_during_save_keeps_previous(tmp_path: Path) -> None:
    engine = _engine()
    mgr = CheckpointManager(tmp_path, rank=0, keep_last=2)
    _step(engine)
    mgr.save(engine, {"step": 1, "tokens": 2, "consumed_rows": 1})
    saved = {k: v.clone() for k, v in engine.module.state_dict().items()}
    _step(engine)

    real_save = engine.save_checkpoint

    def crash(save_dir: str, tag: str, **kw: Any) -> None:  # dies after writing part of the files
        (Path(save_dir) / tag).mkdir(parents=True)
        (Path(save_dir) / tag / "mp_rank_00_model_states.pt").write_bytes(b"partial")
        raise KeyboardInterrupt("killed during save")

    engine.save_checkpoint = crash
    with pytest.raises(KeyboardInterrupt):
        mgr.save(engine, {"step": 2, "tokens": 4, "consumed_rows": 2})
    engine.save_checkpoint = real_save
    assert (tmp_path / "ds" / LATEST).read_text().strip() == "step_00000001"
    assert not (tmp_path / "ds" / "step_00000002").exists()

    state = mgr.load(engine)  # the previous checkpoint loads and restores the weights
    assert state == {"step": 1, "tokens": 2, "consumed_rows": 1}
    for k, v in engine.module.state_dict().items():
        assert torch.equal(v, saved[k]), k

    _step(engine)  # the next save clears the leftover and completes
    mgr.save(engine, {"step": 2, "tokens": 4, "consumed_rows": 2})
    assert mgr.latest() == "step_00000002" and not (tmp_path / "ds" / TMP / "step_00000002").exists()


def test_deepspeed_config_refuses_named_optimizer(tmp_path: Path) -> None:
    bad = tmp_path / "ds.json"
    bad.write_text('{"optimizer": {"type": "Adam"}}')
    cfg = TrainConfig.model_validate({"schedule": {"total_tokens": 10}, "deepspeed_config": str(bad)})
    with pytest.raises(ValueError, match="do not name an optimizer"):
        deepspeed_config(cfg, 1, 2)
    repo = Path(__file__).resolve().parents[2]
    cfg = TrainConfig.model_validate({"schedule": {"total_tokens": 10}, "micro_batch_size": 1,
                                      "deepspeed_config": str(repo / "infra/deepspeed/zero2_bf16.json")})
    ds = deepspeed_config(cfg, 2, 8)
    assert ds["zero_optimization"]["stage"] == 2 and ds["bf16"]["enabled"] is True
    assert ds["gradient_accumulation_steps"] == 4 and ds["train_batch_size"] == 8
