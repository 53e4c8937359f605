"""Shared schema pieces for the raw zone."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

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


_DETAIL_CHARS = 2000  # a quarantine detail is a message for a person, not a copy of the record


def safe_text(s: str | None) -> str | None:
    """``s`` made encodable as UTF-8: a lone surrogate becomes a ``\\udxxx`` escape (for audit fields
    of quarantine rows, which must never fail to convert to Arrow themselves)."""
    if s is None:
        return None
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


def first_unencodable(row: dict[str, Any]) -> str:
    """"" when every string of ``row`` is valid Unicode (encodable as UTF-8, which Arrow requires), else a
    description of the first one that is not (a lone surrogate from ``"\\ud800"`` in JSON, ...)."""
    for k, v in row.items():
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError as e:
                return f"field {k!r}: {e.reason} U+{ord(v[e.start]):04X} at character {e.start}"
    return ""


def quarantine_row(source: str, reason: str, detail: str = "", offset: int = -1, **kw: Any) -> dict[str, Any]:
    return {
        "source": safe_text(source),
        "offset": offset,
        "record_id": safe_text(kw.get("record_id")),
        "url": safe_text(kw.get("url")),
        "reason": reason,
        "detail": safe_text(detail[:_DETAIL_CHARS]),
    }


Event = tuple[str, dict[str, Any]]  # ("kept" | "quarantine", row)
