"""Learning-rate and batch-size schedules, as pure functions of the tokens consumed so far."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sciforge.model.train.config import BatchPhase, ScheduleConfig


def wsd_factor(tokens: int, cfg: ScheduleConfig) -> float:
    """Warmup-Stable-Decay multiplier in [min_lr_ratio, 1]: linear warm-up, flat, decay over the tail."""
    if cfg.warmup_tokens and tokens < cfg.warmup_tokens:
        return tokens / cfg.warmup_tokens
    decay_start = cfg.total_tokens * (1.0 - cfg.decay_fraction)
    if tokens < decay_start or cfg.decay_fraction == 0:
        return 1.0
    progress = min(1.0, (tokens - decay_start) / (cfg.total_tokens - decay_start))
    if cfg.decay_shape == "linear":
        shape = 1.0 - progress
    elif cfg.decay_shape == "cosine":
        shape = 0.5 * (1.0 + math.cos(math.pi * progress))
    else:  # "1-sqrt"
        shape = 1.0 - math.sqrt(progress)
    return cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * shape


@dataclass(frozen=True)
class BatchSchedule:
    """Global batch size (tokens) as a function of tokens consumed; LR scaled by the declared rule."""

    phases: tuple[BatchPhase, ...]
    rule: str = "sqrt"

    @classmethod
    def from_config(cls, cfg: ScheduleConfig) -> BatchSchedule:
        return cls(tuple(cfg.batch_phases), cfg.lr_scaling)

    def phase_index(self, tokens: int) -> int:
        idx = 0
        for i, p in enumerate(self.phases):
            if tokens >= p.start_tokens:
                idx = i
        return idx

    def batch_tokens(self, tokens: int) -> int:
        return self.phases[self.phase_index(tokens)].global_batch_tokens

    def lr_scale(self, tokens: int) -> float:
        ratio = self.batch_tokens(tokens) / self.phases[0].global_batch_tokens
        if self.rule == "sqrt":
            return math.sqrt(ratio)
        if self.rule == "linear":
            return ratio
        return 1.0


def learning_rate(tokens: int, cfg: ScheduleConfig, batch: BatchSchedule | None = None) -> float:
    """LR of the optimizer step that starts after `tokens` tokens: the WSD factor at the step's END
    (so the first step does not run at LR 0 and the last one reaches the decay's end) times the
    batch-size rule at the step's batch."""
    batch = batch or BatchSchedule.from_config(cfg)
    return cfg.lr * wsd_factor(tokens + batch.batch_tokens(tokens), cfg) * batch.lr_scale(tokens)


def sequences_per_step(batch_tokens: int, seq_len: int, micro_batch: int, world: int) -> int:
    """Global batch in sequences; it must split evenly into micro-batches over the ranks."""
    unit = micro_batch * world * seq_len
    if batch_tokens % unit:
        raise ValueError(
            f"global batch of {batch_tokens} tokens is not a multiple of micro_batch_size x world_size x "
            f"seq_len = {micro_batch} x {world} x {seq_len} = {unit} tokens"
        )
    return batch_tokens // seq_len
