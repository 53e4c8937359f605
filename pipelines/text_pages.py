"""raw/text (JSONL documents) -> pages on the page-text contract (pipelines/pages.py), so dedup and the
corpus see them too."""

from __future__ import annotations

import json

import pyarrow as pa

from sciforge.pipelines.counters import StageCounters
from sciforge.pipelines.pages import PAGE_SCHEMA, field_label, page_schema
from sciforge.pipelines.stage import BatchResult

QUARANTINE_SCHEMA = page_schema([("reason", pa.string())])


def text_to_pages(batch: pa.Table) -> BatchResult:
    """One page per JSONL document; a `field` in its metadata is kept when it is a known label."""
    rows = batch.to_pylist()
    c = StageCounters(input=len(rows))
    out = []
    for r in rows:
        meta = json.loads(r["meta"] or "{}")
        out.append({"doc_id": f"text:{r['doc_id']}", "page": 0, "source": "text", "url": r["source"],
                    "domain": "", "field": field_label(meta.get("field")), "text": r["text"]})
    c.kept = len(out)
    return BatchResult(kept=pa.Table.from_pylist(out, schema=PAGE_SCHEMA),
                       quarantined=QUARANTINE_SCHEMA.empty_table(), counters=c)
