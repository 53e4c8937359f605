"""Engine-free ingest of one raw file, and the listing of a source location."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from pipelines.counters import StageCounters
from pipelines.ingest import jsonl, pdf, warc
from pipelines.ingest.common import QUARANTINE_SCHEMA, Event, quarantine_row
from pipelines.storage import Storage, StorageError, open_storage

KINDS: dict[str, dict[str, Any]] = {
    "warc": {"schema": warc.SCHEMA, "suffixes": (".warc", ".warc.gz", ".arc", ".arc.gz"), "dataset": "web"},
    "pdf": {"schema": pdf.SCHEMA, "suffixes": (".pdf",), "dataset": "pdf"},
    "jsonl": {"schema": jsonl.SCHEMA, "suffixes": (".jsonl", ".jsonl.gz", ".ndjson"), "dataset": "text"},
}


@dataclass(frozen=True)
class IngestParams:
    kind: str
    max_record_bytes: int
    max_pdf_bytes: int
    records_per_part: int

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}: choose one of {sorted(KINDS)}")


def list_inputs(storage: Storage, kind: str) -> list[str]:
    """Keys (relative to the source root) of the files of ``kind``, sorted: a stable order."""
    sfx = KINDS[kind]["suffixes"]
    keys = storage.list("")
    return sorted(k for k in keys if k.lower().endswith(sfx) and not k.split("/")[-1].startswith("."))


def ingest_file(storage: Storage, key: str, params: IngestParams, counters: StageCounters) -> Iterator[Event]:
    """Events for one raw file. Never raises for bad content: it quarantines instead.

    A storage failure (object gone, credentials refused, server or disk unavailable) is not content:
    it raises StorageError, so the task fails and is retried instead of a good file being quarantined.
    """
    try:
        size = storage.size(key)
    except OSError as e:
        raise StorageError(f"cannot stat {storage.uri(key)}: {e}") from e
    f = storage.open_input(key)
    with f:
        if params.kind == "warc":
            # warcio detects and decompresses gzip members itself
            yield from warc.iter_warc(f, key, max_record_bytes=params.max_record_bytes, counters=counters)
        elif params.kind == "pdf":
            yield from pdf.iter_pdf(
                f, key, size=size, max_pdf_bytes=params.max_pdf_bytes, counters=counters
            )
        else:
            stream: Any = f
            if key.endswith(".gz"):
                import gzip

                stream = gzip.open(f)
            try:
                yield from jsonl.iter_jsonl(stream, key, counters=counters)
            except (OSError, EOFError) as e:  # truncated gzip
                counters.input += 1  # the break is an item of its own (no line is in flight here)
                counters.drop("corrupt_file")
                yield "quarantine", quarantine_row(key, "corrupt_file", f"{type(e).__name__}: {e}")


def ingest_file_to_tables(
    source_root: str,
    storage_options: dict[str, Any],
    key: str,
    params: IngestParams,
) -> Iterator[tuple[str, pa.Table | None, StageCounters]]:
    """Group one file's events into bounded Arrow tables: ("kept"|"quarantine", table, counters).

    Yields ``(kind, table, counters)`` each time ``records_per_part`` rows accumulate, and once
    at the end with the file's final counters (table may be None).
    """
    storage = open_storage(source_root, storage_options)
    counters = StageCounters()
    schema = KINDS[params.kind]["schema"]
    buf: dict[str, list[dict[str, Any]]] = {"kept": [], "quarantine": []}
    schemas = {"kept": schema, "quarantine": QUARANTINE_SCHEMA}
    for kind, row in ingest_file(storage, key, params, counters):
        buf[kind].append(row)
        if len(buf[kind]) >= params.records_per_part:
            yield kind, pa.Table.from_pylist(buf[kind], schema=schemas[kind]), StageCounters()
            buf[kind] = []
    for kind in ("kept", "quarantine"):
        if buf[kind]:
            yield kind, pa.Table.from_pylist(buf[kind], schema=schemas[kind]), StageCounters()
    yield "done", None, counters
