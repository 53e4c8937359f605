"""Engine-free ingest of one raw file, and the listing of a source location."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.ingest import jsonl, pdf, warc
from sciforge.pipelines.ingest.common import (
    QUARANTINE_SCHEMA,
    Event,
    first_unencodable,
    quarantine_row,
    safe_text,
)
from sciforge.pipelines.storage import Storage, StorageError, open_storage

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
    Any other exception while reading the file (a parser bug on hostile bytes) ends the file there: the
    rows before it stand, and the break is one ``ingest_error`` row naming the exception. Every kept row
    is checked to be valid Unicode before it can reach Arrow (``invalid_unicode`` otherwise).
    """
    try:
        size = storage.size(key)
    except OSError as e:
        raise StorageError(f"cannot stat {storage.uri(key)}: {e}") from e
    f = storage.open_input(key)
    with f:
        events = _file_events(f, key, size, params, counters)
        try:
            for kind, row in events:
                if kind == "kept":
                    bad = first_unencodable(row)
                    if bad:  # a parser let invalid Unicode through: it would fail the whole batch in Arrow
                        counters.kept -= 1
                        counters.drop("invalid_unicode")
                        kind, row = "quarantine", quarantine_row(key, "invalid_unicode", bad,
                                                                 _offset_of(row), url=row.get("url"),
                                                                 record_id=row.get("record_id") or row.get("doc_id"))
                yield kind, row
        except StorageError:
            raise  # infrastructure, not content: fail the task so that it is retried
        except Exception as e:
            # The item in flight (counted as input, neither kept nor dropped) is accounted for by this row.
            counters.input = counters.kept + counters.total_dropped + 1
            counters.drop("ingest_error")
            yield "quarantine", quarantine_row(key, "ingest_error", f"{type(e).__name__}: {e}; rows before it "
                                               "were kept, the rest of the file was not read")


def _offset_of(row: dict[str, Any]) -> int:
    for k in ("warc_offset", "line"):
        if isinstance(row.get(k), int):
            return int(row[k])
    return -1


def _file_events(f: Any, key: str, size: int, params: IngestParams, counters: StageCounters) -> Iterator[Event]:
    if params.kind == "warc":
        # warcio detects and decompresses gzip members itself
        yield from warc.iter_warc(f, key, max_record_bytes=params.max_record_bytes, counters=counters)
    elif params.kind == "pdf":
        yield from pdf.iter_pdf(f, key, size=size, max_pdf_bytes=params.max_pdf_bytes, counters=counters)
    else:
        stream: Any = f
        if key.endswith(".gz"):
            import gzip

            stream = gzip.open(f)
        try:
            yield from jsonl.iter_jsonl(stream, key, counters=counters, max_line_bytes=params.max_record_bytes)
        except (OSError, EOFError, zlib.error, UnicodeDecodeError) as e:  # truncated / corrupt gzip, bad UTF-16
            reason = "invalid_encoding" if isinstance(e, UnicodeDecodeError) else "corrupt_file"
            counters.input += 1  # the break is an item of its own (no line is in flight here)
            counters.drop(reason)
            yield "quarantine", quarantine_row(key, reason, f"{type(e).__name__}: {e}")


def to_table(rows: list[dict[str, Any]], schema: pa.Schema, source: str, counters: StageCounters,
             quarantined: list[dict[str, Any]] | None = None) -> pa.Table:
    """``rows`` as one Arrow table. When the batch conversion fails (a value Arrow refuses), the rows are
    converted one by one and each one that fails becomes a ``arrow_conversion_failed`` quarantine row
    (appended to ``quarantined``; ``counters`` moved from kept to dropped), so one row never costs the
    others. For quarantine rows themselves (``quarantined`` None) a failing row is made safe instead."""
    try:
        return pa.Table.from_pylist(rows, schema=schema)
    except (pa.ArrowException, UnicodeError, TypeError, ValueError, OverflowError):
        pass
    good = []
    for row in rows:
        try:
            pa.Table.from_pylist([row], schema=schema)
            good.append(row)
        except (pa.ArrowException, UnicodeError, TypeError, ValueError, OverflowError) as e:
            detail = f"{type(e).__name__}: {e}"
            if quarantined is None:  # a quarantine row: keep it, with every string made encodable
                good.append({k: (safe_text(v) if isinstance(v, str) else v) for k, v in row.items()})
                continue
            counters.kept -= 1
            counters.drop("arrow_conversion_failed")
            quarantined.append(quarantine_row(source, "arrow_conversion_failed", detail, _offset_of(row),
                                              url=row.get("url"), record_id=row.get("record_id") or row.get("doc_id")))
    return pa.Table.from_pylist(good, schema=schema)


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

    def table(kind: str) -> pa.Table:
        rows, buf[kind] = buf[kind], []
        if kind == "kept":
            return to_table(rows, schema, key, counters, buf["quarantine"])
        return to_table(rows, QUARANTINE_SCHEMA, key, counters)

    for kind, row in ingest_file(storage, key, params, counters):
        buf[kind].append(row)
        if len(buf[kind]) >= params.records_per_part:
            t = table(kind)
            if t.num_rows:
                yield kind, t, StageCounters()
    for kind in ("kept", "quarantine"):
        if buf[kind]:
            t = table(kind)
            if t.num_rows:
                yield kind, t, StageCounters()
    yield "done", None, counters
