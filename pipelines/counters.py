"""Stage counters: what came in, what was kept, what was dropped and why.

Every stage fills one of these; it is summed across Spark tasks and stored in the
dataset manifest under ``counters``, which the funnel report reads.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StageCounters:
    input: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    # Free-form integer metrics (bytes read, pages routed to OCR, tokens out, ...).
    metrics: Counter[str] = field(default_factory=Counter)

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] += n

    def add(self, metric: str, n: int = 1) -> None:
        self.metrics[metric] += n

    def merge(self, other: StageCounters | dict[str, Any]) -> StageCounters:
        o = other if isinstance(other, StageCounters) else StageCounters.from_dict(other)
        self.input += o.input
        self.kept += o.kept
        self.dropped.update(o.dropped)
        self.metrics.update(o.metrics)
        return self

    @property
    def total_dropped(self) -> int:
        return sum(self.dropped.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            "metrics": dict(sorted(self.metrics.items())),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> StageCounters:
        d = d or {}
        return cls(
            input=int(d.get("input", 0)),
            kept=int(d.get("kept", 0)),
            dropped=Counter({k: int(v) for k, v in (d.get("dropped") or {}).items()}),
            metrics=Counter({k: int(v) for k, v in (d.get("metrics") or {}).items()}),
        )

    def summary(self) -> str:
        parts = [f"in={self.input}", f"kept={self.kept}", f"dropped={self.total_dropped}"]
        if self.dropped:
            parts.append("(" + ", ".join(f"{k}: {v}" for k, v in sorted(self.dropped.items())) + ")")
        return " ".join(parts)
