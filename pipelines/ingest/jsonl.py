"""JSON Lines documents -> raw text rows. Bad lines are quarantined one by one."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import IO

import pyarrow as pa

from pipelines.counters import StageCounters
from pipelines.ingest.common import Event, quarantine_row

SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),  # the record's own `id`, else sha256(source, line)
        ("source", pa.string()),
        ("line", pa.int64()),
        ("text", pa.string()),
        ("meta", pa.string()),  # every other field, as JSON
    ]
)
TEXT_FIELDS = ("text", "content", "body")


def iter_jsonl(fileobj: IO[bytes], source: str, *, counters: StageCounters) -> Iterator[Event]:
    seen: dict[str, int] = {}  # doc_id -> first line: a repeated id would merge two documents downstream
    for lineno, raw in enumerate(fileobj, start=1):
        if not raw.strip():
            continue
        counters.input += 1
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            counters.drop("invalid_utf8")
            yield "quarantine", quarantine_row(source, "invalid_utf8", str(e), offset=lineno)
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            counters.drop("invalid_json")
            yield "quarantine", quarantine_row(source, "invalid_json", str(e), offset=lineno)
            continue
        if not isinstance(obj, dict):
            counters.drop("not_an_object")
            yield "quarantine", quarantine_row(source, "not_an_object", type(obj).__name__, offset=lineno)
            continue
        key = next((k for k in TEXT_FIELDS if isinstance(obj.get(k), str)), None)
        if key is None or not obj[key].strip():
            counters.drop("missing_text")
            yield "quarantine", quarantine_row(
                source, "missing_text", f"none of {TEXT_FIELDS} is a non-empty string", offset=lineno
            )
            continue
        text = obj.pop(key)
        doc_id = str(obj.pop("id", "") or hashlib.sha256(f"{source}\n{lineno}".encode()).hexdigest()[:32])
        if doc_id in seen:
            counters.drop("duplicate_id")
            yield "quarantine", quarantine_row(
                source, "duplicate_id", f"id {doc_id!r} already used on line {seen[doc_id]}", offset=lineno)
            continue
        seen[doc_id] = lineno
        counters.kept += 1
        yield "kept", {
            "doc_id": doc_id,
            "source": source,
            "line": lineno,
            "text": text,
            "meta": json.dumps(obj, sort_keys=True, ensure_ascii=False),
        }
