"""The contract between stage logic (pipelines/) and the engines that run it (jobs/).

A map stage is a pure function ``fn(batch: pa.Table) -> BatchResult``: it sees one Arrow
batch of its input dataset and returns the rows it keeps, the rows it rejects (each with a
``reason``) and its counters. It must be picklable (a module-level function, or a
``functools.partial`` of one) and deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.datasets import REASON


@dataclass
class BatchResult:
    kept: pa.Table
    quarantined: pa.Table | None = None
    counters: StageCounters = field(default_factory=StageCounters)

    def __post_init__(self) -> None:
        if self.quarantined is not None and REASON not in self.quarantined.column_names:
            raise ValueError(f"quarantined rows must carry a {REASON!r} column")


BatchFn = Callable[[pa.Table], BatchResult]


@dataclass(frozen=True)
class MapStage:
    """A stage that maps every row independently (no shuffle): one output part per input part."""

    name: str  # output dataset name
    fn: BatchFn
    kept_schema: pa.Schema
    quarantine_schema: pa.Schema
    params: dict[str, Any] = field(default_factory=dict)  # hashed into the version
    zone: str = "clean"
