from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from sciforge.model.train.config import ScheduleConfig, TrainConfig, parse_override
from sciforge.model.train.schedules import BatchSchedule, learning_rate, sequences_per_step, wsd_factor


def sched(**kw: object) -> ScheduleConfig:
    base: dict[str, object] = {"lr": 1.0, "warmup_tokens": 100, "total_tokens": 1000, "decay_fraction": 0.1}
    base.update(kw)
    return ScheduleConfig.model_validate(base)


def test_wsd_phases() -> None:
    c = sched(decay_shape="linear", min_lr_ratio=0.1)
    assert wsd_factor(0, c) == 0.0
    assert wsd_factor(50, c) == pytest.approx(0.5)
    assert wsd_factor(100, c) == 1.0 and wsd_factor(899, c) == 1.0  # the long stable phase
    assert wsd_factor(950, c) == pytest.approx(0.1 + 0.9 * 0.5)
    assert wsd_factor(1000, c) == pytest.approx(0.1)


@pytest.mark.parametrize("shape", ["linear", "cosine", "1-sqrt"])
def test_decay_shapes_monotone_to_min(shape: str) -> None:
    c = sched(decay_shape=shape)
    values = [wsd_factor(t, c) for t in range(900, 1001, 10)]
    assert values[0] == 1.0 and values[-1] == pytest.approx(0.0)
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))
    mid = wsd_factor(950, c)
    assert mid == pytest.approx({"linear": 0.5, "cosine": 0.5, "1-sqrt": 1 - math.sqrt(0.5)}[shape])


def test_batch_warmup_sqrt_scaling() -> None:
    c = sched(warmup_tokens=0, total_tokens=10_000, batch_phases=[
        {"start_tokens": 0, "global_batch_tokens": 64}, {"start_tokens": 640, "global_batch_tokens": 256}])
    b = BatchSchedule.from_config(c)
    assert b.batch_tokens(639) == 64 and b.batch_tokens(640) == 256
    assert learning_rate(0, c, b) == pytest.approx(1.0)
    assert learning_rate(640, c, b) == pytest.approx(2.0)  # 4x batch -> sqrt(4) x LR
    lin = sched(warmup_tokens=0, total_tokens=10_000, lr_scaling="linear", batch_phases=c.batch_phases)
    assert learning_rate(640, lin) == pytest.approx(4.0)


def test_bad_configs_are_clear() -> None:
    with pytest.raises(ValidationError, match="start_tokens=0"):
        sched(batch_phases=[{"start_tokens": 5, "global_batch_tokens": 8}])
    with pytest.raises(ValueError, match="not a multiple"):
        sequences_per_step(100, 32, 2, 1)
    assert sequences_per_step(128, 32, 2, 2) == 4
    with pytest.raises(ValidationError, match="extra"):
        TrainConfig.model_validate({"schedule": {"total_tokens": 1}, "learning_rate": 1})


def test_override_parsing() -> None:
    assert parse_override("schedule.lr=0.001") == {"schedule": {"lr": 0.001}}
    assert parse_override("run=abc") == {"run": "abc"}
