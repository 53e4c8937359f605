"""Shared schema pieces for the raw zone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from pipelines.counters import StageCounters

# Every quarantine row of the ingest stage: where it came from and why it was rejected.
QUARANTINE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),  # the raw file's URI
        ("offset", pa.int64()),  # byte offset (WARC) or line number (JSONL); -1 for whole files
        ("record_id", pa.string()),
        ("url", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
    ]
)


def quarantine_row(source: str, reason: str, detail: str = "", offset: int = -1, **kw: Any) -> dict[str, Any]:
    return {
        "source": source,
        "offset": offset,
        "record_id": kw.get("record_id"),
        "url": kw.get("url"),
        "reason": reason,
        "detail": detail[:2000],
    }


@dataclass
class IngestOutput:
    """What ingesting one raw file produced: rows, rejects and counters."""

    kept: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    counters: StageCounters = field(default_factory=StageCounters)


Event = tuple[str, dict[str, Any]]  # ("kept" | "quarantine", row)
EventStream = Iterator[Event]
