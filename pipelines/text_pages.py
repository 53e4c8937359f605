"""raw/text (JSONL documents) -> the page-text contract, so dedup and the corpus see them too."""

from __future__ import annotations

import json

import pyarrow as pa

from pipelines.counters import StageCounters
from pipelines.stage import BatchResult

# The columns every page dataset carries (web pages, PDF pages, text documents, dedup output).
PAGE_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("page", pa.int32()),
        ("source", pa.string()),
        ("url", pa.string()),
        ("domain", pa.string()),
        ("field", pa.string()),
        ("text", pa.string()),
    ]
)
QUARANTINE_SCHEMA = PAGE_SCHEMA.append(pa.field("reason", pa.string()))
FIELDS = {"mathematics", "physics", "chemistry", "life_science", "earth_science", "materials_science", "other"}


def text_to_pages(batch: pa.Table) -> BatchResult:
    """One page per JSONL document; a `field` in its metadata is kept when it is a known label."""
    rows = batch.to_pylist()
    c = StageCounters(input=len(rows))
    out = []
    for r in rows:
        meta = json.loads(r["meta"] or "{}")
        field = meta.get("field") if meta.get("field") in FIELDS else ""
        out.append({"doc_id": f"text:{r['doc_id']}", "page": 0, "source": "text", "url": r["source"],
                    "domain": "", "field": field, "text": r["text"]})
    c.kept = len(out)
    return BatchResult(kept=pa.Table.from_pylist(out, schema=PAGE_SCHEMA),
                       quarantined=QUARANTINE_SCHEMA.empty_table(), counters=c)
